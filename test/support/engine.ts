// Test helpers over the engine interfaces: decorators that count or disturb calls (faults are
// injected from outside the core, around its storage and transport interfaces), and a driver that
// runs a context batch by batch on a manual clock.
import { ManualClock } from "../../lib/core/clock.js";
import type { EngineServices } from "../../lib/storage/interfaces.js";
import type { StreamingContext } from "../../lib/streaming/context.js";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Calls per interface and method, e.g. `counts["batchLog.createBatch"]`. */
export type CallCounts = Record<string, number>;

type Hook = (name: string, args: unknown[]) => void | Promise<void>;

/**
 * Wraps every interface of an engine so each method call is counted, and `before`/`after` hooks can
 * run around it (throw from one to inject a fault at that call).
 */
export function instrument<E extends EngineServices>(engine: E, hooks: { before?: Hook; after?: Hook } = {}): { engine: E; counts: CallCounts } {
  const counts: CallCounts = {};
  const wrap = <T extends object>(prefix: string, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const v = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof v !== "function" || typeof prop !== "string") return v;
        const name = `${prefix}.${prop}`;
        return async (...args: unknown[]) => {
          counts[name] = (counts[name] ?? 0) + 1;
          await hooks.before?.(name, args);
          const r = await (v as (...a: unknown[]) => unknown).apply(obj, args);
          await hooks.after?.(name, args);
          return r;
        };
      },
    });
  const wrapped = Object.create(Object.getPrototypeOf(engine) as object, Object.getOwnPropertyDescriptors(engine)) as E;
  for (const key of ["batchLog", "checkpoints", "state", "quarantine", "lease", "tasks", "results", "claims", "blobs"] as const) {
    const target = engine[key] as object | undefined;
    if (target) Object.defineProperty(wrapped, key, { value: wrap(key, target), enumerable: true });
  }
  return { engine: wrapped, counts };
}

/** Advances the clock batch by batch, waiting for each batch to complete. */
export async function runContext(ssc: StreamingContext, clock: ManualClock, batches: number, intervalMs = 1000, from = 1): Promise<void> {
  for (let i = from; i < from + batches; i++) {
    const done = ssc.waitForBatch(i * intervalMs);
    clock.setTime(i * intervalMs);
    await done;
  }
}
