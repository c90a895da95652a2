/**
 * Checkpoints: deltas of the keys changed since the last checkpoint with full copies now and then,
 * pages under DynamoDB's item limit, recovery equal to the state in memory, and the commit protocol
 * (pages first, the manifest last and conditionally).
 */
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, MemoryEngineServices, Seconds, StreamingContext, StateSpec, type DStream } from "../../lib/index.js";
import { LeadershipLostError } from "../../lib/checkpoint/checkpointer.js";
import { PAGE_BYTES, packPages, unpackPages } from "../../lib/checkpoint/pages.js";
import { StateMap } from "../../lib/state/state-map.js";
import type { CheckpointManifest } from "../../lib/storage/interfaces.js";
import { instrument, runContext } from "../support/engine.js";

const sum = (values: number[], state: number | undefined) => values.reduce((a, b) => a + b, state ?? 0);

afterEach(async () => {
  await StreamingContext.getActive()?.stop();
});

/** 200 keys from the first batch on; afterwards, each batch touches 3 of them. */
function batches(n: number): string[][] {
  const out: string[][] = [Array.from({ length: 200 }, (_, i) => `k${i}`)];
  for (let b = 1; b < n; b++) out.push([`k${b % 7}`, `k${(b * 13) % 200}`, `new${b}`]);
  return out;
}

function context(
  engine: MemoryEngineServices,
  clock: ManualClock,
  input: string[][],
  extra: Partial<ConstructorParameters<typeof StreamingContext>[0]> = {},
) {
  const ssc = new StreamingContext({
    batchInterval: Seconds(1),
    clock,
    engine,
    print: () => undefined,
    checkpoint: { interval: Seconds(2) },
    ...extra,
  });
  const counts = ssc
    .queueStream(input.map((b) => [...b]))
    .map((w) => [w, 1] as [string, number])
    .updateStateByKey(sum)
    .setName("counts");
  counts.foreachRDD(async () => undefined);
  return { ssc, counts };
}

async function stateOf(ssc: StreamingContext, id: string, time: number): Promise<Map<unknown, unknown>> {
  const m = new Map<unknown, unknown>();
  const g = ssc.generator!;
  for (let p = 0; p < 2; p++) for (const e of (g.cache.get(id, time, p) as StateMap).entries.values()) m.set(e.key, e.value);
  return m;
}

describe("checkpoint contents", () => {
  it("writes a full copy first, then deltas of only the changed keys", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    const { ssc } = context(engine, clock, batches(9));
    ssc.start();
    await runContext(ssc, clock, 9);
    await ssc.stop({ stopEngine: false });
    const manifests = await engine.checkpoints.between(0, Infinity);
    const chain = manifests.map((m) => m.streams.counts!).filter((e, i, all) => i === 0 || e.time !== all[i - 1]!.time);
    expect(chain[0]).toMatchObject({ time: 2000, kind: "full", entries: 201 });
    // Every 2 s of batches after it: the keys those 2 batches touched (at most 6), not the 200.
    for (const e of chain.slice(1)) {
      expect(e.kind).toBe("delta");
      expect(e.entries).toBeGreaterThan(0);
      expect(e.entries).toBeLessThanOrEqual(6);
    }
  });

  it("a chain longer than maxChain starts again from a full copy", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    const { ssc } = context(engine, clock, batches(12), { checkpoint: { interval: Seconds(1), maxChain: 3 } });
    ssc.start();
    await runContext(ssc, clock, 12);
    await ssc.stop({ stopEngine: false });
    const kinds = (await engine.checkpoints.between(0, Infinity)).map((m) => m.streams.counts!.kind);
    expect(kinds.slice(0, 9)).toEqual(["full", "delta", "delta", "delta", "full", "delta", "delta", "delta", "full"]);
  });

  it("pages stay under the 400 KB item limit, and read back whole", () => {
    const keys = Array.from({ length: 30_000 }, (_, i) => `key-${i}-${(i * 2654435761) % 1e9}`);
    const values = keys.map((_, i) => ({ n: i, tag: `v${(i * 40503) % 99991}` }));
    const pages = packPages([
      { partition: 0, keys, values, removes: ["gone"] },
      { partition: 1, items: [1, 2, 3] },
    ]);
    for (const p of pages) expect(p.length).toBeLessThanOrEqual(PAGE_BYTES);
    const sections = unpackPages(pages);
    const keyed = sections.filter((s) => s.partition === 0).flatMap((s) => ("keys" in s ? s.keys.map((k, i) => [k, s.values[i]] as const) : []));
    // Every entry with its own value, written in key order (the order carries no meaning; sorted keys compress).
    expect(new Map(keyed)).toEqual(new Map(keys.map((k, i) => [k, values[i]])));
    expect(keyed.map(([k]) => k)).toEqual([...keys].sort());
    expect(sections.flatMap((s) => ("removes" in s ? s.removes : []))).toEqual(["gone"]);
    // A plain list keeps its order.
    expect(sections.find((s) => s.partition === 1)).toEqual({ partition: 1, items: [1, 2, 3] });
  });

  it("pages written before codecs were named (raw deflate, unsorted) read back as written", () => {
    const section = { partition: 0, keys: ["b", "a", "c"], values: [2, 1, 3], removes: [] };
    const pages = packPages([section], "deflate-raw");
    expect(unpackPages(pages, "deflate-raw")).toEqual([section]);
    expect(() => unpackPages(pages, "brotli")).toThrow();
  });

  it("a word count's sorted Brotli pages are well under half the bytes of raw deflate's", () => {
    const words = Array.from({ length: 10_000 }, (_, i) => ["ka", "lo", "mi", "ne", "su", "ta"].filter((_, b) => (i >> b) & 1).join("") + (i >> 6));
    const counts = words.map((_, i) => Math.floor(100_000 / (i + 1)));
    const section = { partition: 0, keys: words, values: counts, removes: [] };
    const size = (pages: Uint8Array[]) => pages.reduce((n, p) => n + p.length, 0);
    expect(size(packPages([section], "brotli"))).toBeLessThan(0.5 * size(packPages([section], "deflate-raw")));
  });
});

