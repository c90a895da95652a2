/**
 * The chaos run: a stateful word count and a windowed count (lib/chaos/pipeline.ts)
 * on the embedded engines, with a coordinator process and worker processes
 * that are killed, stalled and disturbed at points a seed chooses, while a
 * producer writes a known corpus. Afterwards every batch's output and the
 * final state are compared with a fault-free oracle.
 *
 * Faults, all seeded:
 * - worker processes SIGKILLed while reading Kinesis (`worker.after-read`), mid-shuffle write,
 *   mid-state write (half the state committed), after the task's completion before the stage
 *   hand-off (`worker.after-complete`), after the state write before the SQS delete
 *   (`worker.before-ack`);
 * - the coordinator process SIGKILLed before and after the batch record, before the first task
 *   send and between two task sends;
 * - slow workers: a task stalls longer than the queue's visibility timeout, so a second worker
 *   runs the same task while the first is still at it;
 * - task messages sent twice (the processes' queue sends a copy);
 * - engine calls failing with ProvisionedThroughputExceededException, ThrottlingException,
 *   HTTP 500 and connection resets before or after the engine handled them (an SDK middleware).
 *
 * Killed processes are started again by a supervisor, as Lambda starts a new environment.
 *
 * The oracle: each completed batch's input is read back from Kinesis (the batch record's
 * sequence-number ranges) and the same pipeline runs on the in-memory engine. Every batch's
 * recorded output must equal the oracle's; the final state must equal the corpus's word counts;
 * every record id must have been counted exactly once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { PutRecordsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { engineConfigToEnv } from "../aws/engine.js";
import type { KinesisBlock, KinesisSource } from "../aws/kinesis.js";
import { Milliseconds } from "../core/duration.js";
import { startEmbeddedEngines, type EmbeddedEngines } from "../local/engines.js";
import { ensureStream, prepareLocal } from "../local/runtime.js";
import type { BatchRecord } from "../storage/interfaces.js";
import { runBatches } from "../testing/run-batches.js";
import { seeded, type FaultPlan, type FaultRule } from "../testing/faults.js";
import type { ChildChaos } from "./child.js";
import { CHAOS_PREFIX } from "./child.js";
import { canonical, chaosPipeline, type ChaosElement } from "./pipeline.js";
import { queryAll } from "./query.js";
import { readOutputs } from "./sink.js";

export interface ChaosOptions {
  seed: number;
  /** Completed batches the run must reach (at least). @default 30 */
  batches?: number;
  /** Batch interval. @default 500 */
  intervalMs?: number;
  /** Worker processes. @default 3 */
  workers?: number;
  /** Engines already running (shared by several seeds); otherwise started and stopped here. */
  engines?: EmbeddedEngines;
  /** Records the producer writes. @default 14 per batch */
  records?: number;
  /** Probability of a fault per engine call in the workers and the coordinator. @default 0.01 */
  sdkFaultP?: number;
  /** Probability that a task message is sent twice. @default 0.1 */
  duplicateP?: number;
  /** Worker processes killed at most (each respawned process gets one kill point while any are left). @default 6 */
  workerKills?: number;
  /** Coordinator processes killed at most. @default 4 */
  coordinatorKills?: number;
  /** Workers that stall past the visibility timeout (half of the worker processes get a delay point). @default true */
  delays?: boolean;
  /** SQS visibility timeout (s). @default 3 */
  visibilityTimeoutS?: number;
  /** Fails the run when it has not finished after this long. @default 360000 */
  timeoutMs?: number;
  /** Progress and child output. */
  log?: (line: string) => void;
  /** Echo every child's stderr to `log`. */
  verbose?: boolean;
}

export interface ChaosResult {
  readonly seed: number;
  readonly batches: number;
  readonly faults: number;
  readonly faultsByKind: Readonly<Record<string, number>>;
  readonly records: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly stateMatches: boolean;
  readonly outputsCompared: number;
  readonly processesKilled: number;
  readonly durationMs: number;
  /** The summary line. */
  readonly line: string;
}

export class ChaosFailure extends Error {
  override readonly name = "ChaosFailure";
  constructor(message: string, readonly result?: Partial<ChaosResult>) { super(message); }
}

