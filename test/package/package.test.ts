// The package as a user gets it: `npm pack` here, and the tarball installed into an empty project in the
// temp folder, outside the repository (`npm init -y`: CommonJS, no "type": "module"). There plain Node
// imports `sparkless` and runs runBatches, `npx sparkless local app.ts` runs a user's app once the
// documented command has added the local engines, and a CDK program synthesizes SparklessApp from
// `sparkless/cdk`. npm installs from its cache where it can (--prefer-offline) and asks the registry for
// the rest. The README's figures (tarball size, production dependencies) are checked against the real ones.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_INSTALL_COMMAND } from "../../lib/local/optional.js";

const root = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const ours = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
/** The version of a package installed here, which the lock file pins: what the user project installs too. */
const installed = (name: string): string =>
  (JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;

/** The environment of a user's shell: none of npm's per-script variables, vitest's, or this repository's tsx setup. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|TSX_|SPARKLESS_|NODE_OPTIONS$|INIT_CWD$)/i.test(k) && !/^npm_config_(cache|registry|userconfig)$/i.test(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    CI: "true",
    CDK_DISABLE_CLI_TELEMETRY: "true",
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
    npm_config_audit: "false",
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        if (error && typeof error.code !== "number") reject(new Error(`${command} ${args.join(" ")} failed (${error.message})\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}
async function ok(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const r = await run(command, args, cwd, timeoutMs);
  if (r.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.code}\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
  return r;
}
const npmInstall = (cwd: string, args: string[]) => ok("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...args], cwd, 240_000);

/** Every installed package of a project (node_modules/.package-lock.json), the project itself excluded. */
function installedPackages(project: string): string[] {
  const lock = JSON.parse(readFileSync(path.join(project, "node_modules", ".package-lock.json"), "utf8")) as { packages: Record<string, unknown> };
  return Object.keys(lock.packages)
    .filter((k) => k.startsWith("node_modules/"))
    .map((k) => k.slice(k.lastIndexOf("node_modules/") + 13));
}

function filesUnder(dir: string, match: (name: string) => boolean, found: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(p, match, found);
    else if (match(entry.name)) found.push(p);
  }
  return found;
}

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