describe("recovery", () => {
  it("a cold coordinator rebuilds the state from the full copy and its deltas, equal to the state in memory", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    const input = batches(9);
    const { ssc } = context(engine, clock, input);
    ssc.start();
    await runContext(ssc, clock, 8);
    const warm = await stateOf(ssc, "counts", 8000);
    await ssc.stop({ stopEngine: false });
    // A new coordinator process: its memory is empty; it reads the checkpoint chain (at 8000, taken at
    // the hand-over) and resumes with batch 9.
    const { engine: counted, counts } = instrument(engine);
    const again = await StreamingContext.getOrCreate(() => context(counted, clock, input.slice(8)).ssc);
    again.start();
    await runContext(again, clock, 1, 1000, 9);
    expect(counts["checkpoints.readPages"]).toBeGreaterThanOrEqual(2); // the full copy and at least one delta
    const cold = await stateOf(again, "counts", 9000);
    const expected = new Map(warm);
    for (const w of input[8]!) expected.set(w, ((expected.get(w) as number | undefined) ?? 0) + 1);
    expect(cold).toEqual(expected);
    await again.stop();
  });

  it("mapWithState's state and update times survive a checkpoint, so timeouts come out the same", async () => {
    const run = async (restartAt: number | undefined) => {
      const engine = new MemoryEngineServices();
      const clock = new ManualClock(0);
      const input = [["a", "b"], ["a"], [], ["a"], [], [], ["a"], []];
      const out: unknown[][] = [];
      const make = (from: number) => {
        const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => undefined, checkpoint: { interval: Seconds(2) } });
        const spec = StateSpec.function((k: string, v: number | undefined, s) => {
          if (s.isTimingOut()) return `${k} timed out`;
          s.update(((s.getOption() as number | undefined) ?? 0) + (v ?? 0));
          return `${k}=${s.get() as number}`;
        }).timeout(Seconds(3));
        (ssc.queueStream(input.slice(from).map((b) => [...b])).map((w) => [w, 1] as [string, number]) as DStream<[string, number]>)
          .mapWithState(spec)
          .checkpoint(Seconds(2))
          .setName("m")
          .foreachRDD(async (rdd, t) => {
            out[t.milliseconds / 1000 - 1] = (await rdd.collect()).sort();
          });
        return ssc;
      };
      let ssc = make(0);
      ssc.start();
      await runContext(ssc, clock, restartAt ?? input.length);
      if (restartAt !== undefined) {
        await ssc.stop({ stopEngine: false });
        ssc = await StreamingContext.getOrCreate(() => make(restartAt));
        ssc.start();
        await runContext(ssc, clock, input.length - restartAt, 1000, restartAt + 1);
      }
      await ssc.stop();
      return out;
    };
    const straight = await run(undefined);
    expect(straight[5]).toEqual(["b timed out"]);
    expect(await run(3)).toEqual(straight);
    expect(await run(5)).toEqual(straight);
  });
});

describe("the commit protocol", () => {
  it("a coordinator stopped between two pages leaves no manifest; recovery starts from the previous checkpoint", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    const input = batches(8);
    let failAt: number | undefined;
    const { engine: faulty } = instrument(engine, {
      before: (name, args) => {
        if (name === "checkpoints.writePages" && (args[0] as string).includes(`/${failAt}/`)) throw new Error("killed mid-checkpoint");
      },
    });
    const { ssc } = context(faulty, clock, input);
    ssc.start();
    await runContext(ssc, clock, 5);
    failAt = 6000;
    await runContext(ssc, clock, 1, 1000, 6);
    const err = await ssc.awaitTerminationOrTimeout(5000).catch((e: unknown) => e);
    expect(String(err)).toMatch(/killed mid-checkpoint/);
    await ssc.stop({ stopEngine: false });
    expect((await engine.checkpoints.latest())!.time).toBe(4000);
    // A new coordinator recovers from 4000, runs batch 6 again (its record is in the log), then goes on.
    const again = await StreamingContext.getOrCreate(() => context(engine, clock, input.slice(6)).ssc);
    again.start();
    await runContext(again, clock, 2, 1000, 7);
    const expected = new Map<string, number>();
    for (const b of input) for (const w of b) expected.set(w, (expected.get(w) ?? 0) + 1);
    expect(await stateOf(again, "counts", 8000)).toEqual(expected);
    await again.stop();
  });

  it("of two coordinators, only one commits a checkpoint: the other stops", async () => {
    const engine = new MemoryEngineServices();
    const manifest: CheckpointManifest = { time: 2000, writer: "someone-else", createdAt: 0, streams: {} };
    await engine.checkpoints.commit(manifest);
    const clock = new ManualClock(0);
    const { ssc } = context(engine, clock, batches(3));
    ssc.start();
    await runContext(ssc, clock, 2);
    const err = await ssc.awaitTerminationOrTimeout(5000).catch((e: unknown) => e);
    await ssc.stop();
    expect(err).toBeInstanceOf(LeadershipLostError);
    expect(String(err)).toMatch(/Another coordinator committed a checkpoint after batch 2000/);
  });
});
