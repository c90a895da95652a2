/**
 * A chaos worker process: the local worker process (pollTasks handing
 * deliveries of up to 10 messages to the worker handler, as Lambda's event
 * source mapping does), with the chaos child's faults: fault points that kill
 * or stall it, SDK faults on every engine call, duplicated task messages.
 */
import { loadApp } from "../app/app.js";
import { runWorkerProcess } from "../local/worker-loop.js";
import { chaosChild } from "./child.js";

const appPath = process.env.SPARKLESS_APP_PATH;
if (!appPath) throw new Error("SPARKLESS_APP_PATH is not set: this process is started by the chaos harness.");
const { engine } = chaosChild();
await runWorkerProcess(await loadApp(appPath), engine);
process.exit(0);
