/**
 * Where the in-memory engine's time goes: V8's CPU profile (the one
 * `node --cpu-prof` writes), taken through the inspector around one run of
 * the Sparkless contender only, summed by file and by function (self time),
 * with the garbage collector apart.
 */
import { Session } from "node:inspector/promises";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecutionOptions } from "../../lib/scheduler/job-generator.js";
import { sparklessWordCount } from "./memory.js";
import { batchesOf, generateLines } from "./workload.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  readonly where: string;
  readonly ms: number;
  readonly share: number;
}
export interface ProfileSummary {
  readonly records: number;
  readonly execution: string;
  readonly totalMs: number;
  readonly garbageCollectorMs: number;
  readonly byFile: ProfileRow[];
  readonly byFunction: ProfileRow[];
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function fileOf(url: string): string {
  if (!url) return "(V8 and native)";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const rel = relative(ROOT, path);
  return rel.startsWith("node_modules") ? `node_modules/${rel.split("/")[1]}` : rel.startsWith("..") ? path : rel;
}

function top(m: Map<string, number>, total: number, n: number): ProfileRow[] {
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([where, us]) => ({ where, ms: Math.round(us / 1000), share: us / total }));
}

/** Profiles one run of the engine over `records` records. */
export async function profileEngine(records: number, batchSize: number, execution: ExecutionOptions["mode"]): Promise<ProfileSummary> {
  const batches = batchesOf(generateLines({ records, seed: 42 }), batchSize);
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 500 });
    await session.post("Profiler.start");
    await sparklessWordCount(batches, execution);
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: CpuProfile };
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    // The profiler's own Profiler.stop (node:inspector's post, serializing the profile) is not the engine's.
    const profilerOwn = new Set<number>();
    const mark = (n: ProfileNode, inside: boolean): void => {
      const own = inside || n.callFrame.url.startsWith("node:inspector");
      if (own) profilerOwn.add(n.id);
      for (const c of n.children ?? []) mark(byId.get(c)!, own);
    };
    mark(profile.nodes[0]!, false);
    const byFile = new Map<string, number>();
    const byFunction = new Map<string, number>();
    let total = 0;
    let gc = 0;
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      const f = byId.get(id)!.callFrame;
      if (profilerOwn.has(id)) return;
      total += us;
      if (f.functionName === "(garbage collector)") {
        gc += us;
        return;
      }
      if (f.functionName === "(idle)" || f.functionName === "(program)" || f.functionName === "(root)") return;
      const file = fileOf(f.url);
      byFile.set(file, (byFile.get(file) ?? 0) + us);
      const fn = `${f.functionName || "(anonymous)"} (${file})`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    });
    return {
      records,
      execution: execution ?? "auto",
      totalMs: Math.round(total / 1000),
      garbageCollectorMs: Math.round(gc / 1000),
      byFile: top(byFile, total, 8),
      byFunction: top(byFunction, total, 12),
    };
  } finally {
    await session.post("Profiler.disable").catch(() => undefined);
    session.disconnect();
  }
}
