/**
 * Where the operator commands (`feed`, `status`, `ui`) find an app: the
 * endpoints of its engines, its region, credentials and table names.
 *
 *  1. `--endpoint URL` (or AWS_ENDPOINT_URL): one endpoint (LocalStack) or
 *     the one service's endpoint `sparkless local` printed.
 *  2. A running `sparkless local` in this directory: it registers itself in
 *     `.sparkless/local-APP.json` (endpoints of Kinesis, DynamoDB and SQS and
 *     the dashboard's URL), removed when it stops.
 *  3. AWS, with the default credential chain.
 *
 * Tables follow `sparkless local`'s convention, `sparkless-APP-meta|state`,
 * unless given with --meta-table etc. (or SPARKLESS_META_TABLE).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { OperatorError } from "./aws-errors.js";

export interface LocalRegistration {
  app: string;
  pid: number;
  endpoints: { kinesis: string; dynamodb: string; sqs: string };
  ui?: string;
  streams: string[];
  startedAt: number;
}

const LOCAL_CREDENTIALS = { accessKeyId: "sparklesslocal", secretAccessKey: "sparklesslocal" };

export function registrationDir(cwd = process.cwd()): string { return path.join(cwd, ".sparkless"); }

export function registerLocalRun(reg: LocalRegistration, cwd?: string): () => void {
  const dir = registrationDir(cwd);
  const file = path.join(dir, `local-${reg.app}.json`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(reg, null, 2) + "\n");
  } catch {
    return () => undefined; // a read-only directory: the commands still work with --endpoint
  }
  return () => {
    try {
      const current = JSON.parse(readFileSync(file, "utf8")) as LocalRegistration;
      if (current.pid === reg.pid) rmSync(file, { force: true });
    } catch { /* gone already */ }
  };
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
}

/** The `sparkless local` runs registered in this directory whose process is alive. */
export function localRuns(cwd?: string): LocalRegistration[] {
  const dir = registrationDir(cwd);
  let names: string[] = [];
  try { names = readdirSync(dir).filter((n) => /^local-.*\.json$/.test(n)); } catch { return []; }
  const out: LocalRegistration[] = [];
  for (const n of names) {
    try {
      const r = JSON.parse(readFileSync(path.join(dir, n), "utf8")) as LocalRegistration;
      if (alive(r.pid)) out.push(r);
    } catch { /* half-written or not ours */ }
  }
  return out;
}

export interface TargetOptions {
  endpoint?: string;
  region?: string;
  app?: string;
  /** Skip the local-run discovery: talk to AWS. */
  aws?: boolean;
  /** For `feed`: the stream (used to pick a local run by its streams). */
  stream?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface Target {
  /** "endpoint": --endpoint/AWS_ENDPOINT_URL; "local": a registered sparkless local; "aws". */
  readonly kind: "endpoint" | "local" | "aws";
  readonly app?: string;
  readonly region: string;
  readonly endpoints: { kinesis?: string; dynamodb?: string; sqs?: string };
  readonly local?: LocalRegistration;
  /** Human description, e.g. "sparkless local (pid 123)". */
  readonly description: string;
  /** Client configuration for one service. */
  clientConfig(service: "kinesis" | "dynamodb" | "sqs"): Record<string, unknown>;
}

export function resolveTarget(options: TargetOptions = {}): Target {
  const env = options.env ?? process.env;
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL;
  const hasEnvCredentials = !!env.AWS_ACCESS_KEY_ID;
  const make = (kind: Target["kind"], endpoints: Target["endpoints"], description: string, app?: string, local?: LocalRegistration): Target => ({
    kind, app, region, endpoints, local, description,
    clientConfig(service) {
      const ep = endpoints[service];
      return {
        region,
        ...(ep ? { endpoint: ep } : {}),
        // Local engines accept any key; DynamoDB Local only letters and digits.
        ...(kind !== "aws" && !hasEnvCredentials ? { credentials: LOCAL_CREDENTIALS } : {}),
        // HTTP/1.1: the Kinesis client's HTTP/2 default fails against local engines.
        requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 30_000 }),
        maxAttempts: kind === "aws" ? 3 : 2,
      };
    },
  });
  if (endpoint) {
    if (!/^https?:\/\//.test(endpoint)) throw new OperatorError(`--endpoint must be a URL such as http://127.0.0.1:4566, got "${endpoint}".`);
    return make("endpoint", { kinesis: endpoint, dynamodb: endpoint, sqs: endpoint }, endpoint, options.app);
  }
  if (!options.aws) {
    let runs = localRuns(options.cwd);
    if (options.app) runs = runs.filter((r) => r.app === options.app);
    else if (options.stream && runs.length > 1) {
      const withStream = runs.filter((r) => r.streams.includes(options.stream!));
      if (withStream.length) runs = withStream;
    }
    if (runs.length > 1) {
      throw new OperatorError(`several \`sparkless local\` runs are registered here (${runs.map((r) => r.app).join(", ")}): pass --app NAME, or --endpoint URL.`);
    }
    const run = runs[0];
    if (run) return make("local", run.endpoints, `sparkless local (app ${run.app}, pid ${run.pid})`, run.app, run);
  }
  return make("aws", {}, `AWS (${region})`, options.app);
}

export interface TableOptions { metaTable?: string; stateTable?: string }

export function tableNames(app: string, options: TableOptions = {}, env: NodeJS.ProcessEnv = process.env) {
  const base = `sparkless-${app}`;
  return {
    meta: options.metaTable ?? env.SPARKLESS_META_TABLE ?? `${base}-meta`,
    state: options.stateTable ?? env.SPARKLESS_STATE_TABLE ?? `${base}-state`,
  };
}

/** What a command reads and writes; tests pass their own. */
export interface CliIo {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stdin: import("node:stream").Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Stops long-running commands (Ctrl-C). */
  signal?: AbortSignal;
}

export function processIo(signal?: AbortSignal): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), signal };
}

/** Thrown for a bad command line; the CLI prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function positiveNumber(name: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be a ${integer ? "whole " : ""}number > 0, got "${v}".`);
  return n;
}
