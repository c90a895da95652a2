import { defineConfig } from "vitest/config";

/** The Spark and operator suites: run again by the projects below through other paths, with identical results. */
const OPERATOR_SUITES = ["test/spark/**/*.test.ts", "test/operators/**/*.test.ts"];

/** "sparkless" imports (examples, fixtures) resolve to the sources through tsconfig.json's paths, not to dist/. */
const resolve = { tsconfigPaths: true };

export default defineConfig({
  resolve,
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        resolve,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Through the distributed path on the embedded engines, every batch fanned out: Kinesis, the
        // coordinator, SQS task and result messages, the Lambda worker handler, DynamoDB and S3.
        resolve,
        test: {
          name: "local-engine",
          include: OPERATOR_SUITES,
          env: { SPARKLESS_TEST_ENGINE: "local", SPARKLESS_TEST_EXECUTION: "fan-out" },
          setupFiles: ["test/support/local-engine.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Every batch on a coordinator that starts cold: state from the latest checkpoint (every 2 s of
        // batch time) and the batches after it, the batch before run again with the same output. Left
        // out: the tests that count a user function's calls, since recovering calls it again for the
        // batches it replays, as Spark's recomputation from lineage does.
        resolve,
        test: {
          name: "recovery",
          include: OPERATOR_SUITES,
          env: { SPARKLESS_TEST_RECOVERY: "restart", SPARKLESS_TEST_CHECKPOINT_MS: "2000" },
          testNamePattern:
            /^(?!.*(calls the update function|not called again|get called with no values|passed to the mapping function|one mapping call per record)).*$/,
        },
      },
    ],
  },
});
