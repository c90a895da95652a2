// moto_server for the tests that need one endpoint for every AWS service, the shape of LocalStack's
// port 4566: found on PATH, started on a free 127.0.0.1 port, stopped after the file's tests.
//
// moto_server is a Python program (`pip install "moto[server]"`). Every machine this project is built
// on has it; a user's machine may not. There, the tests that need it do not fail: one test says, in its
// name and in a warning, that they did not run and how to run them. CI sets SPARKLESS_REQUIRE_MOTO=1
// (.ci/run), which turns a missing moto_server into a failure, so CI cannot pass without running them.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { expect, it } from "vitest";

export const MOTO_INSTALL = 'pip install "moto[server]"';

export interface Moto {
  /** http://127.0.0.1:PORT: Kinesis, DynamoDB, SQS, S3, CloudFormation, IAM, Lambda, ... */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything moto_server wrote (its request log and warnings). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Whether `moto_server` runs here. A pyenv shim can exist without the module behind it, so this runs
 * it (`-h`) rather than looking for the file.
 */
export function motoInstalled(): boolean {
  const r = spawnSync("moto_server", ["-h"], { encoding: "utf8", timeout: 30_000 });
  return r.status === 0 && /usage: moto_server/.test(r.stdout);
}

/**
 * Registers the one test a file without moto_server runs: it passes with a loud warning, or fails when
 * SPARKLESS_REQUIRE_MOTO=1. `what` names what did not run.
 */
export function motoMissingTest(what: string): void {
  const required = process.env.SPARKLESS_REQUIRE_MOTO === "1";
  it(`DID NOT RUN: ${what}: moto_server is not installed (${MOTO_INSTALL} to run it)`, () => {
    const message = `moto_server is not on PATH, so ${what} did not run. Install it with \`${MOTO_INSTALL}\` (Python 3.9+), then run the tests again.`;
    if (required) expect.fail(`SPARKLESS_REQUIRE_MOTO=1 (as in .ci/run), but ${message}`);
    console.warn(`\n${"!".repeat(100)}\n!! ${message}\n${"!".repeat(100)}\n`);
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `moto_server -H 127.0.0.1 -p PORT` on a free port and waits until it answers. */
export async function startMoto(options: { timeoutMs?: number } = {}): Promise<Moto> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    let ready = false;
    while (!ready && child.exitCode === null && Date.now() < deadline) {
      ready = await fetch(`${url}/moto-api/`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 200));
    }
    if (ready) {
      return {
        url,
        port,
        pid: child.pid!,
        output: () => out,
        stop: () => stopChild(child, exited),
      };
    }
    await stopChild(child, exited);
    // Another process took the port between freePort() and moto binding it: try another one.
    if (attempt < 3 && /address already in use/i.test(out)) continue;
    throw new Error(`moto_server on ${url} did not answer within ${timeoutMs} ms. Its output:\n${out}`);
  }
}

/**
 * One call to a moto service this project has no SDK client for (CloudFormation, Lambda). moto does not
 * check signatures; it finds the service from the Authorization header's credential scope.
 */
export async function motoCall(moto: Moto, service: string, request: { path?: string; form?: Record<string, string> }): Promise<string> {
  const headers: Record<string, string> = {
    authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=unchecked`,
  };
  const init: RequestInit = request.form
    ? {
        method: "POST",
        headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(request.form).toString(),
      }
    : { method: "GET", headers };
  const res = await fetch(`${moto.url}${request.path ?? "/"}`, init);
  const text = await res.text();
  if (!res.ok)
    throw new Error(`moto ${service} ${request.path ?? ""} ${JSON.stringify(request.form ?? {})}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

/** The text of every `<tag>` element of an XML answer (CloudFormation's query API). */
export const xmlValues = (xml: string, tag: string): string[] => [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, "g"))].map((m) => m[1]!);

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(killer);
}