const WORKER_KILLS: Record<string, number> = {
  "worker.after-read": 0.04,
  "worker.mid-shuffle-write": 0.04,
  "worker.mid-state-write": 0.05,
  "worker.after-complete": 0.03,
  "worker.before-ack": 0.03,
};
const COORDINATOR_KILLS: Record<string, number> = {
  "coordinator.before-batch-record": 0.05,
  "coordinator.after-batch-record": 0.05,
  "coordinator.before-task-send": 0.1,
  "coordinator.between-task-sends": 0.1,
};
/** Points where a worker may stall past the visibility timeout (a second worker then runs the task). */
const DELAY_POINTS = ["worker.after-read", "worker.mid-shuffle-write", "worker.mid-state-write", "worker.before-ack"];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const tsxLoader = (): string => createRequire(import.meta.url).resolve("tsx");
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

const VOCABULARY = (
  "the of and to a in is you that it he was for on are as with his they at be this have from or one had by word but not what all " +
  "were we when your can said there use an each which she do how their if will up other about out many then them these so some her"
).split(" ");

/** `n` corpus lines `<id> <word> ...`, 2 to 7 words each, skewed towards the first words. */
export function chaosCorpus(seed: number, n: number): string[] {
  const rand = seeded(seed * 7919 + 17);
  return Array.from({ length: n }, (_, i) => {
    const words = Array.from({ length: 2 + Math.floor(rand() * 6) }, () => VOCABULARY[Math.floor(rand() ** 2 * VOCABULARY.length)]!);
    return [`s${seed}r${i}`, ...words].join(" ");
  });
}

