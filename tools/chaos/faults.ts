/**
 * Fault plans for the chaos suite. Nothing in lib/ calls this: faults are
 * injected from outside the core, by decorators around the engine's
 * interfaces (decorators.ts) and by the chaos app's own functions (app.ts),
 * which call `faultPoint(name)` where a crash or a delay matters (before and
 * after a batch record, between a checkpoint's pages, in the middle of a
 * batch, after a claim...). It is a no-op unless a plan is installed, in
 * process (`installFaults`) or through the SPARKLESS_FAULTS environment
 * variable of a chaos process: JSON `{ "seed": 7, "points": { "coordinator.mid-batch": { "p": 0.2, "action": "kill" } } }`.
 *
 * Actions: "kill" ends the process at once (SIGKILL: no cleanup, as a
 * Lambda timeout or an OOM would); "throw" fails the operation; "delay"
 * sleeps `ms` (to let a visibility timeout expire under a slow worker).
 */
export type FaultAction = { action: "kill" } | { action: "throw" } | { action: "delay"; ms: number };
export interface FaultRule {
  p: number;
  action: FaultAction["action"];
  ms?: number;
  max?: number;
}
export interface FaultPlan {
  seed: number;
  points: Record<string, FaultRule>;
}

/** Every point the chaos processes pass, by role. */
export const FAULT_POINTS = [
  "coordinator.batchLog.createBatch.before",
  "coordinator.batchLog.createBatch.after",
  "coordinator.mid-batch",
  "coordinator.checkpoints.writePages.after",
  "coordinator.checkpoints.commit.before",
  "coordinator.checkpoints.commit.after",
  "coordinator.tasks.send.after",
  "worker.claims.claim.after",
  "worker.mid-task",
  "worker.mid-action",
  "worker.results.send.before",
  "worker.results.send.after",
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

export function faultsEnabled(): boolean {
  return plan !== undefined;
}

/** The rule that fires at `point` now, if one does. */
function firing(point: string): FaultRule | undefined {
  const rule = plan?.points[point];
  if (!rule) return undefined;
  if ((fired[point] ?? 0) >= (rule.max ?? Infinity)) return undefined;
  if (random() >= rule.p) return undefined;
  fired[point] = (fired[point] ?? 0) + 1;
  onFire?.(point, rule.action);
  return rule;
}

function kill(point: string): never {
  process.stderr.write(`[fault] ${point}: kill ${process.pid}\n`);
  process.kill(process.pid, "SIGKILL");
  throw new Error("unreachable: the process was killed");
}

export async function faultPoint(point: string): Promise<void> {
  const rule = firing(point);
  if (!rule) return;
  switch (rule.action) {
    case "kill":
      kill(point);
      return;
    case "throw":
      throw new Error(`injected fault at ${point}`);
    case "delay":
      await new Promise((r) => setTimeout(r, rule.ms ?? 1000));
      return;
  }
}

/** For points inside synchronous user functions: kills and throws only (a delay needs await). */
export function faultPointSync(point: string): void {
  const rule = firing(point);
  if (rule?.action === "kill") kill(point);
  if (rule?.action === "throw") throw new Error(`injected fault at ${point}`);
}
