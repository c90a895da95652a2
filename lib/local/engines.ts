/**
 * Embedded AWS engines for local runs and tests: Kinesis, DynamoDB and SQS on 127.0.0.1,
 * with no Docker and no network. See docs/local-engines.md for why these engines.
 *
 *  - Kinesis:  kinesalite (default; node child process) or kinesis-local (kinesis-mock; node child process;
 *              a devDependency, for cross-checks: it is ~25x slower on PutRecords)
 *  - DynamoDB: DynamoDB Local (the jar inside the npm package amplify-dynamodb-simulator; java child process)
 *  - SQS:      fauxqs 1.9.x (in-process fastify server bound to 127.0.0.1)
 *
 * Every child process runs in its own process group. `stop()` kills the groups; they are also killed
 * when this process exits ('exit' event), and a small detached watchdog process kills them when this
 * process dies in any other way (SIGKILL, a signal with no handler, a crash) because its stdin pipe closes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer, type Socket } from "node:net";
import path from "node:path";
import { NodeHttpHandler } from "@smithy/node-http-handler";

export interface EngineEndpoints {
  kinesis: string;
  dynamodb: string;
  sqs: string;
  /** fauxqs serves S3 on its SQS endpoint (path-style). */
  s3: string;
  region: string;
}

export interface EmbeddedEngines extends EngineEndpoints {
  /** Milliseconds each engine took from launch until it answered a real API call. */
  readonly startupMs: Readonly<Partial<Record<EngineName, number>>>;
  /** Ids of the child processes (each the leader of its own process group), watchdog included. */
  readonly processIds: readonly number[];
  stop(): Promise<void>;
}

export type EngineName = "kinesis" | "dynamodb" | "sqs";
export type KinesisEngine = "kinesalite" | "kinesis-local";

export interface StartEmbeddedEnginesOptions {
  log?: (line: string) => void;
  /** Start Kinesis (default true). When false, `kinesis` is "". */
  kinesis?: boolean;
  /** Start DynamoDB Local (default true). When false, `dynamodb` is "". */
  dynamodb?: boolean;
  /** Start SQS (default true). When false, `sqs` is "". */
  sqs?: boolean;
  /** Which Kinesis engine (default "kinesalite"; see docs/local-engines.md). */
  kinesisEngine?: KinesisEngine;
  /** How long each engine may take to answer its first API call (default 60 s). */
  startTimeoutMs?: number;
  /** Region for the endpoints (default "us-east-1"). */
  region?: string;
}

/** Thrown when an engine does not start or does not answer in time. */
export class EngineStartError extends Error {
  override readonly name = "EngineStartError";
  constructor(
    readonly engine: EngineName,
    message: string,
    readonly output: string = "",
    options?: { cause?: unknown },
  ) {
    super(`${engine}: ${message}${output ? `\n--- engine output (last lines) ---\n${output}` : ""}`, options);
  }
}

export const JAVA_MISSING_MESSAGE =
  "DynamoDB Local needs Java 17+: install a JDK (apt-get install openjdk-17-jre-headless)";

const DEFAULT_REGION = "us-east-1";
// DynamoDB Local (1.2x) rejects an access key id with anything but letters and digits
// (UnrecognizedClientException), so no dashes here.
const DUMMY_CREDENTIALS = { accessKeyId: "sparklesslocal", secretAccessKey: "sparklesslocal" };

/**
 * SDK v3 client configuration for a local endpoint: dummy credentials and an HTTP/1.1 handler
 * (the Kinesis client's default HTTP/2 handler fails against local engines with ERR_HTTP2_ERROR).
 */
export function awsClientConfig(
  endpoint: string,
  region: string,
): {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  requestHandler: NodeHttpHandler;
  maxAttempts?: number;
} {
  return {
    endpoint,
    region,
    credentials: { ...DUMMY_CREDENTIALS },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    maxAttempts: 3,
  };
}

