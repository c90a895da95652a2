/**
 * What a chaos child process (worker or coordinator) sets up before it runs:
 * its fault plan (SPARKLESS_FAULTS, with a listener that reports every fault
 * on stderr as `[chaos-fault] ...` for the harness to count), AWS clients with
 * the SDK fault middleware, and a task queue that sends some messages twice.
 */
import "../local/quiet.js";
import { createAwsEngine, createClients, engineConfigFromEnv, type AwsEngine, type AwsEngineConfig } from "../aws/engine.js";
import type { TaskQueue } from "../storage/interfaces.js";
import { installFaults, seeded, type FaultPlan } from "../testing/faults.js";
import { sdkFaults, type SdkFaultKind } from "./sdk-faults.js";
import { setSinkClient } from "./sink.js";

/** The part of a child's plan that is not a fault point (SPARKLESS_CHAOS_CHILD, JSON). */
export interface ChildChaos {
  /** Seeds this process's SDK faults and duplicates. */
  seed: number;
  /** Probability of a fault per AWS request. */
  sdkP: number;
  sdkKinds?: SdkFaultKind[];
  /** Probability that a task message this process sends is sent a second time. */
  duplicateP: number;
}

export const CHAOS_PREFIX = "[chaos-fault]";

export function report(what: string): void {
  // stderr is a pipe: the write is synchronous, so a report made just before a SIGKILL is not lost.
  process.stderr.write(`${CHAOS_PREFIX} ${what}\n`);
}

/** A queue that sends each message a second time with probability `p`: SQS's at-least-once delivery at its worst. */
export function duplicatingQueue(base: TaskQueue, p: number, random: () => number): TaskQueue {
  return {
    async send(tasks) {
      await base.send(tasks);
      const again = tasks.filter(() => random() < p);
      if (again.length === 0) return;
      for (const t of again) report(`sqs duplicate ${t.batchTime}/${t.stage}/${t.partition}`);
      await base.send(again);
    },
    receive: (options) => base.receive(options),
    ack: (receipt) => base.ack(receipt),
    ackMany: (receipts) => base.ackMany(receipts),
    release: (receipt, delayMs) => base.release(receipt, delayMs),
  };
}

export function chaosChild(): { engine: AwsEngine; config: AwsEngineConfig } {
  const plan = JSON.parse(process.env.SPARKLESS_CHAOS_CHILD ?? '{"seed":1,"sdkP":0,"duplicateP":0}') as ChildChaos;
  const faults = process.env.SPARKLESS_FAULTS ? (JSON.parse(process.env.SPARKLESS_FAULTS) as FaultPlan) : undefined;
  // faults.ts installed the plan from the environment already; install it again with a listener.
  installFaults(faults, (point, action) => report(`${point} ${action}`));
  const config = engineConfigFromEnv();
  const clients = createClients(config);
  const random = seeded(plan.seed ^ 0x5bd1e995);
  const onFault = (service: string, kind: string, operation: string) => report(`sdk ${service} ${kind} ${operation}`);
  if (plan.sdkP > 0) {
    clients.dynamodb.middlewareStack.use(sdkFaults({ service: "dynamodb", p: plan.sdkP, random, kinds: plan.sdkKinds, onFault }));
    clients.sqs.middlewareStack.use(sdkFaults({ service: "sqs", p: plan.sdkP, random, kinds: plan.sdkKinds, onFault }));
    clients.kinesis.middlewareStack.use(sdkFaults({ service: "kinesis", p: plan.sdkP, random, kinds: plan.sdkKinds, onFault }));
  }
  const base = createAwsEngine(config, clients);
  const engine: AwsEngine = { ...base, queue: plan.duplicateP > 0 ? duplicatingQueue(base.queue, plan.duplicateP, random) : base.queue };
  setSinkClient(clients.doc, config.tables.meta, config.app);
  return { engine, config };
}
