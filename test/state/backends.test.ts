/**
 * The two state backends give the same results: "memory" (the default: state in the coordinator's
 * memory, checkpointed) and "dynamodb" (one item per key, versioned by batch time), chosen per
 * operator or for the whole app; and what each costs, counted at the interfaces.
 */
import { describe, expect, it } from "vitest";
import { MemoryEngineServices, Seconds, StateSpec, runBatches, type DStream, type State } from "../../lib/index.js";
import { instrument } from "../support/engine.js";

const sum = (values: number[], state: number | undefined) => values.reduce((a, b) => a + b, state ?? 0);
const sorted = (out: unknown[][]) => out.map((b) => [...b].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)));
const input = [["a b a"], ["b c"], [], ["a"], [], [], ["c c d"], []];
const pairs = (lines: DStream<string>) => lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]);
const session = (k: string, v: number | undefined, s: State<number>) => {
  if (s.isTimingOut()) return `${k}: timed out at ${s.get()}`;
  s.update((s.getOption() ?? 0) + (v ?? 0));
  return `${k}: ${s.get()}`;
};

describe("state backends", () => {
  it("updateStateByKey gives the same state on both backends, per operator", async () => {
    const run = (backend: "memory" | "dynamodb") =>
      runBatches({
        batchInterval: Seconds(1),
        inputs: [input],
        pipeline: (l) => pairs(l).updateStateByKey(sum, { stateBackend: backend }),
      });
    expect(sorted(await run("dynamodb"))).toEqual(sorted(await run("memory")));
  });

  it("mapWithState with a timeout gives the same elements on both backends", async () => {
    const run = (backend: "memory" | "dynamodb") =>
      runBatches({
        batchInterval: Seconds(1),
        inputs: [input],
        pipeline: (l) =>
          pairs(l)
            .mapWithState(StateSpec.function(session).timeout(Seconds(2)).stateBackend(backend))
            .checkpoint(Seconds(1)),
      });
    const memory = await run("memory");
    expect(memory.flat()).toContain("b: timed out at 2");
    expect(sorted(await run("dynamodb"))).toEqual(sorted(memory));
  });

  it("the app's default backend applies to operations that do not choose", async () => {
    const { StreamingContext, ManualClock } = await import("../../lib/index.js");
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock(0), stateBackend: "dynamodb", print: () => undefined });
    const s = pairs(ssc.queueStream([["a"]])).updateStateByKey(sum);
    expect(s.spec.durableState).toBe(true);
    const m = pairs(ssc.queueStream([["a"]])).updateStateByKey(sum, { stateBackend: "memory" });
    expect(m.spec.durableState).toBeUndefined();
    expect(() => pairs(ssc.queueStream([["a"]])).updateStateByKey(sum, { stateBackend: "redis" as never })).toThrow(
      /"memory" or "dynamodb", got `"redis"`/,
    );
    await ssc.stop();
  });

  it("memory: a batch reads and writes no state item; dynamodb: reads the state and writes the changed keys", async () => {
    const counted = async (backend: "memory" | "dynamodb") => {
      const { engine, counts } = instrument(new MemoryEngineServices());
      await runBatches({
        batchInterval: Seconds(1),
        inputs: [input],
        pipeline: (l) => pairs(l).updateStateByKey(sum, { stateBackend: backend }),
        engine,
      });
      return counts;
    };
    const memory = await counted("memory");
    expect(Object.keys(memory).filter((k) => k.startsWith("state."))).toEqual([]);
    const dynamo = await counted("dynamodb");
    expect(dynamo["state.commit"]).toBeGreaterThan(0);
    expect(dynamo["state.scan"]).toBeGreaterThan(0);
  });
});
