/**
 * What an app reads: the inputs of its graph, each named by its source ("kinesis", "s3", ...) and
 * what it reads there (a stream's name, a path). Runtimes that create the app's resources (the
 * local runtime creates its Kinesis streams, the CDK construct declares them) ask here, so they
 * know the app only through this list and never reach into one another.
 *
 * The list comes from building the graph once, without starting anything: every input stream's
 * spec declares `input: { source, name }` (DStreamSpec.input). In-memory inputs (queueStream, the
 * test input) declare none: nothing outside the process holds them.
 */
import { StreamingContext } from "../streaming/context.js";
import type { AppDefinition } from "./app.js";

/** One input of an app: the source that serves it and what it reads there. */
export interface AppInput {
  /** The source's name, as the engine's `sources` map knows it: "kinesis", ... */
  readonly source: string;
  /** What the input reads in that source: a Kinesis stream's name, ... */
  readonly name: string;
}

/** The inputs of an app's graph in creation order, each (source, name) once. */
export function inputsOf(app: AppDefinition): AppInput[] {
  const ssc = new StreamingContext({ batchInterval: app.config.batchInterval, print: () => undefined });
  app.build(ssc);
  const seen = new Set<string>();
  const out: AppInput[] = [];
  for (const s of ssc.graph.inputs) {
    const input = s.spec.input;
    if (!input) continue;
    const key = `${input.source}\u0000${input.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ source: input.source, name: input.name });
  }
  return out;
}

/** The S3 directories an app watches (`ssc.textFileStream("s3://bucket/prefix/")`), each once. */
export function fileDirectoriesOf(app: AppDefinition): string[] {
  return inputsOf(app)
    .filter((i) => i.source === "s3files")
    .map((i) => i.name);
}

/** The Kinesis streams an app reads (the names passed to `ssc.kinesisStream`), in creation order, each once. */
export function kinesisStreamsOf(app: AppDefinition): string[] {
  return inputsOf(app)
    .filter((i) => i.source === "kinesis")
    .map((i) => i.name);
}
