/**
 * Reads what the construct needs from an app module at synth time: its name, batch interval, task
 * attempts and the Kinesis streams its graph reads. The CDK app runs under tsx, so the module (and
 * `sparkless`) load as they do in `sparkless local`; the graph is built once, nothing is started.
 */
import { Duration } from "aws-cdk-lib";
import { loadApp } from "../lib/app/app.js";
import { kinesisStreamsOf } from "../lib/local/runtime.js";
import type { SparklessConfig } from "./sparkless-app.js";

export interface AppModuleInfo {
  /** The module path, as given. */
  readonly entry: string;
  readonly appName: string;
  readonly batchInterval: Duration;
  readonly maxTaskAttempts: number;
  /** The names passed to `ssc.kinesisStream(name)`, in creation order. */
  readonly kinesisStreams: readonly string[];
}

/**
 * Loads the module with `config` applied as SPARKLESS_CONFIG (as the functions will see it), so the
 * streams and interval are the deployed ones. The variable is restored afterwards.
 */
export async function readAppModule(entry: string, config: SparklessConfig = {}): Promise<AppModuleInfo> {
  const before = process.env.SPARKLESS_CONFIG;
  process.env.SPARKLESS_CONFIG = JSON.stringify(config);
  try {
    const app = await loadApp(entry);
    return {
      entry,
      appName: app.config.name,
      batchInterval: Duration.millis(app.config.batchInterval.milliseconds),
      maxTaskAttempts: app.config.maxTaskAttempts,
      kinesisStreams: kinesisStreamsOf(app),
    };
  } finally {
    if (before === undefined) delete process.env.SPARKLESS_CONFIG;
    else process.env.SPARKLESS_CONFIG = before;
  }
}
