/**
 * A chaos coordinator process: the scheduled coordinator Lambda, invoked
 * again and again with short deadlines (so it hands over, and a warm process
 * resumes with its memory), with the chaos child's faults. A short lease lets
 * a replacement take over quickly after a kill; a short claim lease makes a
 * dead worker's task run again quickly.
 */
import { loadApp } from "../../lib/app/app.js";
import { runCoordinator } from "../../lib/runtime/coordinator.js";
import { chaosChild } from "./child.js";

const appPath = process.env.SPARKLESS_APP_PATH;
if (!appPath) throw new Error("SPARKLESS_APP_PATH is not set: this process is started by the chaos harness.");
const { engine } = chaosChild("coordinator");
const app = await loadApp(appPath);
const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());
process.on("SIGINT", () => {
  /* the parent stops us */
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leaseMs = Number(process.env.SPARKLESS_CHAOS_LEASE_MS ?? 3000);
const claimLeaseMs = Number(process.env.SPARKLESS_CLAIM_LEASE_MS ?? 1500);

while (!stop.signal.aborted) {
  try {
    const r = await runCoordinator(app, engine, {
      deadline: Date.now() + 8_000,
      leaseMs,
      signal: stop.signal,
      print: () => undefined,
      fanOut: { claimLeaseMs, resendUnclaimedMs: 5_000, retryDelayMs: 100 },
    });
    if (r.failed) process.stderr.write(`[coordinator ${process.pid}] a batch failed: ${r.failed.message}\n`);
    if (!r.leader || r.failed) await sleep(250);
  } catch (e) {
    if (stop.signal.aborted) break;
    process.stderr.write(`[coordinator ${process.pid}] invocation failed: ${(e as Error).stack ?? String(e)}\n`);
    await sleep(250);
  }
}
await engine.close?.();
process.exit(0);
