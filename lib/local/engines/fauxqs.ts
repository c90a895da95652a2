/**
 * SQS and S3 on fauxqs 1.9.x: an in-process fastify server bound to
 * 127.0.0.1 (its `startFauxqs()` would listen on 0.0.0.0). Queue URLs are
 * built from the request's Host header: http://127.0.0.1:PORT/000000000000/NAME.
 *
 * With a data folder, S3 is kept in files there (fauxqs-s3-files.ts). SQS is
 * not: what the queues hold is recomputable. Task and result messages belong
 * to one run of one batch; that batch's blocks are in the batch log
 * (DynamoDB), and a coordinator that starts again re-runs it from there with
 * a new run id, ignoring results of the old one (docs/runtime.md, Recovery).
 */
import path from "node:path";
import { SparklessError } from "../../core/errors.js";
import { pathToFileURL } from "node:url";
import { EngineStartError } from "../errors.js";
import { importOptional, optionalPackageDir } from "../optional.js";
import { probeConfig } from "./client-config.js";
import { keepS3StoreInFiles, type FauxqsS3Store } from "./fauxqs-s3-files.js";
import { errorText, waitUntilReady, type RunningEngine } from "./readiness.js";

export interface FauxqsOptions {
  region: string;
  timeoutMs: number;
  /** Where S3's buckets and objects are kept; absent: in memory. */
  s3DataDir?: string;
  log?: (line: string) => void;
}

/** fauxqs' three stores, S3's kept in `dir` (the classes are internal to fauxqs 1.9: loaded from its dist files). */
async function storesKeptIn(dir: string, log?: (line: string) => void) {
  const dist = path.join(optionalPackageDir("fauxqs"), "dist");
  const load = async <T>(file: string, name: string): Promise<new () => T> =>
    ((await import(pathToFileURL(path.join(dist, file)).href)) as Record<string, new () => T>)[name]!;
  const [SqsStore, SnsStore, S3Store] = await Promise.all([
    load<object>("sqs/sqsStore.js", "SqsStore"),
    load<object>("sns/snsStore.js", "SnsStore"),
    load<FauxqsS3Store>("s3/s3Store.js", "S3Store"),
  ]);
  const s3Store = new S3Store();
  const loaded = keepS3StoreInFiles(s3Store, dir);
  log?.(`fauxqs S3 kept in ${dir} (${loaded.buckets} buckets, ${loaded.objects} objects loaded)`);
  return { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store };
}

export async function startFauxqs(options: FauxqsOptions): Promise<RunningEngine> {
  const { buildApp } = await importOptional<typeof import("fauxqs")>("fauxqs");
  let stores: Awaited<ReturnType<typeof storesKeptIn>> | undefined;
  try {
    stores = options.s3DataDir ? await storesKeptIn(options.s3DataDir, options.log) : undefined;
  } catch (error) {
    if (error instanceof SparklessError) throw error;
    throw new EngineStartError("sqs", `could not load fauxqs' S3 objects from ${options.s3DataDir}: ${errorText(error)}`, "", { cause: error });
  }
  const app = buildApp({ logger: false, defaultRegion: options.region, ...(stores ? { stores: stores as never } : {}) });
  let address: string;
  try {
    address = await app.listen({ port: 0, host: "127.0.0.1" });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw new EngineStartError("sqs", `fauxqs could not listen on 127.0.0.1: ${errorText(error)}`, "", { cause: error });
  }
  const endpoint = `http://127.0.0.1:${new URL(address).port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close();
  };
  const { SQSClient, ListQueuesCommand } = await import("@aws-sdk/client-sqs");
  const client = new SQSClient(probeConfig(endpoint, options.region));
  try {
    await waitUntilReady("sqs", undefined, () => client.send(new ListQueuesCommand({})), options.timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, stop };
}
