/**
 * The dashboard of a `sparkless local` run: serves the page over the run's
 * batch log on a free port. (The run registers itself, with the dashboard's
 * URL, in lib/local/registry.ts.)
 */
import type { AppDefinition } from "../app/app.js";
import type { BatchLog } from "../storage/interfaces.js";
import { describeApp } from "./graph.js";
import { startUiServer, type UiServer } from "./server.js";

export interface LocalUiOptions {
  app: AppDefinition;
  batchLog: BatchLog;
  endpoints: { dynamodb: string };
  port?: number;
}

export async function serveLocalUi(options: LocalUiOptions): Promise<UiServer> {
  const ui = await startUiServer(
    {
      app: options.app.config.name,
      batchLog: options.batchLog,
      batchIntervalMs: options.app.config.batchInterval.milliseconds,
      graph: describeApp(options.app),
      endpoint: options.endpoints.dynamodb,
    },
    { port: options.port },
  );
  return ui;
}
