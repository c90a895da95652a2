// loadApp in a Node process of its own, as the CLI, its workers and the construct's probe run it: app
// modules in .ts, .mts, .js and .mjs, in a folder whose package.json has no "type" (CommonJS), each
// sharing the one copy of Sparkless that loads it. Such a .ts module used to fail with "Cannot require()
// ES Module … in a cycle" (lib/app/load.ts).
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../../lib/app/app.js";
import { InvalidArgumentError } from "../../lib/core/errors.js";
import { tsxImportArgs } from "../../lib/local/optional.js";

const root = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

const appSource = (name: string, typed: boolean) =>
  [
    `import { defineApp, Seconds } from "sparkless";`,
    typed ? `import { double } from "./helper.js";` : `const double = (n) => n * 2;`,
    `export default defineApp({ name: "${name}", batchInterval: Seconds(1) }, (ssc) => {`,
    `  ssc.kinesisStream("words").map(${typed ? "(l: string)" : "(l)"} => double(l.length)).print();`,
    `});`,
  ].join("\n");

describe("loadApp in a CommonJS package", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "sparkless-load-"));
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "user-project", version: "1.0.0" }));
    writeFileSync(path.join(dir, "helper.ts"), "export const double = (n: number): number => n * 2;\n");
    // Names of their own: tsx tries x.ts for an import of x.js (TypeScript's convention), and x.mts for x.mjs.
    writeFileSync(path.join(dir, "ts-app.ts"), appSource("app-ts", true));
    writeFileSync(path.join(dir, "mts-app.mts"), appSource("app-mts", true));
    writeFileSync(path.join(dir, "js-app.js"), appSource("app-js", false));
    writeFileSync(path.join(dir, "mjs-app.mjs"), appSource("app-mjs", false));
    mkdirSync(path.join(dir, "empty"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads .ts, .mts, .js and .mjs modules, each built on this process's Sparkless", async () => {
    // "sparkless" resolves to this repository's sources through tsconfig.json's paths, as under `sparkless local` here.
    const script = [
      `const { loadApp } = await import(${JSON.stringify(pathToFileURL(path.join(root, "lib/app/app.ts")).href)});`,
      `const { Duration } = await import(${JSON.stringify(pathToFileURL(path.join(root, "lib/index.ts")).href)});`,
      `const out = [];`,
      `for (const f of ["ts-app.ts", "mts-app.mts", "js-app.js", "mjs-app.mjs"]) {`,
      `  const app = await loadApp(f);`,
      `  out.push([app.config.name, app.config.batchInterval instanceof Duration]);`,
      `}`,
      `console.log(JSON.stringify(out));`,
    ].join("\n");
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [...tsxImportArgs(), "--input-type=module", "-e", script],
        {
          cwd: dir,
          env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, "tsconfig.json") },
          timeout: 90_000,
        },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
    });
    expect(JSON.parse(stdout)).toEqual([
      ["app-ts", true],
      ["app-mts", true],
      ["app-js", true],
      ["app-mjs", true],
    ]);
  }, 120_000);

  it("says so when the module does not exist", async () => {
    await expect(loadApp(path.join(dir, "empty", "nope.ts"))).rejects.toThrow(InvalidArgumentError);
    await expect(loadApp(path.join(dir, "empty", "nope.ts"))).rejects.toThrow(/does not exist \(resolved to .*nope\.ts\)/);
  });
});