/** A free TCP port on 127.0.0.1 (listen on port 0, read the port, close). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not read the port of a listening socket"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// child processes

const requireFromHere = createRequire(import.meta.url);

function packageDir(name: string, engine: EngineName): string {
  try {
    return path.dirname(requireFromHere.resolve(`${name}/package.json`));
  } catch (error) {
    throw new EngineStartError(engine, `the npm package "${name}" is not installed (npm install ${name})`, "", { cause: error });
  }
}

/** Keeps the last lines a child printed, for error messages. */
class OutputTail {
  private lines: string[] = [];
  private partial = "";
  constructor(
    private readonly prefix: string,
    private readonly log: ((line: string) => void) | undefined,
    private readonly max = 40,
  ) {}
  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? "";
    for (const line of parts) this.add(line);
  }
  private add(line: string): void {
    if (line.trim() === "") return;
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
    this.log?.(`[${this.prefix}] ${line}`);
  }
  text(): string {
    return [...this.lines, this.partial].filter((l) => l.trim() !== "").join("\n");
  }
}

/** Process groups this process started and has not stopped yet (killed on 'exit'). */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of liveGroups) killGroup(pid, "SIGKILL");
    liveGroups.clear();
  });
}

/**
 * A detached node process that kills the registered process groups when its stdin closes,
 * which happens when this process dies, however it dies. Lines on stdin: "+PID" or "-PID".
 */
const WATCHDOG_SCRIPT = `
const groups = new Set();
let buf = "";
const killAll = () => { for (const g of groups) { try { process.kill(-g, "SIGKILL"); } catch {} try { process.kill(g, "SIGKILL"); } catch {} } process.exit(0); };
process.stdin.on("data", (d) => {
  buf += d; let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const pid = Number(line.slice(1));
    if (line[0] === "+") groups.add(pid); else if (line[0] === "-") groups.delete(pid);
  }
});
process.stdin.on("end", killAll);
process.stdin.on("error", killAll);
process.on("SIGTERM", () => process.exit(0));
`;

