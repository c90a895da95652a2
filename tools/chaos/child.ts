/**
 * What a chaos child process (worker or coordinator) sets up before it runs:
 * its fault plan (SPARKLESS_FAULTS, with a listener that reports every fault
 * on stderr as `[chaos-fault] ...` for the harness to count), AWS clients with
 * the SDK fault middleware and arrival timestamps stamped out of order, an
 * engine whose interfaces pass fault points, and a task queue that sends some
 * messages twice.
 */
import "../../lib/local/quiet.js";
import { createAwsEngine, createClients, engineConfigFromEnv, type AwsEngine, type AwsEngineConfig } from "../../lib/aws/engine.js";
import { duplicatingQueue, faultyEngine } from "./decorators.js";
import { installFaults, seeded, type FaultPlan } from "./faults.js";
import { sdkFaults, type SdkFaultKind } from "./sdk-faults.js";
import { setSinkClient } from "./sink.js";

/** The part of a child's plan that is not a fault point (SPARKLESS_CHAOS_CHILD, JSON). */
export interface ChildChaos {
  /** Seeds this process's SDK faults, duplicates and timestamps. */
  seed: number;
  /** Probability of a fault per AWS request. */
  sdkP: number;
  sdkKinds?: SdkFaultKind[];
  /** Probability that a task message this process sends is sent a second time. */
  duplicateP: number;
}

export const CHAOS_PREFIX = "[chaos-fault]";
export const INFO_PREFIX = "[chaos-info]";

export function report(what: string): void {
  // stderr is a pipe: the write is synchronous, so a report made just before a SIGKILL is not lost.
  process.stderr.write(`${CHAOS_PREFIX} ${what}\n`);
}

export function chaosChild(role: "coordinator" | "worker"): { engine: AwsEngine; config: AwsEngineConfig } {
  const plan = JSON.parse(process.env.SPARKLESS_CHAOS_CHILD ?? '{"seed":1,"sdkP":0,"duplicateP":0}') as ChildChaos;
  const faults = process.env.SPARKLESS_FAULTS ? (JSON.parse(process.env.SPARKLESS_FAULTS) as FaultPlan) : undefined;
  installFaults(faults, (point, action) => report(`${point} ${action}`));
  const config = engineConfigFromEnv();
  const clients = createClients(config);
  const random = seeded(plan.seed ^ 0x5bd1e995);
  const onFault = (service: string, kind: string, operation: string) => report(`sdk ${service} ${kind} ${operation}`);
  if (plan.sdkP > 0) {
    clients.dynamodb.middlewareStack.use(sdkFaults({ service: "dynamodb", p: plan.sdkP, random, kinds: plan.sdkKinds, onFault }));
    clients.sqs.middlewareStack.use(sdkFaults({ service: "sqs", p: plan.sdkP, random, kinds: plan.sdkKinds, onFault }));
    clients.kinesis.middlewareStack.use(sdkFaults({ service: "kinesis", p: plan.sdkP, random, kinds: plan.sdkKinds, onFault }));
    clients.s3.middlewareStack.use(sdkFaults({ service: "s3", p: plan.sdkP, random, kinds: ["reset-before", "reset-after"], onFault }));
  }
  // Kinesis does not promise arrival timestamps in order along a shard: stamp them at random, so
  // nothing can depend on them.
  clients.kinesis.middlewareStack.add(
    (next) => async (args) => {
      const r = await next(args);
      const out = r.output as { Records?: { ApproximateArrivalTimestamp?: Date }[] } | undefined;
      for (const rec of out?.Records ?? []) rec.ApproximateArrivalTimestamp = new Date(Date.now() - Math.floor(random() * 3_600_000));
      return r;
    },
    { step: "initialize", name: "chaosArrivalTimes" },
  );
  const base = createAwsEngine(config, clients);
  let engine = faultyEngine(base, role, (call) => {
    if (call === "checkpoints.readPages") process.stderr.write(`${INFO_PREFIX} checkpoint read\n`);
  });
  if (plan.duplicateP > 0) engine = { ...engine, tasks: duplicatingQueue(engine.tasks, plan.duplicateP, random, report) };
  setSinkClient(clients.doc, config.tables.meta, config.app);
  return { engine, config };
}
