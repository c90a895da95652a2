/**
 * The dashboard of a `sparkless local` run: serves the page over the run's
 * batch log on a free port and registers the run in `.sparkless/` so that
 * `sparkless feed`, `status` and `ui` in the same directory find its engines
 * without --endpoint.
 */
import type { AppDefinition } from "../app/app.js";
import type { BatchLog } from "../storage/interfaces.js";
import { registerLocalRun } from "../observability/target.js";
import { describeApp } from "./graph.js";
import { startUiServer, type UiServer } from "./server.js";

export interface LocalUiOptions {
  app: AppDefinition;
  batchLog: BatchLog;
  endpoints: { kinesis: string; dynamodb: string; sqs: string; s3?: string };
  streams: string[];
  port?: number;
}

export async function serveLocalUi(options: LocalUiOptions): Promise<UiServer> {
  const ui = await startUiServer({
    app: options.app.config.name,
    batchLog: options.batchLog,
    batchIntervalMs: options.app.config.batchInterval.milliseconds,
    graph: describeApp(options.app),
    endpoint: options.endpoints.dynamodb,
  }, { port: options.port });
  const unregister = registerLocalRun({
    app: options.app.config.name, pid: process.pid, endpoints: options.endpoints, ui: ui.url, streams: options.streams, startedAt: Date.now(),
  });
  return { url: ui.url, port: ui.port, close: async () => { unregister(); await ui.close(); } };
}
