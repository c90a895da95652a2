/**
 * The chaos run: a stateful word count, a windowed count and a per-record-id
 * count (tools/chaos/pipeline.ts) on the embedded engines, with a coordinator
 * process and worker processes that are killed, stalled and disturbed at
 * points a seed chooses, while a producer writes a known corpus. Batches of a
 * few records run in the coordinator; larger ones fan out to the workers.
 * Afterwards every batch's output and the final state are compared with a
 * fault-free oracle.
 *
 * Faults, all seeded:
 * - the coordinator SIGKILLed before and after a batch's record, in the middle of a batch it runs
 *   in process, between a checkpoint's pages (after one stream's pages, before the next), before and
 *   after a checkpoint's manifest, after sending a fanned-out stage's tasks; and SIGKILLed from
 *   outside at random moments. The replacement starts cold: it recovers the state from the latest
 *   checkpoint and the batch records after it, and runs the batch that was running again;
 * - workers SIGKILLed after claiming a task, in the middle of a task, before and after sending its
 *   result (a claim no longer renewed: the coordinator sends the task again within seconds);
 * - slow workers: a task stalls after its claim, past the claim's lease, so the coordinator sends
 *   it again and two workers run it; the first then finishes late;
 * - task messages sent twice;
 * - engine calls failing with ProvisionedThroughputExceededException, ThrottlingException, HTTP 500
 *   and connection resets before or after the engine handled them (an SDK middleware);
 * - every record's arrival timestamp stamped at random, out of order (blocks never depend on it).
 *
 * Killed processes are started again by a supervisor, as Lambda starts a new environment.
 *
 * The oracle: each completed batch's input is read back from Kinesis (the batch records' sequence-
 * number ranges; a run of empty batches is one record) and the same pipeline runs on the in-memory
 * engine. Every batch's recorded output must equal the oracle's; the final state (the last batch's
 * output) must equal the corpus's word counts; every record id must have been counted exactly once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { PutRecordsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { engineConfigToEnv } from "../../lib/aws/engine.js";
import type { KinesisBlock, KinesisSource } from "../../lib/aws/kinesis.js";
import { Milliseconds } from "../../lib/core/duration.js";
import type { DStream } from "../../lib/dstream/dstream.js";
import { startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { ensureStream, prepareLocal } from "../../lib/local/runtime.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import { runBatches } from "../../lib/testing/run-batches.js";
import { expandEmptyRuns } from "../../lib/ui/batches.js";
import { seeded, type FaultPlan, type FaultRule } from "./faults.js";
import type { ChildChaos } from "./child.js";
import { CHAOS_PREFIX, INFO_PREFIX } from "./child.js";
import { canonical, chaosPipeline, type ChaosElement } from "./pipeline.js";
import { readOutputs, readPartitions } from "./sink.js";

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
  /** Coordinator processes killed at most (at fault points, and from outside). @default 6 */
  coordinatorKills?: number;
  /** Workers that stall past their claim's lease (half of the worker processes get a delay point). @default true */
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
  /** Coordinator processes that started cold and read the state from a checkpoint. */
  readonly checkpointRecoveries: number;
  readonly durationMs: number;
  /** The summary line. */
  readonly line: string;
}

export class ChaosFailure extends Error {
  override readonly name = "ChaosFailure";
  constructor(
    message: string,
    readonly result?: Partial<ChaosResult>,
  ) {
    super(message);
  }
}

const WORKER_KILLS: Record<string, number> = {
  "worker.claims.claim.after": 0.05,
  "worker.mid-task": 0.01,
  "worker.mid-action": 0.3,
  "worker.results.send.before": 0.05,
  "worker.results.send.after": 0.05,
};
const COORDINATOR_KILLS: Record<string, number> = {
  "coordinator.batchLog.createBatch.before": 0.05,
  "coordinator.batchLog.createBatch.after": 0.05,
  "coordinator.mid-batch": 0.005,
  "coordinator.checkpoints.writePages.after": 0.2,
  "coordinator.checkpoints.commit.before": 0.2,
  "coordinator.checkpoints.commit.after": 0.2,
  "coordinator.tasks.send.after": 0.1,
};
/** Where a worker may stall past its claim's lease (the coordinator then sends the task again). */
const DELAY_POINTS = ["worker.claims.claim.after"];

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