interface Child { role: "worker" | "coordinator"; slot: number; spawnIndex: number; proc: ChildProcess; plan: FaultPlan }

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const seed = options.seed;
  const batches = options.batches ?? 30;
  const interval = options.intervalMs ?? 500;
  const nRecords = options.records ?? Math.max(10, batches * 14);
  const log = options.log ?? (() => undefined);
  const own = options.engines ? undefined : await startEmbeddedEngines({});
  const engines = options.engines ?? own!;
  const app = `chaos-${seed}-${Date.now().toString(36)}`;
  const stream = `${app}-words`;
  const env = await prepareLocal({ app, endpoints: engines, visibilityTimeoutS: options.visibilityTimeoutS ?? 3, maxReceiveCount: 1000 });
  const kinesis = env.engine.clients.kinesis;
  const children = new Set<Child>();
  const faults = new Map<string, number>();
  const tail: string[] = [];
  let stopping = false;
  let killed = 0;
  const rng = seeded(seed);
  const budget = { worker: options.workerKills ?? 6, coordinator: options.coordinatorKills ?? 4 };
  const spawns = { worker: 0, coordinator: 0 };
  const offset = { worker: Math.floor(rng() * 5), coordinator: Math.floor(rng() * 4) };

  const planFor = (role: "worker" | "coordinator", spawnIndex: number): FaultPlan => {
    const points: Record<string, FaultRule> = {};
    const kills = role === "worker" ? WORKER_KILLS : COORDINATOR_KILLS;
    const names = Object.keys(kills);
    if (budget[role] > 0) {
      // One kill point per process, in a seeded rotation, so every point is exercised.
      const point = names[(offset[role] + spawnIndex) % names.length]!;
      points[point] = { p: kills[point]!, action: "kill" };
    }
    if (role === "worker" && options.delays !== false && rng() < 0.5) {
      const point = DELAY_POINTS[Math.floor(rng() * DELAY_POINTS.length)]!;
      // Longer than the visibility timeout, sometimes by several batches: the stalled attempt's late
      // writes then land after later batches have moved on.
      if (!points[point]) points[point] = { p: 0.05, action: "delay", ms: Math.round((options.visibilityTimeoutS ?? 3) * 1000 + 1000 + rng() * 6000), max: 1 };
    }
    return { seed: (seed * 1_000_003 + spawnIndex * 7919 + (role === "worker" ? 1 : 2)) >>> 0, points };
  };

  const baseEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["SPARKLESS_FAULTS", "SPARKLESS_CONFIG", "SPARKLESS_TEST_ENGINE", "AWS_ENDPOINT_URL", "NODE_OPTIONS"]) delete baseEnv[k];
  Object.assign(baseEnv, engineConfigToEnv(env.config), {
    SPARKLESS_APP_PATH: here("./app.ts"),
    SPARKLESS_CHAOS_APP: app,
    SPARKLESS_CHAOS_STREAM: stream,
    SPARKLESS_CHAOS_INTERVAL_MS: String(interval),
    SPARKLESS_TASK_LEASE_MS: String(Math.max(1000, (options.visibilityTimeoutS ?? 3) * 1000 - 1000)),
  });

  const start = (role: "worker" | "coordinator", slot: number): void => {
    if (stopping) return;
    const spawnIndex = spawns[role]++;
    const plan = planFor(role, spawnIndex);
    const chaos: ChildChaos = { seed: plan.seed, sdkP: options.sdkFaultP ?? 0.01, duplicateP: options.duplicateP ?? 0.1 };
    const proc = spawn(process.execPath, ["--import", tsxLoader(), here(role === "worker" ? "./worker-process.ts" : "./coordinator-process.ts")], {
      env: { ...baseEnv, SPARKLESS_FAULTS: JSON.stringify(plan), SPARKLESS_CHAOS_CHILD: JSON.stringify(chaos) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const child: Child = { role, slot, spawnIndex, proc, plan };
    children.add(child);
    const name = `${role}#${slot}.${spawnIndex} (${proc.pid})`;
    const onLine = (line: string) => {
      if (line.startsWith(CHAOS_PREFIX)) {
        const what = line.slice(CHAOS_PREFIX.length).trim();
        const parts = what.split(" ");
        const kind = parts[0] === "sdk" ? `sdk ${parts[2]}` : parts[0] === "sqs" ? "sqs duplicate" : `${parts[1]} ${parts[0]}`;
        faults.set(kind, (faults.get(kind) ?? 0) + 1);
        if (kind.startsWith("kill")) log(`  seed ${seed}: ${name} killed at ${parts[0]}`);
        else if (kind.startsWith("delay")) log(`  seed ${seed}: ${name} stalls at ${parts[0]}`);
        return;
      }
      tail.push(`${name}: ${line}`);
      if (tail.length > 300) tail.shift();
      if (options.verbose) log(`  ${name}: ${line}`);
    };
    createInterface({ input: proc.stderr! }).on("line", onLine);
    createInterface({ input: proc.stdout! }).on("line", onLine);
    proc.on("exit", (code, signal) => {
      children.delete(child);
      if (stopping) return;
      if (signal === "SIGKILL") { killed++; budget[role]--; } else log(`  seed ${seed}: ${name} exited (code ${code}, signal ${signal}); restarting`);
      // Lambda starts a new environment for the next invocation or delivery.
      setTimeout(() => start(role, slot), 100);
    });
  };

  const stopChildren = async () => {
    stopping = true;
    await Promise.all([...children].map(({ proc }) => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const timer = setTimeout(() => { proc.kill("SIGKILL"); }, 3000);
      proc.once("exit", () => { clearTimeout(timer); resolve(); });
      proc.kill("SIGTERM");
    })));
  };

  const corpus = chaosCorpus(seed, nRecords);
  let produced = 0;
  try {
    await ensureStream(kinesis, stream, 2);
    start("coordinator", 0);
    for (let w = 0; w < (options.workers ?? 3); w++) start("worker", w);

    // The producer: the corpus in small PutRecords calls, spread over the first ~60% of the batches.
    const produceMs = Math.max(interval, batches * interval * 0.6);
    const tickMs = 100;
    const perTick = Math.max(1, Math.ceil(nRecords / (produceMs / tickMs)));
    const producing = (async () => {
      for (let i = 0; i < corpus.length; i += perTick) {
        await putAll(kinesis, stream, corpus.slice(i, i + perTick));
        produced = Math.min(corpus.length, i + perTick);
        await sleep(tickMs);
      }
    })();

    // Wait until every record is in a completed batch, at least `batches` batches completed, and none is running.
    const deadline = started + (options.timeoutMs ?? 360_000);
    let prefix: BatchRecord[] = [];
    let producerDoneAt: number | undefined;
    let lastProgress = Date.now();
    void producing.then(() => { producerDoneAt = Date.now(); }, () => undefined);
    for (;;) {
      const all = await env.engine.batchLog.listBatches();
      const failed = all.find((b) => b.status === "failed");
      if (failed) throw new ChaosFailure(`seed ${seed}: batch ${failed.time} failed: ${failed.error}\n${tail.slice(-40).join("\n")}`);
      const firstOpen = all.findIndex((b) => b.status !== "completed");
      prefix = firstOpen < 0 ? all : all.slice(0, firstOpen);
      const consumed = prefix.reduce((n, b) => n + recordsIn(b), 0);
      if (Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        log(`  seed ${seed}: ${prefix.length} batches completed (${all.length} generated), ${consumed}/${produced} records consumed, ${[...faults.values()].reduce((a, b) => a + b, 0)} faults`);
      }
      // Done when a completed batch's input bound is past the producer's last record (blocks are cut at
      // arrival times, `settleMs` = 500 ms before the batch time), whatever the counters say: a record
      // missing from every batch is then reported as lost, not waited for.
      const lastTime = prefix[prefix.length - 1]?.time ?? 0;
      if (producerDoneAt !== undefined && prefix.length >= batches && lastTime >= producerDoneAt + 500 + 2 * interval && !all.some((b) => b.status === "running")) {
        if (consumed !== produced) log(`  seed ${seed}: the batches' inputRecords counters say ${consumed} records, ${produced} were produced`);
        break;
      }
      if (Date.now() > deadline) {
        const statuses = all.slice(-8).map((b) => `${b.time}:${b.status}${b.currentStage !== undefined ? `@${b.currentStage}` : ""}`).join(" ");
        throw new ChaosFailure(`seed ${seed}: not finished after ${options.timeoutMs ?? 360_000} ms: ${prefix.length} batches completed, ${consumed}/${produced} records consumed, latest ${statuses}\n${tail.slice(-40).join("\n")}`);
      }
      await sleep(250);
    }
    await producing;
    await stopChildren();

    // ---- the oracle and the comparison ----
    const problems: string[] = [];
    const n = prefix.length;
    const zero = prefix[0]!.zeroTime ?? prefix[0]!.time - interval;
    prefix.forEach((b, k) => { if (b.time !== zero + (k + 1) * interval) problems.push(`batch ${k} has time ${b.time}, expected ${zero + (k + 1) * interval}: a batch was skipped`); });
    const source = env.engine.sources.get("kinesis") as KinesisSource;
    const decoder = new TextDecoder();
    const inputs: string[][] = [];
    for (const b of prefix) {
      const lines: string[] = [];
      for (const blocks of Object.values(b.blocks)) {
        for (const block of blocks as KinesisBlock[]) for (const r of await source.read(block)) lines.push(decoder.decode(r.data));
      }
      inputs.push(lines);
    }
    // Every record in exactly one batch.
    const seenInput = new Map<string, number>();
    for (const l of inputs.flat()) { const id = l.split(" ")[0]!; seenInput.set(id, (seenInput.get(id) ?? 0) + 1); }
    const ids = corpus.map((l) => l.split(" ")[0]!);
    const inputLost = ids.filter((id) => !seenInput.has(id));
    const inputDup = [...seenInput].filter(([id, c]) => c > 1 || !ids.includes(id)).map(([id]) => id);
    if (inputLost.length) problems.push(`${inputLost.length} record(s) in no batch's blocks: ${inputLost.slice(0, 5).join(", ")}`);
    if (inputDup.length) problems.push(`${inputDup.length} record(s) in the blocks of two batches: ${inputDup.slice(0, 5).join(", ")}`);

    const oracle = await runBatches<ChaosElement>({
      batchInterval: Milliseconds(interval), inputs: [inputs], numBatches: n, engine: "memory", inputPartitions: 2,
      pipeline: (lines) => chaosPipeline(lines, interval).out,
    });
    const outputs = await readOutputs(env.engine.clients.doc, env.config.tables.meta, app);
    if (oracle.length !== n) problems.push(`the oracle produced ${oracle.length} outputs for ${n} batches`);
    let compared = 0;
    for (let k = 0; k < n; k++) {
      const time = prefix[k]!.time;
      const got = outputs.get(time);
      const want = canonical(oracle[k] ?? []);
      if (!got) { problems.push(`batch ${time}: no output recorded`); continue; }
      compared++;
      const diff = diffOutputs(want, got);
      if (diff) problems.push(`batch ${time} (#${k}): output differs from the oracle: ${diff}`);
    }

    // The final state, read from the state store, against the corpus.
    const last = prefix[n - 1]!.time;
    const stateOf = async (op: string) => {
      const m = new Map<string, number>();
      for (let p = 0; p < 2; p++) for (const e of await env.engine.state.scan(op, p, last)) m.set(String(e.key), Number(e.value));
      return m;
    };
    const totals = await stateOf("totals");
    const idState = await stateOf("ids");
    const expected = new Map<string, number>();
    for (const l of corpus) for (const w of l.split(" ").slice(1)) expected.set(w, (expected.get(w) ?? 0) + 1);
    const lost = ids.filter((id) => !idState.has(id)).length;
    const duplicated = [...idState].filter(([id, c]) => c !== 1 || !ids.includes(id)).length;
    const totalsDiff = diffMaps(expected, totals);
    if (totalsDiff) problems.push(`final word counts differ from the corpus: ${totalsDiff}`);
    const oracleLast = new Map((oracle[n - 1] ?? []).filter((e) => e[0] === "t").map((e) => [e[1], e[2]] as [string, number]));
    const oracleDiff = diffMaps(oracleLast, totals);
    if (oracleDiff) problems.push(`final word counts differ from the oracle's: ${oracleDiff}`);
    if (lost) problems.push(`${lost} record id(s) missing from the state`);
    if (duplicated) {
      problems.push(`${duplicated} record id(s) counted more than once (or unknown)`);
      // Diagnostics: where the first duplicated ids were read, their stored versions, and the batches after the last compared.
      const dups = [...idState].filter(([id, c]) => c !== 1 || !ids.includes(id)).slice(0, 3);
      for (const [id, c] of dups) {
        const k = inputs.findIndex((lines) => lines.some((l) => l.split(" ")[0] === id));
        const items = await queryAll(env.engine.clients.doc, env.config.tables.state, `${app}#ids#0`).then(async (a) => [...a, ...(await queryAll(env.engine.clients.doc, env.config.tables.state, `${app}#ids#1`))]);
        const item = items.find((i) => String(i.k).includes(id));
        problems.push(`id ${id}: count ${c}, read in batch #${k} (${prefix[k]?.time}); stored item ${JSON.stringify(item)}`);
      }
      const after = (await env.engine.batchLog.listBatches({ fromTime: last + 1 })).slice(0, 6);
      problems.push(`batches after the last compared (${last}): ${after.map((b) => `${b.time}:${b.status}:${b.inputRecords ?? "?"}`).join(" ")}`);
    }
    const stateMatches = !totalsDiff && !oracleDiff && lost === 0 && duplicated === 0;

    const total = [...faults.values()].reduce((a, b) => a + b, 0);
    const faultsByKind = Object.fromEntries([...faults].sort());
    const line = `chaos: seed ${seed}, ${n} batches, ${total} faults injected, ${corpus.length} records, ${lost + inputLost.length} lost, ${duplicated + inputDup.length} duplicated, ${problems.length === 0 ? "state matches oracle" : "STATE DIFFERS FROM ORACLE"}`;
    const result: ChaosResult = {
      seed, batches: n, faults: total, faultsByKind, records: corpus.length, lost: lost + inputLost.length, duplicated: duplicated + inputDup.length,
      stateMatches: stateMatches && problems.length === 0, outputsCompared: compared, processesKilled: killed, durationMs: Date.now() - started, line,
    };
    if (problems.length) throw new ChaosFailure(`${line}\n${problems.slice(0, 20).map((p) => `  - ${p}`).join("\n")}`, result);
    return result;
  } finally {
    await stopChildren();
    await env.engine.close?.();
    if (own) await own.stop();
  }
}

