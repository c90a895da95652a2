/**
 * The bench's app module: the workload of workload.ts over a Kinesis
 * stream, as a user would deploy it. The bench process builds it with
 * `benchApp(spec)`; worker processes load this file's default export, which
 * reads the same spec from SPARKLESS_BENCH_APP (JSON).
 *
 * Pipelines:
 * - "stateful": the README's word count (running totals and the sliding window);
 * - "stateless": each batch's word counts;
 * - "update-state", "map-with-state": the scale scenario's running count per key, over records that
 *   are keys, starting from `initialKeys` keys of state (mapWithState on the app's state backend, or
 *   on the per-key DynamoDB backend with `stateBackend: "dynamodb"` in the spec).
 *
 * Every result goes to an output that counts it (`foreachRDD` + `count`): the work is done every batch,
 * and nothing is written to the logs (`print` would be, and CloudWatch bills log bytes).
 */
import { defineApp, resolveConfig, type AppConfig, type AppDefinition } from "../../lib/app/app.js";
import { InvalidArgumentError } from "../../lib/core/errors.js";
import { StateSpec, type State } from "../../lib/dstream/map-with-state.js";
import type { DStream } from "../../lib/dstream/dstream.js";
import type { StreamingContext } from "../../lib/streaming/context.js";
import { statefulWordCount, statelessWordCount, sum } from "./workload.js";

export type BenchPipeline = "stateful" | "stateless" | "update-state" | "map-with-state";

export interface BenchAppSpec {
  /** The app's configuration (name, interval, execution, checkpoint store, ...). */
  readonly config: AppConfig;
  readonly stream: string;
  readonly pipeline: BenchPipeline;
  /** Scale pipelines: keys of state before the first batch (`key0` … `key{n-1}`, each at 0). */
  readonly initialKeys?: number;
  /** mapWithState only: keep its state on this backend (StateSpec.stateBackend). */
  readonly stateBackend?: "memory" | "dynamodb";
}

/** The scale scenario's key names. */
export const scaleKey = (i: number): string => `key${i}`;

function* initialState(n: number): Iterable<[string, number]> {
  for (let i = 0; i < n; i++) yield [scaleKey(i), 0];
}

/** A running count per key, as mapWithState: the key's new count is its mapped element. */
const countKey = (key: string, value: number | undefined, state: State<number>): [string, number] => {
  const n = (state.getOption() ?? 0) + (value ?? 0);
  state.update(n);
  return [key, n];
};

/** The bench's output: the result is computed every batch and counted, nothing more. */
const consume = <T>(s: DStream<T>): void => {
  s.foreachRDD(async (rdd) => {
    await rdd.count();
  });
};

function build(spec: BenchAppSpec, interval: AppDefinition["config"]["batchInterval"]) {
  return (ssc: StreamingContext): void => {
    const lines = ssc.kinesisStream<string>(spec.stream);
    const keys = () => lines.map((k): [string, number] => [k, 1]);
    switch (spec.pipeline) {
      case "stateful": {
        const { totals, recent } = statefulWordCount(lines, interval);
        consume(totals);
        consume(recent);
        return;
      }
      case "stateless":
        consume(statelessWordCount(lines));
        return;
      case "update-state":
        consume(keys().updateStateByKey(sum, { initialState: initialState(spec.initialKeys ?? 0) }));
        return;
      case "map-with-state": {
        let s = StateSpec.function(countKey).initialState(initialState(spec.initialKeys ?? 0));
        if (spec.stateBackend) s = s.stateBackend(spec.stateBackend);
        consume(keys().mapWithState(s));
        return;
      }
      default:
        throw new InvalidArgumentError(
          `Expected a bench pipeline of "stateful", "stateless", "update-state" or "map-with-state", got "${String(spec.pipeline)}".`,
        );
    }
  };
}

/** The app for a spec, without the module cache or the environment. */
export function benchApp(spec: BenchAppSpec): AppDefinition {
  const config = resolveConfig(spec.config);
  return { config, build: build(spec, config.batchInterval) };
}

/** The variable that carries a spec to worker processes. */
export const BENCH_APP_VARIABLE = "SPARKLESS_BENCH_APP";

function specFromEnv(): BenchAppSpec {
  const raw = process.env[BENCH_APP_VARIABLE];
  if (!raw)
    throw new InvalidArgumentError(
      `${BENCH_APP_VARIABLE} is not set: this app module is loaded by the bench's worker processes, which get it from the bench.`,
    );
  return JSON.parse(raw) as BenchAppSpec;
}

const spec = process.env[BENCH_APP_VARIABLE] ? specFromEnv() : undefined;
export default spec ? defineApp(spec.config, build(spec, resolveConfig(spec.config).batchInterval)) : undefined;