describe("the npm package, installed outside the repository", () => {
  let work = "";
  let project = "";
  let packed: Packed;
  /** The packages a plain `npm install sparkless` brought, sparkless excluded. */
  let productionPackages: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "sparkless-package-"));
    // prepack builds dist/ first; with --json npm prints the pack report on stdout, the build's output on stderr.
    const pack = await ok("npm", ["pack", "--json", "--pack-destination", work], root, 300_000);
    packed = (JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as Packed[])[0]!;
    project = path.join(work, "project");
    mkdirSync(project);
    await ok("npm", ["init", "-y"], project, 60_000);
    await npmInstall(project, [path.join(work, packed.filename)]);
    productionPackages = installedPackages(project).filter((p) => p !== "sparkless");
    writeFileSync(path.join(project, "words.txt"), "to be or not to be\nthat is the question\n".repeat(20));
    writeFileSync(
      path.join(project, "app.ts"),
      [
        `import { defineApp, Seconds } from "sparkless";`,
        `const sum = (counts: number[], total: number | undefined): number => counts.reduce((a, b) => a + b, total ?? 0);`,
        `export default defineApp({ name: "packaged", batchInterval: Seconds(1) }, (ssc) => {`,
        `  ssc.kinesisStream("words").flatMap((l: string) => l.split(" ")).map((w: string) => [w, 1] as [string, number]).updateStateByKey(sum).print(3);`,
        `});`,
      ].join("\n"),
    );
  }, 420_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("holds the compiled library, construct and handlers with their types, and no tests, benchmarks or chaos harness", () => {
    const files = packed.files.map((f) => f.path);
    for (const entry of [
      "dist/lib/index.js",
      "dist/lib/index.d.ts",
      "dist/cdk/index.js",
      "dist/cdk/index.d.ts",
      "dist/lib/producer/index.js",
      "dist/lib/local/index.js",
      "dist/lib/cli/main.js",
      "dist/functions/coordinator/index.js",
      "dist/functions/worker/index.js",
      "lib/cli/bin.mjs",
    ]) {
      expect(files, entry).toContain(entry);
    }
    const unexpected = files.filter((f) => !(f.startsWith("dist/") || ["package.json", "README.md", "LICENSE", "lib/cli/bin.mjs"].includes(f)));
    expect(unexpected).toEqual([]);
    expect(files.filter((f) => /(^|\/)(test|tests|tools|bench|chaos|examples|docs)\//.test(f) || /\.test\.|(?<!\.d)\.ts$/.test(f))).toEqual([]);
  });

  it("installs its production dependencies only: no emulator, no .jar, no tsx, no CDK, no esbuild", () => {
    for (const absent of Object.keys(ours.peerDependencies)) expect(productionPackages, absent).not.toContain(absent);
    expect(filesUnder(path.join(project, "node_modules"), (n) => n.endsWith(".jar"))).toEqual([]);
    for (const dep of Object.keys(ours.dependencies)) expect(productionPackages, dep).toContain(dep);
  });

  it("is described in the README with its real size and dependency count", () => {
    const readme = readFileSync(path.join(root, "README.md"), "utf8");
    const size = /a (\d+) kB tarball/.exec(readme);
    const deps = /(\d+) production dependencies, (\d+) packages in all/.exec(readme);
    const measured =
      `tarball ${(packed.size / 1000).toFixed(0)} kB (${(packed.unpackedSize / 1e6).toFixed(1)} MB unpacked); ` +
      `${Object.keys(ours.dependencies).length} production dependencies, ${productionPackages.length} packages in all`;
    console.log(`the package: ${measured}`);
    expect(size, `README.md should say "a N kB tarball": ${measured}`).not.toBeNull();
    expect(deps, `README.md should say "N production dependencies, M packages in all": ${measured}`).not.toBeNull();
    // Within 20% for the size, which grows with the code; exact for the direct dependencies; within 10% in all.
    expect(Math.abs(Number(size![1]) * 1000 - packed.size) / packed.size, measured).toBeLessThan(0.2);
    expect(Number(deps![1]), measured).toBe(Object.keys(ours.dependencies).length);
    expect(Math.abs(Number(deps![2]) - productionPackages.length) / productionPackages.length, measured).toBeLessThan(0.1);
  });

  it("is imported by plain Node, from an ES module and from CommonJS, and runs runBatches", async () => {
    writeFileSync(
      path.join(project, "esm.mjs"),
      [
        `import { runBatches, Seconds, SparklessError } from "sparkless";`,
        `import { feed } from "sparkless/producer";`,
        `import { dynamoDbSink, kinesisSink } from "sparkless/sinks";`,
        `const out = await runBatches({ batchInterval: Seconds(1), inputs: [[["a b a"], ["b"]]],`,
        `  pipeline: (lines) => lines.flatMap((l) => l.split(" ")).map((w) => [w, 1]).reduceByKey((x, y) => x + y) });`,
        `console.log(JSON.stringify({ out, feed: typeof feed, error: typeof SparklessError, sinks: [typeof dynamoDbSink, typeof kinesisSink] }));`,
      ].join("\n"),
    );
    writeFileSync(
      path.join(project, "cjs.js"),
      [
        `import("sparkless").then(async ({ runBatches, Seconds }) => {`,
        `  const out = await runBatches({ batchInterval: Seconds(1), inputs: [[["x y"], ["z"]]], pipeline: (lines) => lines.map((l) => l.length) });`,
        `  console.log(JSON.stringify(out));`,
        `});`,
      ].join("\n"),
    );
    const esm = JSON.parse((await ok("node", ["esm.mjs"], project, 60_000)).stdout) as {
      out: [string, number][][];
      feed: string;
      error: string;
      sinks: string[];
    };
    expect(esm.out.map((batch) => [...batch].sort())).toEqual([
      [
        ["a", 2],
        ["b", 1],
      ],
      [["b", 1]],
    ]);
    expect(esm).toMatchObject({ feed: "function", error: "function", sinks: ["function", "function"] });
    expect(JSON.parse((await ok("node", ["cjs.js"], project, 60_000)).stdout)).toEqual([[3], [1]]);
  }, 120_000);

  it("`sparkless local` without the engines names them and the one command that adds them", async () => {
    const r = await run("npx", ["--no-install", "sparkless", "local", "app.ts", "--batches", "1"], project, 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Add them with \`${LOCAL_INSTALL_COMMAND}\``);
    // tsx only where Node does not strip TypeScript types itself (before Node 22.18).
    const typescript = !!(process.features as { typescript?: unknown }).typescript;
    for (const p of [...(typescript ? [] : ["tsx"]), "kinesalite", "amplify-dynamodb-simulator", "fauxqs"]) expect(r.stderr).toContain(`"${p}"`);
    if (typescript) expect(r.stderr).not.toContain(`"tsx"`);
  }, 120_000);

  describe.concurrent("with the local engines and the CDK libraries added", () => {
    beforeAll(async () => {
      // The documented command, and the CDK libraries at the versions this repository pins.
      expect(LOCAL_INSTALL_COMMAND).toMatch(/^npm install --save-dev /);
      await npmInstall(project, [
        ...LOCAL_INSTALL_COMMAND.split(" ").slice(2),
        `aws-cdk-lib@${installed("aws-cdk-lib")}`,
        `constructs@${installed("constructs")}`,
        `esbuild@${installed("esbuild")}`,
      ]);
    }, 300_000);

    it("loadApp takes .ts, .mts, .js, .mjs and .cjs app modules here, each on the one Sparkless, with and without tsx preloaded", async () => {
      const names = { "ts-app.ts": true, "mts-app.mts": true, "js-app.js": false, "mjs-app.mjs": false };
      for (const [file, typed] of Object.entries(names)) {
        writeFileSync(
          path.join(project, file),
          [
            `import { defineApp, Seconds } from "sparkless";`,
            `export default defineApp({ name: "${file.replace(".", "-")}", batchInterval: Seconds(1) }, (ssc) => {`,
            `  ssc.kinesisStream("words").map(${typed ? "(l: string): number" : "(l)"} => l.length).print();`,
            `});`,
          ].join("\n"),
        );
      }
      writeFileSync(
        path.join(project, "cjs-app.cjs"),
        [
          `const { defineApp, Seconds } = require("sparkless");`,
          `module.exports = defineApp({ name: "cjs-app-cjs", batchInterval: Seconds(1) }, (ssc) => { ssc.kinesisStream("words").print(); });`,
        ].join("\n"),
      );
      const files = [...Object.keys(names), "cjs-app.cjs"];
      writeFileSync(
        path.join(project, "load.mjs"),
        [
          `import { Duration, loadApp } from "sparkless";`,
          `const out = [];`,
          `for (const f of ${JSON.stringify(files)}) { const app = await loadApp(f); out.push([app.config.name, app.config.batchInterval instanceof Duration]); }`,
          `console.log(JSON.stringify(out));`,
        ].join("\n"),
      );
      const expected = files.map((f) => [f.replace(".", "-"), true]);
      // As a CDK program runs it (plain node: loadApp registers tsx for the .ts ones), and as the CLI's worker processes do.
      expect(JSON.parse((await ok("node", ["load.mjs"], project, 60_000)).stdout)).toEqual(expected);
      expect(JSON.parse((await ok("node", ["--import", "tsx/esm", "load.mjs"], project, 60_000)).stdout)).toEqual(expected);
    }, 150_000);

    it("`npx sparkless local app.ts --batches 2` runs a TypeScript app in a CommonJS package", async () => {
      const r = await run(
        "npx",
        ["--no-install", "sparkless", "local", "app.ts", "--batches", "2", "--workers", "1", "--feed", "words.txt", "--log-level", "warn"],
        project,
        150_000,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("sparkless local: 2 batches completed");
      expect(r.stdout.match(/^Time: \d+ ms$/gm)?.length).toBe(2);
    }, 180_000);

    it("a CDK program imports SparklessApp from sparkless/cdk and synthesizes, the handlers bundled", async () => {
      writeFileSync(
        path.join(project, "synth.mjs"),
        [
          `import { App, Stack } from "aws-cdk-lib";`,
          `import { readAppModule, SparklessApp } from "sparkless/cdk";`,
          `const app = new App({ outdir: "cdk.out" });`,
          `const info = await readAppModule("app.ts");`,
          `new SparklessApp(new Stack(app, "Packaged"), "App", { entry: info.entry, appName: info.appName, batchInterval: info.batchInterval,`,
          `  inputStreams: info.kinesisStreams.map((streamName) => ({ streamName })) });`,
          `const template = app.synth().getStackByName("Packaged").template;`,
          `const functions = Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Function");`,
          `console.log(JSON.stringify({ functions: functions.length, streams: info.kinesisStreams }));`,
        ].join("\n"),
      );
      const r = await ok("node", ["synth.mjs"], project, 170_000);
      expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toEqual({ functions: 2, streams: ["words"] });
      const bundles = filesUnder(path.join(project, "cdk.out"), (n) => n === "index.mjs");
      expect(bundles).toHaveLength(2);
      for (const b of bundles) expect(readFileSync(b, "utf8")).toContain("packaged");
    }, 180_000);
  });
});
