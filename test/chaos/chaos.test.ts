// The chaos suite's CI form: 3 seeds × 30 batches of a stateful word count and a windowed count on
// the embedded engines, with worker and coordinator processes killed at seeded points, stalled past
// the visibility timeout, task messages sent twice, and engine calls throttled, failed with HTTP 500
// and reset (tools/chaos/run.ts). Every batch's output and the final state must equal the fault-free
// oracle's. `npm run chaos -- --seeds 20` runs the longer form.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { runChaos } from "../../tools/chaos/run.js";

const SEEDS = Number(process.env.SPARKLESS_CHAOS_SEEDS ?? 3);
const BATCHES = Number(process.env.SPARKLESS_CHAOS_BATCHES ?? 30);

let engines: EmbeddedEngines;
beforeAll(async () => {
  engines = await sharedEngines();
}, 120_000);
afterAll(stopSharedEngines, 60_000);

describe("chaos: kills, stalls, duplicates and engine faults change nothing", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}: ${BATCHES} batches, every output and the final state equal the oracle's`, async () => {
      const r = await runChaos({ seed, batches: BATCHES, engines });
      process.stdout.write(`${r.line}\n`);
      expect(r.batches).toBeGreaterThanOrEqual(BATCHES);
      expect(r.outputsCompared).toBe(r.batches);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.stateMatches).toBe(true);
      expect(r.faults).toBeGreaterThan(0);
      expect(r.processesKilled).toBeGreaterThan(0);
      expect(r.line).toMatch(
        /^chaos: seed \d+, \d+ batches \(\d+ fanned out\), \d+ faults injected, \d+ cold starts from a checkpoint, \d+ records, 0 lost, 0 duplicated, state matches oracle$/,
      );
    }, 420_000);
  }
});
