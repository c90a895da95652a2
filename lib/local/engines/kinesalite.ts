/**
 * Kinesis on kinesalite (the default Kinesis engine): a `node -e` child
 * process that loads kinesalite and listens on 127.0.0.1 only. In memory
 * (memdown) by default; with a data folder, in LevelDB there (kinesalite's
 * own `--path` option, through the optional dependency leveldown, whose
 * prebuilt binary needs no install script).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { findFreePort, kinesisProbe, readyChildEngine, type RunningEngine } from "./readiness.js";
import { packageDir, startChild, type Watchdog } from "./supervision.js";

export interface KinesaliteOptions {
  region: string;
  log: ((line: string) => void) | undefined;
  watchdog: Watchdog;
  timeoutMs: number;
  /** LevelDB folder; absent: in memory. */
  dataDir?: string;
}

/**
 * The launcher's program. It listens on 127.0.0.1 (kinesalite's cli.js listens on every interface), and
 * exits when its stdin pipe closes, that is when the process that started it dies, however it dies.
 *
 * kinesalite never answers GetShardIterator AT_TIMESTAMP when no record of the shard arrived at or after
 * the time (its lazy stream's head() never fires); real Kinesis returns an iterator at the shard's end.
 * The action is wrapped before kinesalite loads it: with no such record, the request becomes LATEST.
 */
function launcherScript(dir: string, port: number, dataDir: string | undefined): string {
  return `
    const gsiPath = require.resolve(${JSON.stringify(path.join(dir, "actions", "getShardIterator.js"))});
    const original = require(gsiPath);
    require.cache[gsiPath].exports = function getShardIterator(store, data, cb) {
      if (data.ShardIteratorType !== "AT_TIMESTAMP" || data.Timestamp == null) return original(store, data, cb);
      const ix = parseInt(String(data.ShardId).split("-")[1], 10);
      const hex = (n) => ("00000000" + n.toString(16)).slice(-8);
      let found = false;
      let stream;
      try {
        stream = store.getStreamDb(data.StreamName).createReadStream({ gt: hex(ix), lt: hex(ix + 1) });
      } catch (e) { return original(store, data, cb); }
      stream.on("data", (item) => {
        if (!found && item.value.ApproximateArrivalTimestamp >= data.Timestamp) { found = true; stream.destroy(); original(store, data, cb); }
      });
      stream.on("error", () => { if (!found) { found = true; original(store, data, cb); } });
      stream.on("end", () => { if (!found) { found = true; original(store, Object.assign({}, data, { ShardIteratorType: "LATEST", Timestamp: undefined }), cb); } });
    };
    const kinesalite = require(${JSON.stringify(path.join(dir, "index.js"))});
    const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000${dataDir ? `, path: ${JSON.stringify(dataDir)}` : ""} });
    server.on("error", (e) => { console.error(String(e && e.stack || e)); process.exit(1); });
    server.listen(${port}, "127.0.0.1", () => console.log("kinesalite listening on 127.0.0.1:${port}"));
    // Closing the server closes the LevelDB store first; a second later, exit regardless.
    const quit = () => { setTimeout(() => process.exit(0), 1000).unref(); server.close(() => process.exit(0)); };
    process.on("SIGTERM", quit);
    process.stdin.on("end", quit);
    process.stdin.on("error", quit);
    process.stdin.resume();
  `;
}

export async function startKinesalite(options: KinesaliteOptions): Promise<RunningEngine> {
  const dir = packageDir("kinesalite");
  const port = await findFreePort();
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const managed = startChild("kinesalite", process.execPath, ["-e", launcherScript(dir, port, options.dataDir)], {
    cwd: dir,
    log: options.log,
    watchdog: options.watchdog,
    stdinPipe: true,
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return readyChildEngine("kinesis", managed, endpoint, await kinesisProbe(endpoint, options.region), options.timeoutMs);
}
