/**
 * The packages Sparkless uses only when asked for them: the local engines of `sparkless local`
 * (kinesalite, DynamoDB Local inside amplify-dynamodb-simulator, fauxqs, and kinesis-local when chosen)
 * and tsx, which loads app modules written in TypeScript. They are optional peer dependencies, so
 * `npm install sparkless` brings none of them (no emulator, no .jar); npm would install
 * optionalDependencies by default. This module finds them, from Sparkless' own location as Node would,
 * and when one is missing throws a MissingPackageError that names it and the one command that adds it.
 * Everything here resolves lazily: importing Sparkless loads no emulator.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { SparklessError } from "../core/errors.js";

/** The one command that adds what `sparkless local` needs, documented in the README's "Install". */
export const LOCAL_INSTALL_COMMAND = "npm install --save-dev tsx kinesalite amplify-dynamodb-simulator fauxqs@1.9";

/** The optional packages, what each is for, and the command that adds it. */
export const OPTIONAL_PACKAGES = {
  kinesalite: { purpose: "the embedded Kinesis of `sparkless local`", install: LOCAL_INSTALL_COMMAND },
  "amplify-dynamodb-simulator": { purpose: "the embedded DynamoDB of `sparkless local` (DynamoDB Local)", install: LOCAL_INSTALL_COMMAND },
  fauxqs: { purpose: "the embedded SQS and S3 of `sparkless local`", install: LOCAL_INSTALL_COMMAND },
  "kinesis-local": { purpose: "the kinesis-local Kinesis engine (kinesis-mock)", install: "npm install --save-dev kinesis-local" },
  tsx: { purpose: "loading an app module written in TypeScript", install: "npm install --save-dev tsx" },
} as const;

export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

/** An optional peer dependency is needed and not installed. */
export class MissingPackageError extends SparklessError {
  constructor(
    /** The packages missing, in the order asked for. */
    readonly packages: readonly OptionalPackage[],
    /** The command that adds them. */
    readonly install: string,
    /** `context`: what could not be done, said first; `alternative`: another way out, said after the command. */
    options?: { cause?: unknown; context?: string; alternative?: string },
  ) {
    const one = packages.length === 1;
    const what = packages.map((p) => `"${p}" (${OPTIONAL_PACKAGES[p].purpose})`).join(", ");
    super(
      `${options?.context ? `${options.context}. ` : ""}The npm ${one ? "package" : "packages"} ${what} ${one ? "is" : "are"} not installed. ` +
        `Add ${one ? "it" : "them"} with \`${install}\`${options?.alternative ? `, ${options.alternative}` : ""}.`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

const requireFromHere = createRequire(import.meta.url);

/**
 * The package's package.json, looked up in the node_modules folders Node would search from here
 * (require.resolve would miss packages whose `exports` hide package.json or offer only `import`, as fauxqs').
 */
function resolvePackageJson(name: OptionalPackage): string | undefined {
  for (const dir of requireFromHere.resolve.paths(name) ?? []) {
    const file = path.join(dir, name, "package.json");
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Whether an optional package is installed where Sparkless can load it. */
export function hasOptionalPackage(name: OptionalPackage): boolean {
  return resolvePackageJson(name) !== undefined;
}

/**
 * Throws one MissingPackageError naming every package of `names` that is not installed, so a user
 * missing all the engines learns it once, before any engine starts.
 */
export function requireOptionalPackages(...names: OptionalPackage[]): void {
  const missing = names.filter((n) => !hasOptionalPackage(n));
  if (missing.length === 0) return;
  const commands = [...new Set(missing.map((n) => OPTIONAL_PACKAGES[n].install))];
  // One command when it covers them all (the local engines); else each package's own.
  const install = commands.length === 1 ? commands[0]! : `npm install --save-dev ${missing.join(" ")}`;
  throw new MissingPackageError(missing, install);
}

/** The folder of an installed optional package (a MissingPackageError if it is not installed). */
export function optionalPackageDir(name: OptionalPackage): string {
  requireOptionalPackages(name);
  return path.dirname(resolvePackageJson(name)!);
}

/** Imports an optional package (a MissingPackageError if it is not installed). */
export async function importOptional<T>(name: OptionalPackage): Promise<T> {
  requireOptionalPackages(name);
  return (await import(name)) as T;
}

/**
 * The arguments that let a child Node process load TypeScript app modules as the CLI's own process does:
 * tsx's ES module loader (`--import file:///…/tsx/dist/esm/index.mjs`) when tsx is installed, else none,
 * so apps in JavaScript run without it and a TypeScript one fails in loadApp with the command that adds
 * tsx. Only the ES module loader: tsx's require hook would compile Sparkless' own ES modules into a
 * second, CommonJS copy when a CommonJS app module requires "sparkless"; Node's require(esm) shares the one.
 */
export function tsxImportArgs(): string[] {
  if (!hasOptionalPackage("tsx")) return [];
  return ["--import", pathToFileURL(requireFromHere.resolve("tsx/esm")).href];
}

/**
 * What `sparkless local` needs before it starts, all named in one MissingPackageError with the one
 * command that adds them (undefined when nothing is missing): the embedded engines unless `endpoint` is
 * given, and tsx for an app module in TypeScript when this Node does not load TypeScript by itself
 * (Node 22.18 and later strip types).
 */
export function missingLocalRunPackages(options: { appPath: string; endpoint?: string }): MissingPackageError | undefined {
  const typescript = /\.[cm]?tsx?$/.test(options.appPath) && !(process.features as { typescript?: unknown }).typescript;
  const needed: OptionalPackage[] = [
    ...(typescript ? (["tsx"] as const) : []),
    ...(options.endpoint ? [] : (["kinesalite", "amplify-dynamodb-simulator", "fauxqs"] as const)),
  ];
  const missing = needed.filter((n) => !hasOptionalPackage(n));
  return missing.length > 0 ? new MissingPackageError(missing, LOCAL_INSTALL_COMMAND) : undefined;
}
