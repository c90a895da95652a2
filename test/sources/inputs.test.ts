// What an app reads, as the runtimes that create its resources see it (lib/app/inputs.ts): every
// input's (source, name) from the graph's input specs, once each, in creation order; in-memory inputs
// declare none.
import { describe, expect, it } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { inputsOf, kinesisStreamsOf } from "../../lib/app/inputs.js";
import { Seconds } from "../../lib/core/duration.js";
import { InvalidArgumentError } from "../../lib/core/errors.js";
import { StreamingContext } from "../../lib/streaming/context.js";
import { kinesisStreamsOf as fromLocal } from "../../lib/local/runtime.js";

describe("inputsOf", () => {
  const app = defineApp({ name: "inputs", batchInterval: Seconds(1) }, (ssc) => {
    const a = ssc.kinesisStream("clicks");
    const q = ssc.queueStream<string>([["x"]]);
    const b = ssc.kinesisStream("views", { decode: "json" });
    const again = ssc.kinesisStream("clicks", { deaggregate: false });
    ssc.union(a, q, b.map(String), again).print();
  });

  it("lists each input's source and name once, in creation order, and leaves out in-memory inputs", () => {
    expect(inputsOf(app)).toEqual([
      { source: "kinesis", name: "clicks" },
      { source: "kinesis", name: "views" },
    ]);
  });

  it("kinesisStreamsOf is derived from it, and still answers from sparkless/local", () => {
    expect(kinesisStreamsOf(app)).toEqual(["clicks", "views"]);
    expect(fromLocal).toBe(kinesisStreamsOf);
  });
});

describe("kinesisStream's switches", () => {
  it.each(["deaggregate", "readAhead"])("%s that is not a boolean is refused, naming the option and the value", (option) => {
    const ssc = new StreamingContext({ batchInterval: Seconds(1), print: () => undefined });
    const create = () => ssc.kinesisStream("clicks", { [option]: "yes" });
    expect(create).toThrow(InvalidArgumentError);
    expect(create).toThrow(`Expected \`${option}\` to be true or false, got \`"yes"\`.`);
  });
});
