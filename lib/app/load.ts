/**
 * Imports an app module file, whatever its extension (.ts, .mts, .js, .mjs) and whatever the `type` of
 * the package around it, for the CLI, its worker processes and the CDK construct's synth-time probe.
 *
 * Sparkless is an ES module package, and an app module must share its one copy of Sparkless: a
 * `Duration` or `StreamingContext` from a second copy fails every `instanceof`. A module written with
 * `import`/`export` in a folder whose package.json lacks `"type": "module"` is where this breaks: tsx
 * treats a .ts (or .js) file there as CommonJS, and Node then either requires it back as an ES module
 * while importing it ("Cannot require() ES Module … in a cycle") or, with tsx's require hook, gets a
 * CommonJS-compiled second copy of Sparkless. So, for such a package only, a resolve hook marks the
 * .ts/.js files outside node_modules that use import/export as ES modules, which is what they are
 * written as (Node's own syntax detection does the same for .js); files without import/export stay
 * CommonJS. When a module still cannot be loaded, the error says why and gives the fix.
 */
import { existsSync, readFileSync } from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidArgumentError } from "../core/errors.js";

/**
 * The resolve hook, as a data: URL so that it loads the same from the sources and from dist/. It runs in
 * Node's loader thread after tsx's hooks (registered later, it is asked first and asks them). Node 22.18
 * and later strip TypeScript types themselves and call a .ts file of a CommonJS package
 * "commonjs-typescript": that one becomes "module-typescript" the same way.
 */
const ESM_FORMAT_HOOK = `
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
const ESM_SYNTAX = /^[ \\t]*(?:import[ \\t]*(?:[\\w*{]|["'])|export[ \\t]+(?:default|const|let|var|function|class|async|type|interface|enum|declare|abstract)\\b|export[ \\t]*[{*])/m;
const AS_ESM = { "commonjs": "module", "commonjs-typescript": "module-typescript" };
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const format = AS_ESM[resolved.format];
  if (!format || !resolved.url.startsWith("file:") || resolved.url.includes("/node_modules/")) return resolved;
  if (!/\\.(?:ts|tsx|js|jsx)$/.test(new URL(resolved.url).pathname)) return resolved;
  let source;
  try { source = readFileSync(fileURLToPath(resolved.url), "utf8"); } catch { return resolved; }
  return ESM_SYNTAX.test(source) ? { ...resolved, format } : resolved;
}
const STRIPS_TYPES = !!process.features.typescript;
export async function load(url, context, nextLoad) {
  // A resolver before this one (tsx's) may leave the format to the loader, which would call a .ts file of a
  // CommonJS package "commonjs-typescript" (Node 22.18 and later): the same ES module syntax check here.
  // Older Node does not strip types: there tsx loads TypeScript, and the resolve hook above is enough.
  if (!STRIPS_TYPES) return nextLoad(url, context);
  if (context.format !== undefined && context.format !== "commonjs" && context.format !== "commonjs-typescript") return nextLoad(url, context);
  if (!url.startsWith("file:") || url.includes("/node_modules/")) return nextLoad(url, context);
  const pathname = new URL(url).pathname;
  if (!/\\.(?:ts|tsx|js|jsx)$/.test(pathname)) return nextLoad(url, context);
  let source;
  try { source = readFileSync(fileURLToPath(url), "utf8"); } catch { return nextLoad(url, context); }
  if (!ESM_SYNTAX.test(source)) return nextLoad(url, context);
  const typescript = /\\.tsx?$/.test(pathname);
  return nextLoad(url, { ...context, format: typescript ? "module-typescript" : "module" });
}
`;

let hookRegistered = false;

function registerFormatHook(): void {
  if (typeof register !== "function") return;
  register(`data:text/javascript,${encodeURIComponent(ESM_FORMAT_HOOK)}`);
  hookRegistered = true;
}

/** The nearest package.json above `file`, and its `type`. */
function packageScope(file: string): { packageJson?: string; type?: string } {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const packageJson = path.join(dir, "package.json");
    if (existsSync(packageJson)) {
      try {
        return { packageJson, type: (JSON.parse(readFileSync(packageJson, "utf8")) as { type?: string }).type };
      } catch {
        return { packageJson };
      }
    }
    if (path.dirname(dir) === dir) return {};
  }
}

/** The fix for a module Node would not load as an ES module: rename it, or mark its package as ESM. */
function esmFix(modulePath: string, scope: { packageJson?: string }): string {
  const ext = path.extname(modulePath);
  const renamed = modulePath.slice(0, -ext.length) + (ext === ".ts" ? ".mts" : ".mjs");
  const where = scope.packageJson ? `add "type": "module" to ${scope.packageJson}` : `add a package.json with {"type": "module"} beside it`;
  return `Rename it to ${renamed}, or ${where}.`;
}

/** Imports the module at `modulePath` (resolved from the working directory); see the top of this file. */
export async function importAppModule(modulePath: string): Promise<Record<string, unknown>> {
  const file = path.resolve(modulePath);
  if (!existsSync(file)) throw new InvalidArgumentError(`The app module ${modulePath} does not exist (resolved to ${file}).`);
  const ext = path.extname(file);
  const scope = [".ts", ".tsx", ".js", ".jsx"].includes(ext) ? packageScope(file) : {};
  const needsHook = scope.type !== "module" && [".ts", ".tsx", ".js", ".jsx"].includes(ext);
  if (needsHook && !hookRegistered) registerFormatHook();
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_UNKNOWN_FILE_EXTENSION" && [".ts", ".mts", ".cts", ".tsx"].includes(ext)) {
      // Nothing in this process loads TypeScript (a CDK program run by plain node): tsx, when installed,
      // is registered here, and the module imported again under another URL (Node keeps the failed one).
      const { hasOptionalPackage, MissingPackageError } = await import("../local/optional.js");
      if (hasOptionalPackage("tsx")) {
        // Not a literal: esbuild, bundling this file into the Lambda handlers, must not bundle tsx.
        const tsxApi = "tsx/esm/api";
        const { register: registerTsx } = (await import(tsxApi)) as typeof import("tsx/esm/api");
        registerTsx();
        if (needsHook) registerFormatHook(); // after tsx's, so that it is asked first
        return (await import(`${url}?tsx`)) as Record<string, unknown>;
      }
      throw new MissingPackageError(["tsx"], "npm install --save-dev tsx", {
        cause: e,
        context: `Cannot load the app module ${modulePath}: it is TypeScript, and this Node (${process.version}) does not load TypeScript by itself`,
        alternative: "or compile the module to .js or .mjs",
      });
    }
    if (code === "ERR_REQUIRE_CYCLE_MODULE" || code === "ERR_REQUIRE_ESM" || code === "ERR_REQUIRE_ASYNC_MODULE") {
      throw new InvalidArgumentError(
        `Cannot load the app module ${modulePath} as an ES module (${(e as Error).message.split("\n")[0]}). ${esmFix(modulePath, scope)}`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** Explains an app whose Sparkless classes are not this process's: a second copy of Sparkless was loaded. */
export function secondCopyMessage(modulePath: string): string {
  return (
    `The app module ${modulePath} was built with another copy of sparkless than the one running it ` +
    "(its Duration is not this process's), so nothing it declares can be checked or run. Import sparkless " +
    "from the same installation (one `sparkless` in node_modules), and write the module as an ES module: " +
    `${esmFix(modulePath, packageScope(path.resolve(modulePath)))}`
  );
}