interface Child {
  role: "worker" | "coordinator";
  slot: number;
  spawnIndex: number;
  proc: ChildProcess;
  plan: FaultPlan;
}

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
  const budget = { worker: options.workerKills ?? 6, coordinator: options.coordinatorKills ?? 6 };
  const spawns = { worker: 0, coordinator: 0 };
  const offset = { worker: Math.floor(rng() * 4), coordinator: Math.floor(rng() * 7) };
  let checkpointRecoveries = 0;

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
      // Longer than the claim's lease (1.5 s), sometimes by several batches: the coordinator sends the
      // task again, and the stalled attempt finishes late, its result ignored.
      if (!points[point]) points[point] = { p: 0.1, action: "delay", ms: Math.round(2000 + rng() * 4000), max: 1 };
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
    SPARKLESS_CLAIM_LEASE_MS: "1500",
  });

  const start = (role: "worker" | "coordinator", slot: number): void => {
    if (stopping) return;
    const spawnIndex = spawns[role]++;
    const plan = planFor(role, spawnIndex);
    const chaos: ChildChaos = { seed: plan.seed, sdkP: options.sdkFaultP ?? 0.01, duplicateP: options.duplicateP ?? 0.1 };
    const proc = spawn(process.execPath, ["--import", tsxLoader(), here(role === "worker" ? "./worker-process.ts" : "./coordinator-process.ts")], {
      env: { ...baseEnv, SPARKLESS_FAULTS: JSON.stringify(plan), SPARKLESS_CHAOS_CHILD: JSON.stringify(chaos), SPARKLESS_CHAOS_ROLE: role },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const child: Child = { role, slot, spawnIndex, proc, plan };
    children.add(child);
    const name = `${role}#${slot}.${spawnIndex} (${proc.pid})`;
    let readCheckpoint = false;
    const onLine = (line: string) => {
      if (line.startsWith(INFO_PREFIX)) {
        if (role === "coordinator" && !readCheckpoint) {
          readCheckpoint = true;
          checkpointRecoveries++;
        }
        return;
      }
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
      if (signal === "SIGKILL") {
        killed++;
        budget[role]--;
      } else log(`  seed ${seed}: ${name} exited (code ${code}, signal ${signal}); restarting`);
      // Lambda starts a new environment for the next invocation or delivery.
      setTimeout(() => start(role, slot), 100);
    });
  };

  const stopChildren = async () => {
    stopping = true;
    await Promise.all(
      [...children].map(
        ({ proc }) =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              proc.kill("SIGKILL");
            }, 3000);
            proc.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            proc.kill("SIGTERM");
          }),
      ),
    );
  };

  const corpus = chaosCorpus(seed, nRecords);
  let produced = 0;
  try {
    await ensureStream(kinesis, stream, 2);
    start("coordinator", 0);
    for (let w = 0; w < (options.workers ?? 3); w++) start("worker", w);

    // Kills from outside: the coordinator SIGKILLed at seeded moments, wherever it is (waiting, in the
    // middle of a batch it runs itself, writing a checkpoint). Its replacement starts cold.
    const outsideKills = Math.min(3, Math.max(0, budget.coordinator - 2));
    const killer = (async () => {
      for (let k = 0; k < outsideKills && !stopping; k++) {
        await sleep(3000 + rng() * 6000);
        const c = [...children].find((x) => x.role === "coordinator" && x.proc.exitCode === null);
        if (c && !stopping) {
          faults.set("kill coordinator (outside)", (faults.get("kill coordinator (outside)") ?? 0) + 1);
          log(`  seed ${seed}: coordinator#${c.slot}.${c.spawnIndex} (${c.proc.pid}) killed from outside`);
          c.proc.kill("SIGKILL");
        }
      }
    })();

    // The producer: the corpus in small PutRecords calls of varying size, spread over the first ~60% of
    // the batches, so some batches are empty, some run in the coordinator and some fan out.
    const produceMs = Math.max(interval, batches * interval * 0.6);
    const tickMs = 100;
    const perTick = Math.max(1, Math.ceil(nRecords / (produceMs / tickMs)));
    const producing = (async () => {
      for (let i = 0; i < corpus.length;) {
        const n = Math.max(1, Math.round(perTick * 2 * rng()));
        await putAll(kinesis, stream, corpus.slice(i, i + n));
        i += n;
        produced = Math.min(corpus.length, i);
        await sleep(tickMs * (rng() < 0.1 ? 8 : 1));
      }
    })();

    // Wait until every record is in a completed batch, at least `batches` batches completed, and none is running.
    const deadline = started + (options.timeoutMs ?? 360_000);
    let prefix: BatchRecord[] = [];
    let producerDone = false;
    let lastProgress = Date.now();
    void producing.then(
      () => {
        producerDone = true;
      },
      () => undefined,
    );
    for (;;) {
      const all = expandEmptyRuns(await env.engine.batchLog.listBatches(), interval);
      const failed = all.find((b) => b.status === "failed");
      if (failed) throw new ChaosFailure(`seed ${seed}: batch ${failed.time} failed: ${failed.error}\n${tail.slice(-40).join("\n")}`);
      const firstOpen = all.findIndex((b) => b.status !== "completed");
      prefix = firstOpen < 0 ? all : all.slice(0, firstOpen);
      const consumed = prefix.reduce((n, b) => n + (b.inputRecords ?? 0), 0);
      if (Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        log(
          `  seed ${seed}: ${prefix.length} batches completed (${all.length} recorded), ${consumed}/${produced} records consumed, ${[...faults.values()].reduce((a, b) => a + b, 0)} faults`,
        );
      }
      // Blocks are fixed by sequence number, so a completed batch's count is exact: done when the
      // completed batches hold every produced record. A record in no batch would make this wait, and
      // time out; the oracle below then names it.
      if (producerDone && consumed >= produced && prefix.length >= batches && !all.some((b) => b.status === "running")) break;
      if (Date.now() > deadline) {
        const statuses = all
          .slice(-8)
          .map((b) => `${b.time}:${b.status}`)
          .join(" ");
        throw new ChaosFailure(
          `seed ${seed}: not finished after ${options.timeoutMs ?? 360_000} ms: ${prefix.length} batches completed, ${consumed}/${produced} records consumed, latest ${statuses}\n${tail.slice(-40).join("\n")}`,
        );
      }
      await sleep(250);
    }
    await producing;
    stopping = true;
    await killer;
    await stopChildren();

    // ---- the oracle and the comparison ----
    const problems: string[] = [];
    const n = prefix.length;
    const zero = (await env.engine.batchLog.getApp())!.zeroTime;
    prefix.forEach((b, k) => {
      if (b.time !== zero + (k + 1) * interval)
        problems.push(`batch ${k} has time ${b.time}, expected ${zero + (k + 1) * interval}: a batch was skipped`);
    });
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
    for (const l of inputs.flat()) {
      const id = l.split(" ")[0]!;
      seenInput.set(id, (seenInput.get(id) ?? 0) + 1);
    }
    const ids = corpus.map((l) => l.split(" ")[0]!);
    const inputLost = ids.filter((id) => !seenInput.has(id));
    const inputDup = [...seenInput].filter(([id, c]) => c > 1 || !ids.includes(id)).map(([id]) => id);
    if (inputLost.length) problems.push(`${inputLost.length} record(s) in no batch's blocks: ${inputLost.slice(0, 5).join(", ")}`);
    if (inputDup.length) problems.push(`${inputDup.length} record(s) in the blocks of two batches: ${inputDup.slice(0, 5).join(", ")}`);

    // The fault-free oracle: the same pipeline over the batches' recorded input, in memory.
    const oracleOf = <T>(pick: (p: ReturnType<typeof chaosPipeline>) => DStream<T>) =>
      runBatches<T>({
        batchInterval: Milliseconds(interval),
        inputs: [inputs],
        numBatches: n,
        engine: "memory",
        inputPartitions: 2,
        pipeline: (lines) => pick(chaosPipeline(lines, interval)),
      });
    const oracle = await oracleOf((p) => p.out);
    const outputs = await readOutputs(env.engine.clients.doc, env.config.tables.meta, app);
    if (oracle.length !== n) problems.push(`the oracle produced ${oracle.length} outputs for ${n} batches`);
    let compared = 0;
    for (let k = 0; k < n; k++) {
      const time = prefix[k]!.time;
      const got = outputs.get(time);
      const want = canonical(oracle[k] ?? []);
      if (!got) {
        problems.push(`batch ${time}: no output recorded`);
        continue;
      }
      compared++;
      const diff = diffOutputs(want, got);
      if (diff) problems.push(`batch ${time} (#${k}): output differs from the oracle: ${diff}`);
    }

    // Each batch's word counts, written partition by partition by a per-partition action (on the workers
    // when the batch fanned out): whole, and equal to the oracle's.
    const oracleCounts = await oracleOf((p) => p.counts);
    const written = await readPartitions(env.engine.clients.doc, env.config.tables.meta, app);
    for (let k = 0; k < n; k++) {
      const time = prefix[k]!.time;
      const diff = diffMaps(new Map(oracleCounts[k] ?? []), written.get(time) ?? new Map());
      if (diff) problems.push(`batch ${time} (#${k}): the word counts its partitions wrote differ from the oracle's: ${diff}`);
    }

    // The final state: the last batch's output holds every key's total and every id's count.
    const last = prefix[n - 1]!.time;
    const finalOut = outputs.get(last) ?? [];
    const stateOf = (tag: "t" | "i") => new Map(finalOut.filter((e) => e[0] === tag).map((e) => [e[1], e[2]] as [string, number]));
    const totals = stateOf("t");
    const idState = stateOf("i");
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
    if (duplicated) problems.push(`${duplicated} record id(s) counted more than once (or unknown)`);
    const stateMatches = !totalsDiff && !oracleDiff && lost === 0 && duplicated === 0;

    const total = [...faults.values()].reduce((a, b) => a + b, 0);
    const faultsByKind = Object.fromEntries([...faults].sort());
    const fanned = prefix.filter((b) => b.mode === "fan-out").length;
    const line = `chaos: seed ${seed}, ${n} batches (${fanned} fanned out), ${total} faults injected, ${checkpointRecoveries} cold starts from a checkpoint, ${corpus.length} records, ${lost + inputLost.length} lost, ${duplicated + inputDup.length} duplicated, ${problems.length === 0 ? "state matches oracle" : "STATE DIFFERS FROM ORACLE"}`;
    const result: ChaosResult = {
      seed,
      batches: n,
      faults: total,
      faultsByKind,
      records: corpus.length,
      lost: lost + inputLost.length,
      duplicated: duplicated + inputDup.length,
      stateMatches: stateMatches && problems.length === 0,
      outputsCompared: compared,
      processesKilled: killed,
      checkpointRecoveries,
      durationMs: Date.now() - started,
      line,
    };
    if (problems.length)
      throw new ChaosFailure(
        `${line}\n${problems
          .slice(0, 20)
          .map((p) => `  - ${p}`)
          .join("\n")}`,
        result,
      );
    return result;
  } finally {
    await stopChildren();
    await env.engine.close?.();
    if (own) await own.stop();
  }
}

/** PutRecords, resending the entries Kinesis reports as failed. */
async function putAll(kinesis: KinesisClient, stream: string, lines: string[]): Promise<void> {
  let pending = lines;
  for (let attempt = 0; pending.length; attempt++) {
    if (attempt > 0) await sleep(Math.min(1000, 50 * 2 ** attempt));
    const res = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: pending.map((l) => ({ Data: Buffer.from(l), PartitionKey: l.split(" ")[0]! })),
      }),
    );
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
