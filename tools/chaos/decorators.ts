/**
 * Faults around the engine's interfaces: every method of the batch log,
 * checkpoint store, queues, claims and blobs passes the fault points
 * `<role>.<interface>.<method>.before` and `.after`, where the process's fault
 * plan may kill it (SIGKILL: no cleanup, as a Lambda timeout or an OOM),
 * stall it or make the call fail. The core knows nothing of this: the
 * decorated engine is simply the engine it is given.
 */
import type { AwsEngine } from "../../lib/aws/engine.js";
import type { TaskQueue } from "../../lib/storage/interfaces.js";
import { faultPoint } from "./faults.js";

const WRAPPED = ["batchLog", "checkpoints", "state", "quarantine", "lease", "tasks", "results", "claims", "blobs"] as const;

export function faultyEngine(engine: AwsEngine, role: "coordinator" | "worker", onCall?: (name: string) => void): AwsEngine {
  const wrap = <T extends object>(iface: string, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const v = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof v !== "function" || typeof prop !== "string") return v;
        const point = `${role}.${iface}.${prop}`;
        return async (...args: unknown[]) => {
          onCall?.(`${iface}.${prop}`);
          await faultPoint(`${point}.before`);
          const r = await (v as (...a: unknown[]) => unknown).apply(obj, args);
          await faultPoint(`${point}.after`);
          return r;
        };
      },
    });
  const out: Record<string, unknown> = { ...engine };
  for (const k of WRAPPED) if (engine[k]) out[k] = wrap(k, engine[k] as object);
  return out as unknown as AwsEngine;
}

/** A queue that sends each message a second time with probability `p`: SQS's at-least-once delivery at its worst. */
export function duplicatingQueue(base: TaskQueue, p: number, random: () => number, report: (what: string) => void): TaskQueue {
  return {
    async send(tasks) {
      await base.send(tasks);
      const again = tasks.filter(() => random() < p);
      if (again.length === 0) return;
      for (const t of again) report(`sqs duplicate ${t.batchTime}/${t.stage}/${t.partition}`);
      await base.send(again);
    },
    receive: (options) => base.receive(options),
    ackMany: (receipts) => base.ackMany(receipts),
    release: (receipt, delayMs) => base.release(receipt, delayMs),
  };
}
