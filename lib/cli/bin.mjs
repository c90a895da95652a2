#!/usr/bin/env node
// The `sparkless` executable. Installed from npm, it runs the compiled CLI in dist/. In a clone of the
// repository (lib/cli/main.ts beside this file) it runs the TypeScript sources, and app modules' imports
// of "sparkless" resolve to those sources through tsconfig.json's paths, here and in the worker processes
// (they inherit TSX_TSCONFIG_PATH). Either way tsx, when installed, is registered first so that app
// modules can be TypeScript; without it, JavaScript apps run and a TypeScript one is refused with the
// command that adds tsx (lib/app/app.ts loadApp).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = existsSync(fileURLToPath(new URL("./main.ts", import.meta.url)));
if (source) process.env.TSX_TSCONFIG_PATH ??= fileURLToPath(new URL("../../tsconfig.json", import.meta.url));
let api;
try {
  api = await import("tsx/esm/api");
} catch (e) {
  if (source || e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
}
api?.register();
const cli = source ? new URL("../", import.meta.url) : new URL("../../dist/lib/", import.meta.url);
const ext = source ? "ts" : "js";
// quiet first: it filters a warning the AWS SDK prints when it loads.
await import(new URL(`local/quiet.${ext}`, cli).href);
await import(new URL(`cli/main.${ext}`, cli).href);
