/**
 * Section 1 of the bench in a process of its own: the in-memory contenders,
 * the breakdown and the CPU profile. The bench process then runs only the
 * coordinator of section 2, as a coordinator Lambda's process runs only it:
 * its measured CPU carries none of section 1's heap (millions of records'
 * garbage) or of the code V8 optimized for it.
 */
import "../../lib/local/quiet.js";
import { serveBench } from "./children.js";
import { runBreakdown, runMemoryScenario, SPARKLESS } from "./memory.js";
import { profileEngine } from "./profile.js";
import type { BenchPlan } from "./main.js";
import type { BenchReport } from "./report.js";

const log = (line: string): void => void process.stderr.write(line + "\n");

serveBench(
  {
    run: async (m) => {
      const plan = m.plan as BenchPlan["memory"];
      const always = m.diagnose === true;
      const memory: BenchReport["memory"] = await runMemoryScenario({ ...plan, log });
      const first = memory.sizes[0]!;
      // Where the time goes, when the engine misses its target (and always in --quick, so the smoke test runs it).
      if (always || (first.contenders.find((c) => c.name === SPARKLESS)?.ratioToHandLoop ?? 0) < 0.7) {
        log("  where the time goes: the pipeline's parts alone, and a CPU profile");
        memory.breakdown = await runBreakdown(plan.diagnosisRecords, plan.batchSize, log);
        memory.profile = await profileEngine(plan.diagnosisRecords, plan.batchSize, "in-process");
      }
      return memory;
    },
  },
  { pid: process.pid },
  () => undefined,
);
