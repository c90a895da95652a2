/**
 * The app's DStream graph as the dashboard draws it: every stream that an
 * output depends on, with its kind, id and parents, in creation order.
 */
import type { AppDefinition } from "../app/app.js";
import type { DStream } from "../dstream/dstream.js";
import { StreamingContext } from "../streaming/context.js";

export interface GraphNode {
  readonly id: string;
  readonly kind: string;
  /** The name given with setName, if any. */
  readonly name?: string;
  readonly parents: string[];
  /** Kinesis stream read, for input streams. */
  readonly source?: string;
  readonly output: boolean;
  readonly input: boolean;
  readonly slideMs: number;
}

export interface GraphView {
  readonly nodes: GraphNode[];
  readonly batchIntervalMs: number;
}

/** The graph of streams that outputs depend on. */
export function graphView(streams: readonly DStream<unknown>[], outputs: readonly DStream<unknown>[], batchIntervalMs: number): GraphView {
  const reach = new Set<DStream<unknown>>();
  const visit = (s: DStream<unknown>) => {
    if (reach.has(s)) return;
    reach.add(s);
    s.parents.forEach((p) => visit(p as DStream<unknown>));
  };
  outputs.forEach(visit);
  const outs = new Set(outputs);
  const nodes = streams
    .filter((s) => reach.has(s))
    .map((s): GraphNode => ({
      id: s.id,
      kind: s.kind,
      ...(s.name !== s.id ? { name: s.name } : {}),
      parents: s.parents.map((p) => p.id),
      ...(s.spec.input ? { source: s.spec.input.name } : {}),
      output: outs.has(s),
      input: s.parents.length === 0,
      slideMs: s.slideDuration.milliseconds,
    }));
  return { nodes, batchIntervalMs };
}

/** Builds the app's graph once (no engine, nothing runs) and describes it. */
export function describeApp(app: AppDefinition): GraphView {
  const ssc = new StreamingContext({ batchInterval: app.config.batchInterval, print: () => undefined });
  app.build(ssc);
  return graphView(ssc.graph.streams, ssc.graph.outputs, app.config.batchInterval.milliseconds);
}
