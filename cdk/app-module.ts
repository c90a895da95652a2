/**
 * Reads what the construct needs from an app module at synth time: its name, batch interval, task
 * attempts, checkpoint store and the Kinesis streams its graph reads. The module (and `sparkless`) load
 * as they do in `sparkless local`: under tsx when it is installed; the graph is built once, nothing is started.
 *
 * Two ways in. `readAppModule` (async, in this process) is what cdk/app.ts uses to name the stack and
 * list the streams before it builds anything. `readAppModuleSync` is what the SparklessApp constructor
 * uses to check its props against the module: a constructor cannot await, and Node cannot import an ES
 * module synchronously, so it runs `app-module-probe.ts` in a child Node process under tsx and reads
 * the declaration it prints. The child loads the module with SPARKLESS_CONFIG set to `{}`, so it sees
 * what the module itself declares, whatever the environment of the synth holds; results are cached per
 * module file and modification time, so a process pays the load (under a second) once per module.
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Duration } from "aws-cdk-lib";
import { InvalidArgumentError } from "../lib/core/errors.js";
import { tsxImportArgs } from "../lib/local/optional.js";
import type { SparklessConfig } from "./props.js";

export interface AppModuleInfo {
  /** The module path, as given. */
  readonly entry: string;
  readonly appName: string;
  readonly batchInterval: Duration;
  readonly maxTaskAttempts: number;
  /** Where checkpoint pages go: the functions get it as SPARKLESS_CHECKPOINT_STORE. */
  readonly checkpointStore: "dynamodb" | "s3";
  /** The names passed to `ssc.kinesisStream(name)`, in creation order. */
  readonly kinesisStreams: readonly string[];
  /** The directories passed to `ssc.textFileStream("s3://bucket/prefix/")`: the functions may list and read them. */
  readonly fileDirectories: readonly string[];
}

/**
 * What an app module declares in `defineApp(...)` and its graph, as the SparklessApp construct checks
 * its props against it. `readAppModuleSync(entry)` (or `readAppModule(entry)`, whose result fits) gives it.
 */
export interface AppModuleDeclaration {
  /** `defineApp({ name })`. */
  readonly appName: string;
  /** `defineApp({ batchInterval })`. */
  readonly batchInterval: Duration;
  /** `defineApp({ maxTaskAttempts })`, 4 when not given. @default the prop `maxTaskAttempts`, else 4 */
  readonly maxTaskAttempts?: number;
  /** `defineApp({ checkpointStore })`, "dynamodb" when not given. @default the prop `checkpointStore`, else "dynamodb" */
  readonly checkpointStore?: "dynamodb" | "s3";
  /** The streams of `ssc.kinesisStream(name)`. @default not checked */
  readonly kinesisStreams?: readonly string[];
  /** The directories of `ssc.textFileStream("s3://bucket/prefix/")`, which the functions are granted to list and read. @default none */
  readonly fileDirectories?: readonly string[];
}

/**
 * Loads the module with `config` applied as SPARKLESS_CONFIG (as the functions will see it), so the
 * streams and interval are the deployed ones. The variable is restored afterwards.
 */
export async function readAppModule(entry: string, config: SparklessConfig = {}): Promise<AppModuleInfo> {
  const { loadApp } = await import("../lib/app/app.js");
  const { fileDirectoriesOf, kinesisStreamsOf } = await import("../lib/app/inputs.js");
  const before = process.env.SPARKLESS_CONFIG;
  process.env.SPARKLESS_CONFIG = JSON.stringify(config);
  try {
    const app = await loadApp(entry);
    return {
      entry,
      appName: app.config.name,
      batchInterval: Duration.millis(app.config.batchInterval.milliseconds),
      maxTaskAttempts: app.config.maxTaskAttempts,
      checkpointStore: app.config.checkpointStore,
      kinesisStreams: kinesisStreamsOf(app),
      fileDirectories: fileDirectoriesOf(app),
    };
  } finally {
    if (before === undefined) delete process.env.SPARKLESS_CONFIG;
    else process.env.SPARKLESS_CONFIG = before;
  }
}

/** The line the probe prints its JSON on, so output of the module itself (a console.log at import) is ignored. */
export const PROBE_MARKER = "@@SPARKLESS_APP_MODULE ";

/** What the probe prints: the declaration, with the interval in milliseconds. */
export interface ProbedAppModule {
  readonly appName: string;
  readonly batchIntervalMs: number;
  readonly maxTaskAttempts: number;
  readonly checkpointStore: "dynamodb" | "s3";
  readonly kinesisStreams: readonly string[];
  readonly fileDirectories: readonly string[];
}

const cache = new Map<string, AppModuleDeclaration>();

/**
 * What the module at `entry` declares itself (SPARKLESS_CONFIG ignored), loaded in a child process; see
 * the top of this file. Throws an InvalidArgumentError naming the module, the child's error and the way
 * out when the module cannot be loaded at synth.
 */
export function readAppModuleSync(entry: string): AppModuleDeclaration {
  const file = path.resolve(entry);
  const key = `${file}@${statSync(file).mtimeMs}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Under tsx (or vitest) this file is the .ts source; compiled, the probe sits next to it as .js.
  const probe = ["app-module-probe.ts", "app-module-probe.js"].map((f) => path.join(here, f)).find((f) => existsSync(f))!;
  const child = spawnSync(process.execPath, [...tsxImportArgs(), probe, file, PROBE_MARKER], {
    env: { ...process.env, SPARKLESS_CONFIG: "{}" },
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = child.stdout?.split("\n").find((l) => l.startsWith(PROBE_MARKER));
  const answer = line ? (JSON.parse(line.slice(PROBE_MARKER.length)) as ProbedAppModule | { error: string }) : undefined;
  if (!answer || "error" in answer) {
    const why =
      answer?.error ?? child.error?.message ?? (child.stderr || child.stdout || `exit ${child.status}`).trim().split("\n").slice(-6).join("\n");
    throw new InvalidArgumentError(
      `Could not load the app module ${entry} at synth to check \`appName\`, \`batchInterval\` and the streams against it: ${why}. ` +
        "Make the module importable without side effects (no AWS calls or required variables at import time), " +
        "or pass `appModule` with what it declares (readAppModule(entry) gives it).",
    );
  }
  const probed = answer;
  const declared: AppModuleDeclaration = {
    appName: probed.appName,
    batchInterval: Duration.millis(probed.batchIntervalMs),
    maxTaskAttempts: probed.maxTaskAttempts,
    checkpointStore: probed.checkpointStore,
    kinesisStreams: probed.kinesisStreams,
    fileDirectories: probed.fileDirectories,
  };
  cache.set(key, declared);
  return declared;
}