class Watchdog {
  readonly child: ChildProcess;
  constructor() {
    this.child = spawn(process.execPath, ["-e", WATCHDOG_SCRIPT], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    this.child.on("error", () => undefined);
    this.child.stdin?.on("error", () => undefined);
    this.child.unref();
    (this.child.stdin as unknown as Socket | null)?.unref?.();
    if (this.child.pid !== undefined) liveGroups.add(this.child.pid);
  }
  watch(pid: number): void {
    this.child.stdin?.write(`+${pid}\n`);
  }
  forget(pid: number): void {
    this.child.stdin?.write(`-${pid}\n`);
  }
  async close(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    await Promise.race([exited, sleep(2_000)]);
    killGroup(pid, "SIGKILL");
    liveGroups.delete(pid);
  }
}

interface ManagedChild {
  readonly child: ChildProcess;
  readonly tail: OutputTail;
  /** Resolves when the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set when spawning failed (e.g. ENOENT). */
  spawnError?: NodeJS.ErrnoException;
  stop(): Promise<void>;
}

function startChild(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; log: ((line: string) => void) | undefined; watchdog: Watchdog },
): ManagedChild {
  installExitHook();
  const tail = new OutputTail(name, options.log);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true, // own process group, so stop() can kill the whole group
    stdio: ["ignore", "pipe", "pipe"],
  });
  const managed: ManagedChild = {
    child,
    tail,
    exited: new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", (error: NodeJS.ErrnoException) => {
        managed.spawnError = error;
        resolve({ code: null, signal: null });
      });
    }),
    async stop() {
      const pid = child.pid;
      if (pid === undefined) return;
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(pid, "SIGTERM");
        const done = await Promise.race([managed.exited.then(() => true), sleep(3_000).then(() => false)]);
        if (!done) {
          killGroup(pid, "SIGKILL");
          await Promise.race([managed.exited, sleep(2_000)]);
        }
      }
      // anything else left in the group (there should be nothing)
      killGroup(pid, "SIGKILL");
      liveGroups.delete(pid);
      options.watchdog.forget(pid);
    },
  };
  child.stdout?.on("data", (d: Buffer) => tail.push(d));
  child.stderr?.on("data", (d: Buffer) => tail.push(d));
  child.unref();
  (child.stdout as unknown as Socket | null)?.unref?.();
  (child.stderr as unknown as Socket | null)?.unref?.();
  if (child.pid !== undefined) {
    liveGroups.add(child.pid);
    options.watchdog.watch(child.pid);
  }
  return managed;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` until it succeeds, the child exits, or the timeout passes.
 */
async function waitUntilReady(
  engine: EngineName,
  managed: ManagedChild | undefined,
  probe: () => Promise<unknown>,
  timeoutMs: number,
  describeExit: (output: string, spawnError?: NodeJS.ErrnoException) => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void managed?.exited.then((info) => {
    exitInfo = info;
  });
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    if (exitInfo !== undefined && managed !== undefined) {
      const output = managed.tail.text();
      const hint = describeExit(output, managed.spawnError);
      if (hint !== undefined) throw new EngineStartError(engine, hint, output, { cause: managed.spawnError });
      const how = managed.spawnError
        ? `could not be launched (${managed.spawnError.code ?? managed.spawnError.message})`
        : `exited before it answered (code ${exitInfo.code}, signal ${exitInfo.signal})`;
      throw new EngineStartError(engine, `the engine ${how}`, output, { cause: managed.spawnError });
    }
    if (Date.now() > deadline) {
      throw new EngineStartError(
        engine,
        `did not answer within ${timeoutMs} ms (last error: ${errorText(lastError)})`,
        managed?.tail.text() ?? "",
        { cause: lastError },
      );
    }
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== undefined && status >= 400 && status < 500) {
        // The engine is up and refuses the call: waiting will not help.
        throw new EngineStartError(engine, `answered the probe with an error: ${errorText(error)}`, managed?.tail.text() ?? "", {
          cause: error,
        });
      }
    }
    await sleep(Math.min(50 * 2 ** Math.min(attempt, 3), 400));
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function isPortClash(output: string): boolean {
  return /EADDRINUSE|address already in use|BindException/i.test(output);
}

// ---------------------------------------------------------------------------------------------
// the engines

interface RunningEngine {
  endpoint: string;
  pid?: number;
  stop(): Promise<void>;
}

const PROBE_TIMEOUT = { connectionTimeout: 1_000, requestTimeout: 5_000 };

function probeConfig(endpoint: string, region: string) {
  return {
    endpoint,
    region,
    credentials: { ...DUMMY_CREDENTIALS },
    requestHandler: new NodeHttpHandler(PROBE_TIMEOUT),
    maxAttempts: 1,
  };
}

/** A real API call that says an engine is up, on a client of its own. */
interface Probe { call: () => Promise<unknown>; close: () => void }

async function kinesisProbe(endpoint: string, region: string): Promise<Probe> {
  const { KinesisClient, ListStreamsCommand } = await import("@aws-sdk/client-kinesis");
  const client = new KinesisClient(probeConfig(endpoint, region));
  return { call: () => client.send(new ListStreamsCommand({})), close: () => client.destroy() };
}

/** Waits until a child-process engine answers `probe`; stops it if it never does. */
async function readyChildEngine(
  engine: EngineName, managed: ManagedChild, endpoint: string, probe: Probe, timeoutMs: number,
  describeExit?: (output: string, spawnError?: NodeJS.ErrnoException) => string | undefined,
): Promise<RunningEngine> {
  try {
    await waitUntilReady(engine, managed, probe.call, timeoutMs, describeExit);
  } catch (error) {
    await managed.stop();
    throw error;
  } finally {
    probe.close();
  }
  return { endpoint, pid: managed.child.pid, stop: () => managed.stop() };
}

async function startKinesalite(
  region: string,
  log: ((line: string) => void) | undefined,
  watchdog: Watchdog,
  timeoutMs: number,
): Promise<RunningEngine> {
  const dir = packageDir("kinesalite", "kinesis");
  const port = await findFreePort();
  // kinesalite's own cli.js listens on every interface; this binds to 127.0.0.1 only.
  // kinesalite never answers GetShardIterator AT_TIMESTAMP when no record of the shard arrived at or after
  // the time (its lazy stream's head() never fires); real Kinesis returns an iterator at the shard's end.
  // The action is wrapped before kinesalite loads it: with no such record, the request becomes LATEST.
  const script = `
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
    const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
    server.on("error", (e) => { console.error(String(e && e.stack || e)); process.exit(1); });
    server.listen(${port}, "127.0.0.1", () => console.log("kinesalite listening on 127.0.0.1:${port}"));
  `;
  const managed = startChild("kinesalite", process.execPath, ["-e", script], { cwd: dir, log, watchdog });
  const endpoint = `http://127.0.0.1:${port}`;
  return readyChildEngine("kinesis", managed, endpoint, await kinesisProbe(endpoint, region), timeoutMs);
}

