/**
 * Run by `readAppModuleSync` (cdk/app-module.ts) in a child Node process under tsx:
 * `node --import tsx cdk/app-module-probe.ts <module> <marker>`. Loads the app module, builds its graph
 * once and prints what it declares as one JSON line after the marker. It imports only the app loader
 * and the graph, never aws-cdk-lib (a second to load), hence the marker comes as an argument and the
 * shape as a type-only import.
 */
import { loadApp } from "../lib/app/app.js";
import { fileDirectoriesOf, kinesisStreamsOf } from "../lib/app/inputs.js";
import type { ProbedAppModule } from "./app-module.js";

const [entry, marker] = process.argv.slice(2);
if (!entry || !marker) throw new Error("usage: app-module-probe.ts <app module> <marker>");
try {
  const app = await loadApp(entry);
  const probed: ProbedAppModule = {
    appName: app.config.name,
    batchIntervalMs: app.config.batchInterval.milliseconds,
    maxTaskAttempts: app.config.maxTaskAttempts,
    checkpointStore: app.config.checkpointStore,
    kinesisStreams: kinesisStreamsOf(app),
    fileDirectories: fileDirectoriesOf(app),
  };
  process.stdout.write(`\n${marker}${JSON.stringify(probed)}\n`);
} catch (e) {
  // The error and where it was thrown (the stack's first frame), for the synth's message.
  const error = e instanceof Error ? e : new Error(String(e));
  const frame = error.stack?.split("\n").find((l) => l.trim().startsWith("at "));
  const at = frame?.match(/\(?([^\s()]+:\d+:\d+)\)?\s*$/)?.[1];
  process.stdout.write(`\n${marker}${JSON.stringify({ error: `${error.name}: ${error.message}${at ? ` (at ${at})` : ""}` })}\n`);
}
// The module or the SDK may hold handles open (timers, sockets); the answer is out, so stop here.
process.exit(0);
