/**
 * The dashboard's HTTP server: the page at `/`, and a JSON API over the
 * batch log and the app's graph.
 *
 *   GET /                  the page (self-contained HTML)
 *   GET /api/status?limit  { app, now, batchIntervalMs, batches, totals, lag, totalBatches }: the newest
 *                          `limit` batches, each batch of an empty run its own entry (`empty: true`)
 *   GET /api/graph         { nodes: [{ id, kind, parents, source?, output, input, slideMs }], batchIntervalMs }
 *   GET /healthz           "ok"
 *
 * It reads through the `BatchLog` interface, so it serves any engine: the
 * embedded engines, LocalStack or AWS (DynamoDB), or memory.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { BatchLog } from "../storage/interfaces.js";
import { explainAwsError } from "../observability/aws-errors.js";
import { summarizeBatches } from "./batches.js";
import type { GraphView } from "./graph.js";
import { dashboardHtml } from "./page.js";

export interface UiSource {
  readonly app: string;
  /** The batch log; its `getApp`, when given, supplies the batch interval the app runs at. */
  readonly batchLog: Pick<BatchLog, "listBatches"> & Partial<Pick<BatchLog, "getApp">>;
  /**
   * The batch interval, to expand runs of empty batches, for when the log does not hold the app's own
   * (no `getApp`, or the app has not started). @default inferred from the batch times
   */
  readonly batchIntervalMs?: number;
  readonly graph?: GraphView;
  /** For error messages: where the batch log lives. */
  readonly endpoint?: string;
  readonly table?: string;
}

export interface UiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface UiServerOptions {
  /** @default 0: a free port */
  port?: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** How often the page polls. @default 1000 */
  refreshMs?: number;
  now?: () => number;
}

export async function startUiServer(source: UiSource, options: UiServerOptions = {}): Promise<UiServer> {
  const now = options.now ?? Date.now;
  const page = dashboardHtml({ title: `Sparkless · ${source.app}`, refreshMs: options.refreshMs });
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, {
      "content-type": type,
      "cache-control": "no-store",
      "content-security-policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:",
    });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, "application/json; charset=utf-8", JSON.stringify(body));
  // The app's interval, read once it is stored (the app may start after the dashboard).
  let storedInterval: number | undefined;
  const interval = async () => {
    storedInterval ??= (await source.batchLog.getApp?.())?.batchIntervalMs;
    return storedInterval ?? source.batchIntervalMs;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "GET only" });
    switch (url.pathname) {
      case "/":
      case "/index.html":
        return send(res, 200, "text/html; charset=utf-8", page);
      case "/healthz":
        return send(res, 200, "text/plain", "ok");
      case "/api/graph":
        try {
          return json(res, 200, source.graph ?? { nodes: [], batchIntervalMs: (await interval()) ?? 0 });
        } catch {
          return json(res, 200, { nodes: [], batchIntervalMs: source.batchIntervalMs ?? 0 });
        }
      case "/api/status": {
        const limit = Math.min(5000, Math.max(1, Number(url.searchParams.get("limit") ?? 300) || 300));
        try {
          const batchIntervalMs = await interval();
          const records = await source.batchLog.listBatches();
          const t = now();
          return json(res, 200, { app: source.app, now: t, ...summarizeBatches(records, { now: t, limit, batchIntervalMs }) });
        } catch (e) {
          const err = explainAwsError(e, { endpoint: source.endpoint, table: source.table });
          return json(res, 502, { error: err.message });
        }
      }
      default:
        return json(res, 404, { error: `no such page: ${url.pathname}` });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) json(res, 500, { error: String(e) });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1";
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