async function startKinesisLocal(
  region: string,
  log: ((line: string) => void) | undefined,
  watchdog: Watchdog,
  timeoutMs: number,
): Promise<RunningEngine> {
  const dir = packageDir("kinesis-local", "kinesis");
  const [plainPort, tlsPort] = await Promise.all([findFreePort(), findFreePort()]);
  // kinesis-mock reads server.json (its TLS certificate) from the working directory, so run it from its folder.
  // It binds 0.0.0.0 (hard-coded); clients use 127.0.0.1.
  const managed = startChild("kinesis-local", process.execPath, [path.join(dir, "main.js")], {
    cwd: dir,
    env: {
      KINESIS_MOCK_PLAIN_PORT: String(plainPort),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      KINESIS_MOCK_CERT_PATH: path.join(dir, "server.json"),
      AWS_REGION: region,
      LOG_LEVEL: process.env.KINESIS_MOCK_LOG_LEVEL ?? "WARN",
      CREATE_STREAM_DURATION: "0ms",
      DELETE_STREAM_DURATION: "0ms",
      MERGE_SHARDS_DURATION: "0ms",
      SPLIT_SHARD_DURATION: "0ms",
      UPDATE_SHARD_COUNT_DURATION: "0ms",
      SHARD_LIMIT: "1000",
    },
    log,
    watchdog,
  });
  const endpoint = `http://127.0.0.1:${plainPort}`;
  return readyChildEngine("kinesis", managed, endpoint, await kinesisProbe(endpoint, region), timeoutMs);
}

async function startDynamoDbLocal(
  region: string,
  log: ((line: string) => void) | undefined,
  watchdog: Watchdog,
  timeoutMs: number,
): Promise<RunningEngine> {
  const dir = path.join(packageDir("amplify-dynamodb-simulator", "dynamodb"), "emulator");
  const port = await findFreePort();
  // DynamoDB Local has no bind-address option: it listens on every interface; clients use 127.0.0.1.
  // -disableTelemetry: there is no network here, and tests must not talk to anything but 127.0.0.1.
  // -sharedDb: one database whatever the credentials and region of the client.
  const args = [
    "-Xms64m",
    "-XX:+UseSerialGC",
    // C1 only: faster start-up, and on 2 cores no slower for short runs (measured, docs/local-engines.md)
    "-XX:TieredStopAtLevel=1",
    "-Djava.library.path=./DynamoDBLocal_lib",
    "-jar",
    "DynamoDBLocal.jar",
    "-inMemory",
    "-sharedDb",
    "-disableTelemetry",
    "-port",
    String(port),
  ];
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, "bin", "java") : "java";
  const managed = startChild("dynamodb-local", java, args, { cwd: dir, log, watchdog });
  const endpoint = `http://127.0.0.1:${port}`;
  const { DynamoDBClient, ListTablesCommand } = await import("@aws-sdk/client-dynamodb");
  const client = new DynamoDBClient(probeConfig(endpoint, region));
  const probe = { call: () => client.send(new ListTablesCommand({})), close: () => client.destroy() };
  return readyChildEngine("dynamodb", managed, endpoint, probe, timeoutMs, (output, spawnError) => {
    if (spawnError?.code === "ENOENT") return JAVA_MISSING_MESSAGE;
    if (/UnsupportedClassVersionError|has been compiled by a more recent version/.test(output)) {
      return `${JAVA_MISSING_MESSAGE} (the java on PATH is too old)`;
    }
    return undefined;
  });
}

