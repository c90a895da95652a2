/**
 * A chaos coordinator process: the scheduled coordinator Lambda, invoked
 * again and again (each invocation loops on the batch clock until its
 * deadline), with the chaos child's faults. A short lease lets a replacement
 * take over quickly after a kill; a short stall time makes it resend the
 * tasks a killed process left unsent.
 */
import { loadApp } from "../app/app.js";
import { runCoordinator } from "../runtime/coordinator.js";
import { chaosChild } from "./child.js";

const appPath = process.env.SPARKLESS_APP_PATH;
if (!appPath) throw new Error("SPARKLESS_APP_PATH is not set: this process is started by the chaos harness.");
const { engine } = chaosChild();
const app = await loadApp(appPath);
const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());
process.on("SIGINT", () => { /* the parent stops us */ });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stallMs = Number(process.env.SPARKLESS_CHAOS_STALL_MS ?? 3000);
const leaseMs = Number(process.env.SPARKLESS_CHAOS_LEASE_MS ?? 3000);

while (!stop.signal.aborted) {
  try {
    const r = await runCoordinator(app, engine, { deadline: Date.now() + 20_000, stallMs, leaseMs, signal: stop.signal, print: () => undefined });
    if (!r.leader) await sleep(250);
  } catch (e) {
    if (stop.signal.aborted) break;
    process.stderr.write(`[coordinator ${process.pid}] invocation failed: ${(e as Error).stack ?? String(e)}\n`);
    await sleep(250);
  }
}
await engine.close?.();
process.exit(0);
