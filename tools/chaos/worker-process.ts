/**
 * A chaos worker process: the local worker process (deliveries of up to 10
 * messages handed to the worker handler, as Lambda's event source mapping
 * does), with the chaos child's faults: points that kill or stall it, SDK
 * faults on every engine call, duplicated task messages.
 */
import { loadApp } from "../../lib/app/app.js";
import { runWorkerProcess } from "../../lib/local/worker-loop.js";
import { chaosChild } from "./child.js";

const appPath = process.env.SPARKLESS_APP_PATH;
if (!appPath) throw new Error("SPARKLESS_APP_PATH is not set: this process is started by the chaos harness.");
const { engine } = chaosChild("worker");
await runWorkerProcess(await loadApp(appPath), engine);
process.exit(0);
