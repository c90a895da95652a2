/**
 * `sparkless local APP --endpoint URL` against moto_server: one URL serving Kinesis, DynamoDB, SQS and
 * S3, exactly the shape of LocalStack's port 4566 (LocalStack itself needs Docker, which these machines
 * do not have). The real CLI (lib/cli/bin.mjs) runs test/integration/fixtures/moto-app.ts with two
 * worker processes; this file starts moto_server on a free 127.0.0.1 port, feeds the stream in four
 * waves while the app runs, stops the app with SIGINT as a user would, and checks:
 *  - input: the batch log in moto's DynamoDB counts every record once;
 *  - state: the running totals (updateStateByKey, checkpointed to moto's S3 with checkpointStore "s3")
 *    equal an independent word count, and mapWithState on the DynamoDB backend numbered each word's
 *    occurrences 1..n, each once;
 *  - where batches ran: large waves fanned out to the workers over moto's SQS, small ones ran in the
 *    coordinator; no task went to the dead-letter queue;
 *  - no batch was recorded while an earlier one was still running (the start-up stall of issue 10:
 *    batches recorded for a minute while none completed);
 *  - no process outlives the run; moto_server is stopped after the file.
 * Without moto_server on PATH, one test reports that this did not run (see test/support/moto.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureStream, prepareLocal, type LocalEnvironment } from "../../lib/local/runtime.js";
import { eventually, startCli } from "../local/cli-helpers.js";
import { motoInstalled, motoMissingTest, startMoto, type Moto } from "../support/moto.js";
import { corpusLines, putRecords, splitWords, wordCounts } from "./helpers.js";

const APP = "motowords";
const appModule = fileURLToPath(new URL("./fixtures/moto-app.ts", import.meta.url));

/** The totals of the newest batch that wrote any, and every [word, n] mapWithState emitted. */
function outputOf(dir: string): { totals: Record<string, number>; occurrences: [string, number][]; batches: number } {
  const files = readdirSync(dir);
  const times = files
    .map((f) => /^totals-(\d+)\.json$/.exec(f))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const totals = times.length
    ? (JSON.parse(readFileSync(path.join(dir, `totals-${times[times.length - 1]}.json`), "utf8")) as Record<string, number>)
    : {};
  const occurrences = files
    .filter((f) => /^occurrences-\d+\.json$/.test(f))
    .flatMap((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")) as [string, number][]);
  return { totals, occurrences, batches: times.length };
}
const wordTotal = (totals: Record<string, number>) => Object.values(totals).reduce((a, b) => a + b, 0);

describe("sparkless local --endpoint <moto_server> (one endpoint for every service, as LocalStack's 4566)", () => {
  if (!motoInstalled()) {
    motoMissingTest("test/integration/moto.test.ts (sparkless local against moto_server)");
    return;
  }
  let moto: Moto;
  let work: string;
  let env: LocalEnvironment | undefined;

  beforeAll(async () => {
    moto = await startMoto();
    work = mkdtempSync(path.join(os.tmpdir(), "sparkless-moto-"));
  }, 90_000);

  afterAll(async () => {
    await env?.stop();
    await moto?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("runs an app through the CLI: every record read once, state and output exact, large batches fanned out over SQS", async () => {
    const out = path.join(work, "out");
    // Four waves: two larger than the coordinator's in-process limit (100 records), two under it.
    const waves = [corpusLines(240, 11), corpusLines(30, 12), corpusLines(260, 13), corpusLines(40, 14)];
    const all = waves.flat();
    const expected = wordCounts(all);
    const wordsUpTo = (k: number) =>
      waves
        .slice(0, k + 1)
        .flat()
        .reduce((n, l) => n + splitWords(l).length, 0);
    // The app splits on spaces: the corpus lines are lower-case words separated by single spaces.
    expect(all.every((l) => l.split(" ").every((w) => splitWords(w).join(" ") === w))).toBe(true);

    // The stream exists before the app starts (as the CDK stack's would), with the first wave in it.
    env = await prepareLocal({ app: APP, endpoint: moto.url });
    const kinesis = env.engine.clients.kinesis;
    await ensureStream(kinesis, "moto-words", 2);
    let put = (await putRecords(kinesis, "moto-words", waves[0]!, (i) => `w0-${i}`)).length;

    const run = startCli(["local", appModule, "--endpoint", moto.url, "--workers", "2", "--shards", "2", "--batch-interval", "1s"], {
      cwd: work,
      env: { MOTO_OUT: out, MOTO_APP: APP, SPARKLESS_CONFIG: JSON.stringify({ execution: { maxInProcessRecords: 100 }, checkpointStore: "s3" }) },
    });
    try {
      for (let k = 0; k < waves.length; k++) {
        if (k > 0) put += (await putRecords(kinesis, "moto-words", waves[k]!, (i) => `w${k}-${i}`)).length;
        await eventually(
          `wave ${k + 1} in the totals (${wordsUpTo(k)} words)\nstderr:\n${run.stderr}`,
          () => {
            if (run.child.exitCode !== null) throw new Error(`sparkless local exited early (${run.child.exitCode}):\n${run.stderr}`);
            try {
              return wordTotal(outputOf(out).totals) >= wordsUpTo(k) ? true : undefined;
            } catch {
              return undefined; // nothing written yet
            }
          },
          180_000,
        );
      }
    } finally {
      run.child.kill("SIGINT");
    }
    const exit = await run.exited;
    expect(exit.code, `stderr:\n${run.stderr}`).toBe(0);
    expect(run.stderr).toMatch(/sparkless local: \d+ batches completed/);
    expect(put).toBe(all.length);

    // State: the totals are the word count of everything put, nothing more.
    const output = outputOf(out);
    expect(new Map(Object.entries(output.totals))).toEqual(expected);
    // mapWithState on DynamoDB: each occurrence of a word numbered once, 1..n.
    const numbers = new Map<string, number[]>();
    for (const [w, n] of output.occurrences) numbers.set(w, [...(numbers.get(w) ?? []), n]);
    expect(numbers.size).toBe(expected.size);
    for (const [w, count] of expected)
      expect(
        numbers.get(w)!.sort((a, b) => a - b),
        w,
      ).toEqual(Array.from({ length: count }, (_, i) => i + 1));

    // Input: the batch log in moto's DynamoDB, every record counted once, every batch completed.
    const batches = await env.engine.batchLog.listBatches();
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.filter((b) => b.status !== "completed")).toEqual([]);
    expect(batches.reduce((n, b) => n + (b.inputRecords ?? 0), 0)).toBe(all.length);
    const nonEmpty = batches.filter((b) => (b.inputRecords ?? 0) > 0);
    expect(
      nonEmpty.some((b) => b.mode === "fan-out"),
      "a wave over the in-process limit fanned out to the workers",
    ).toBe(true);
    expect(
      nonEmpty.some((b) => b.mode !== "fan-out"),
      "a small wave ran in the coordinator",
    ).toBe(true);
    // Each batch was recorded only after the one before it completed: none waited behind a stalled one.
    for (let i = 1; i < nonEmpty.length; i++) {
      expect(nonEmpty[i]!.generatedAt, `batch ${nonEmpty[i]!.time} recorded before batch ${nonEmpty[i - 1]!.time} completed`).toBeGreaterThanOrEqual(
        nonEmpty[i - 1]!.completedAt!,
      );
    }
    // The state was checkpointed: the manifest in moto's DynamoDB, the pages in its S3.
    expect(await env.engine.checkpoints.latest()).toBeDefined();
    const pages = await env.engine.clients.s3.send(new ListObjectsV2Command({ Bucket: env.config.bucket, Prefix: `${APP}/checkpoints/` }));
    expect(pages.KeyCount).toBeGreaterThan(0);
    // No task message failed its way to the dead-letter queue.
    const sqs = env.engine.clients.sqs;
    const dlq = await sqs.send(new GetQueueUrlCommand({ QueueName: `sparkless-${APP}-tasks-dlq` }));
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: dlq.QueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    expect(Number(attrs.Attributes?.ApproximateNumberOfMessages) + Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(0);

    // The worker processes ran, and none is left.
    expect(
      [...run.descendants.values()].some((args) => /worker-process/.test(args)),
      `descendants: ${[...run.descendants.values()].join(" | ")}`,
    ).toBe(true);
    const left = await eventually(
      "the run's processes to exit",
      () => {
        const l = run.leftRunning();
        return l.length === 0 ? l : undefined;
      },
      10_000,
    ).catch(() => run.leftRunning());
    expect(left).toEqual([]);
  }, 420_000);
});
