/**
 * The demo app: a running word count over the Kinesis stream "words".
 * `npm start` runs it locally on embedded engines, fed with a real text;
 * `npx sparkless local examples/wordcount-app.ts` runs it for any producer.
 */
import { defineApp, Seconds } from "sparkless";

const sum = (counts: number[], total: number | undefined) => counts.reduce((a, b) => a + b, total ?? 0);

export default defineApp({ name: "wordcount", batchInterval: Seconds(2) }, (ssc) => {
  const lines = ssc.kinesisStream("words");
  lines
    .flatMap((line) => line.toLowerCase().split(/[^a-z']+/))
    .filter((word) => word.length > 0)
    .map((word) => [word, 1])
    .updateStateByKey(sum)
    .transform((rdd) => rdd.sortBy((kv) => -kv[1]))
    .print(10);
});
