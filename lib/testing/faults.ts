/**
 * Fault injection for the chaos suite. The runtime calls `faultPoint(name)`
 * at the moments where a crash or a delay matters (after reading a block,
 * between a state write and the queue delete, between two task sends...).
 * It is a no-op unless a fault plan is installed, either in process
 * (`installFaults`) or through the SPARKLESS_FAULTS environment variable of
 * a worker or coordinator process: JSON `{ "seed": 7, "points": { "worker.after-state-write": { "p": 0.2, "action": "kill" } } }`.
 *
 * Actions: "kill" ends the process at once (SIGKILL: no cleanup, as a
 * Lambda timeout or an OOM would); "throw" fails the operation; "delay"
 * sleeps `ms` (to let a visibility timeout expire under a slow worker).
 */
export type FaultAction = { action: "kill" } | { action: "throw" } | { action: "delay"; ms: number };
export interface FaultRule { p: number; action: FaultAction["action"]; ms?: number; max?: number }
export interface FaultPlan { seed: number; points: Record<string, FaultRule> }

export const FAULT_POINTS = [
  "worker.after-read",
  "worker.mid-shuffle-write",
  "worker.mid-state-write",
  "worker.after-complete",
  "worker.before-ack",
  "coordinator.before-batch-record",
  "coordinator.after-batch-record",
  "coordinator.before-task-send",
  "coordinator.between-task-sends",
] as const;

let plan: FaultPlan | undefined;
let random: () => number = Math.random;
const fired: Record<string, number> = {};
let onFire: ((point: string, action: string) => void) | undefined;

/** A small seeded generator (mulberry32), so a seed replays the same faults. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function installFaults(p: FaultPlan | undefined, listener?: (point: string, action: string) => void): void {
  plan = p;
  random = p ? seeded(p.seed) : Math.random;
  onFire = listener;
  for (const k of Object.keys(fired)) delete fired[k];
}

if (typeof process !== "undefined" && process.env.SPARKLESS_FAULTS) {
  installFaults(JSON.parse(process.env.SPARKLESS_FAULTS) as FaultPlan);
}

export function faultsEnabled(): boolean { return plan !== undefined; }

export async function faultPoint(point: string): Promise<void> {
  const rule = plan?.points[point];
  if (!rule) return;
  if ((fired[point] ?? 0) >= (rule.max ?? Infinity)) return;
  if (random() >= rule.p) return;
  fired[point] = (fired[point] ?? 0) + 1;
  onFire?.(point, rule.action);
  switch (rule.action) {
    case "kill":
      process.stderr.write(`[fault] ${point}: kill ${process.pid}\n`);
      process.kill(process.pid, "SIGKILL");
      await new Promise(() => undefined);
      return;
    case "throw":
      throw new Error(`injected fault at ${point}`);
    case "delay":
      await new Promise((r) => setTimeout(r, rule.ms ?? 1000));
      return;
  }
}
