import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // The operator suites again, through the distributed path on the embedded engines:
        // every result must equal the in-memory engine's.
        test: {
          name: "local-engine",
          include: ["test/spark/**/*.test.ts", "test/operators/**/*.test.ts"],
          env: { SPARKLESS_TEST_ENGINE: "local" },
          setupFiles: ["test/support/local-engine.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
