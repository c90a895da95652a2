/**
 * Kinesis on kinesis-mock (npm `kinesis-local`, the engine LocalStack runs for
 * Kinesis): a devDependency for cross-checks, ~25x slower than kinesalite on
 * PutRecords (docs/local-engines.md). In memory only.
 */
import path from "node:path";
import { findFreePort, kinesisProbe, readyChildEngine, type RunningEngine } from "./readiness.js";
import { packageDir, startChild, type Watchdog } from "./supervision.js";

export interface KinesisMockOptions {
  region: string;
  log: ((line: string) => void) | undefined;
  watchdog: Watchdog;
  timeoutMs: number;
}

export async function startKinesisMock(options: KinesisMockOptions): Promise<RunningEngine> {
  const dir = packageDir("kinesis-local");
  const [plainPort, tlsPort] = await Promise.all([findFreePort(), findFreePort()]);
  // kinesis-mock reads server.json (its TLS certificate) from the working directory, so run it from its folder.
  // It binds 0.0.0.0 (hard-coded); clients use 127.0.0.1.
  const managed = startChild("kinesis-local", process.execPath, [path.join(dir, "main.js")], {
    cwd: dir,
    env: {
      KINESIS_MOCK_PLAIN_PORT: String(plainPort),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      KINESIS_MOCK_CERT_PATH: path.join(dir, "server.json"),
      AWS_REGION: options.region,
      LOG_LEVEL: process.env.KINESIS_MOCK_LOG_LEVEL ?? "WARN",
      CREATE_STREAM_DURATION: "0ms",
      DELETE_STREAM_DURATION: "0ms",
      MERGE_SHARDS_DURATION: "0ms",
      SPLIT_SHARD_DURATION: "0ms",
      UPDATE_SHARD_COUNT_DURATION: "0ms",
      SHARD_LIMIT: "1000",
    },
    log: options.log,
    watchdog: options.watchdog,
  });
  const endpoint = `http://127.0.0.1:${plainPort}`;
  return readyChildEngine("kinesis", managed, endpoint, await kinesisProbe(endpoint, options.region), options.timeoutMs);
}