async function startSqs(region: string, timeoutMs: number): Promise<RunningEngine> {
  // fauxqs' startFauxqs() listens on 0.0.0.0; buildApp() lets us bind 127.0.0.1 only.
  // Queue URLs are then built from the request's Host header: http://127.0.0.1:PORT/000000000000/NAME.
  const { buildApp } = await import("fauxqs");
  const app = buildApp({ logger: false, defaultRegion: region });
  let address: string;
  try {
    address = await app.listen({ port: 0, host: "127.0.0.1" });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw new EngineStartError("sqs", `fauxqs could not listen on 127.0.0.1: ${errorText(error)}`, "", { cause: error });
  }
  const port = new URL(address).port;
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close();
  };
  const { SQSClient, ListQueuesCommand } = await import("@aws-sdk/client-sqs");
  const client = new SQSClient(probeConfig(endpoint, region));
  try {
    await waitUntilReady("sqs", undefined, () => client.send(new ListQueuesCommand({})), timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, stop };
}

/** Retries a child-process engine on a port clash (another process took the free port first). */
async function withPortRetry(start: () => Promise<RunningEngine>, attempts = 3): Promise<RunningEngine> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (error) {
      if (i < attempts && error instanceof EngineStartError && isPortClash(error.output)) continue;
      throw error;
    }
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: Math.round(performance.now() - t0) };
}

/**
 * Starts the engines in parallel on free ports of 127.0.0.1 and waits until each answers a real API call.
 * On failure, whatever did start is stopped and an EngineStartError is thrown.
 */
export async function startEmbeddedEngines(options: StartEmbeddedEnginesOptions = {}): Promise<EmbeddedEngines> {
  const log = options.log;
  const region = options.region ?? DEFAULT_REGION;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const kinesisEngine = options.kinesisEngine ?? "kinesalite";
  const wanted: Record<EngineName, boolean> = {
    kinesis: options.kinesis ?? true,
    dynamodb: options.dynamodb ?? true,
    sqs: options.sqs ?? true,
  };
  const needsChildren = wanted.kinesis || wanted.dynamodb;
  const watchdog = needsChildren ? new Watchdog() : undefined;

  const starters: Record<EngineName, (() => Promise<RunningEngine>) | undefined> = {
    kinesis: wanted.kinesis
      ? () =>
          withPortRetry(() =>
            kinesisEngine === "kinesis-local"
              ? startKinesisLocal(region, log, watchdog!, timeoutMs)
              : startKinesalite(region, log, watchdog!, timeoutMs),
          )
      : undefined,
    dynamodb: wanted.dynamodb ? () => withPortRetry(() => startDynamoDbLocal(region, log, watchdog!, timeoutMs)) : undefined,
    sqs: wanted.sqs ? () => startSqs(region, timeoutMs) : undefined,
  };

  const t0 = performance.now();
  const names = (Object.keys(starters) as EngineName[]).filter((n) => starters[n] !== undefined);
  const results = await Promise.allSettled(names.map((n) => timed(starters[n]!)));

  const running: Partial<Record<EngineName, RunningEngine>> = {};
  const startupMs: Partial<Record<EngineName, number>> = {};
  const failures: unknown[] = [];
  results.forEach((result, i) => {
    const name = names[i]!;
    if (result.status === "fulfilled") {
      running[name] = result.value.value;
      startupMs[name] = result.value.ms;
    } else {
      failures.push(result.reason);
    }
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.allSettled(Object.values(running).map((engine) => engine.stop()));
    await watchdog?.close();
  };

  if (failures.length > 0) {
    await stop();
    throw failures[0];
  }

  const total = Math.round(performance.now() - t0);
  log?.(
    `embedded engines ready in ${total} ms (${names
      .map((n) => `${n === "kinesis" ? kinesisEngine : n === "dynamodb" ? "DynamoDB Local" : "fauxqs"} ${startupMs[n]} ms`)
      .join(", ")})`,
  );

  return {
    kinesis: running.kinesis?.endpoint ?? "",
    dynamodb: running.dynamodb?.endpoint ?? "",
    sqs: running.sqs?.endpoint ?? "",
    s3: running.sqs?.endpoint ?? "",
    region,
    startupMs,
    processIds: [
      ...Object.values(running).flatMap((engine) => (engine.pid === undefined ? [] : [engine.pid])),
      ...(watchdog?.child.pid === undefined ? [] : [watchdog.child.pid]),
    ],
    stop,
  };
}