/**
 * Records a completed batch took: counted by the coordinator for sequence-number blocks, or by the
 * first stage that read them for time-bounded blocks (batches on a wall clock).
 */
function recordsIn(b: BatchRecord): number {
  return b.inputRecords ?? 0;
}

/** PutRecords, resending the entries Kinesis reports as failed. */
async function putAll(kinesis: KinesisClient, stream: string, lines: string[]): Promise<void> {
  let pending = lines;
  for (let attempt = 0; pending.length; attempt++) {
    if (attempt > 0) await sleep(Math.min(1000, 50 * 2 ** attempt));
    const res = await kinesis.send(new PutRecordsCommand({
      StreamName: stream, Records: pending.map((l) => ({ Data: Buffer.from(l), PartitionKey: l.split(" ")[0]! })),
    }));
    pending = pending.filter((_, i) => res.Records?.[i]?.ErrorCode);
    if (attempt > 20) throw new Error(`PutRecords to ${stream} keeps failing`);
  }
}

function diffOutputs(want: ChaosElement[], got: ChaosElement[]): string | undefined {
  const key = (e: ChaosElement) => `${e[0]}:${e[1]}`;
  const w = new Map(want.map((e) => [key(e), e[2]]));
  const g = new Map(got.map((e) => [key(e), e[2]]));
  const out: string[] = [];
  for (const [k, v] of w) if (g.get(k) !== v) out.push(`${k} expected ${v}, got ${g.get(k) ?? "nothing"}`);
  for (const [k, v] of g) if (!w.has(k)) out.push(`${k} unexpected ${v}`);
  if (want.length !== got.length && out.length === 0) out.push(`expected ${want.length} elements, got ${got.length}`);
  return out.length ? `${out.length} difference(s): ${out.slice(0, 6).join("; ")}` : undefined;
}

function diffMaps(want: Map<string, number>, got: Map<string, number>): string | undefined {
  const out: string[] = [];
  for (const [k, v] of want) if (got.get(k) !== v) out.push(`${k} expected ${v}, got ${got.get(k) ?? "nothing"}`);
  for (const [k, v] of got) if (!want.has(k)) out.push(`${k} unexpected ${v}`);
  return out.length ? `${out.length} difference(s): ${out.slice(0, 6).join("; ")}` : undefined;
}
