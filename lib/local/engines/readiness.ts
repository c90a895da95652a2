/**
 * When an engine counts as started: when it has answered a real API call
 * (ListStreams, ListTables, ListQueues), not when its process exists or its
 * port opens. Also the free-port choice and its retry on a clash.
 */
import { createServer } from "node:net";
import { EngineStartError, LocalRunError, type EngineName } from "../errors.js";
import { probeConfig } from "./client-config.js";
import { sleep } from "../../core/clock.js";
import type { ManagedChild } from "./supervision.js";

/** An engine that answers: its endpoint, its process (if it has one) and how to stop it. */
export interface RunningEngine {
  endpoint: string;
  pid?: number;
  stop(): Promise<void>;
}

/** A real API call that says an engine is up, on a client of its own. */
export interface Probe {
  call: () => Promise<unknown>;
  close: () => void;
}

/** A free TCP port on 127.0.0.1 (listen on port 0, read the port, close). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new LocalRunError(`Expected a TCP address from a socket listening on 127.0.0.1, got \`${String(address)}\`.`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

export function isPortClash(output: string): boolean {
  return /EADDRINUSE|address already in use|BindException/i.test(output);
}

/** Polls `probe` until it succeeds, the child exits, or the timeout passes. */
export async function waitUntilReady(
  engine: EngineName,
  managed: ManagedChild | undefined,
  probe: () => Promise<unknown>,
  timeoutMs: number,
  describeExit: (output: string, spawnError?: NodeJS.ErrnoException) => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void managed?.exited.then((info) => {
    exitInfo = info;
  });
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    if (exitInfo !== undefined && managed !== undefined) {
      const output = managed.tail.text();
      const hint = describeExit(output, managed.spawnError);
      if (hint !== undefined) throw new EngineStartError(engine, hint, output, { cause: managed.spawnError });
      const how = managed.spawnError
        ? `could not be launched (${managed.spawnError.code ?? managed.spawnError.message})`
        : `exited before it answered (code ${exitInfo.code}, signal ${exitInfo.signal})`;
      throw new EngineStartError(engine, `the engine ${how}`, output, { cause: managed.spawnError });
    }
    if (Date.now() > deadline) {
      throw new EngineStartError(engine, `did not answer within ${timeoutMs} ms (last error: ${errorText(lastError)})`, managed?.tail.text() ?? "", {
        cause: lastError,
      });
    }
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== undefined && status >= 400 && status < 500) {
        // The engine is up and refuses the call: waiting will not help.
        throw new EngineStartError(engine, `answered the probe with an error: ${errorText(error)}`, managed?.tail.text() ?? "", {
          cause: error,
        });
      }
    }
    await sleep(Math.min(50 * 2 ** Math.min(attempt, 3), 400));
  }
}

/** Waits until a child-process engine answers `probe`; stops it if it never does. */
export async function readyChildEngine(
  engine: EngineName,
  managed: ManagedChild,
  endpoint: string,
  probe: Probe,
  timeoutMs: number,
  describeExit?: (output: string, spawnError?: NodeJS.ErrnoException) => string | undefined,
): Promise<RunningEngine> {
  try {
    await waitUntilReady(engine, managed, probe.call, timeoutMs, describeExit);
  } catch (error) {
    await managed.stop();
    throw error;
  } finally {
    probe.close();
  }
  return { endpoint, pid: managed.child.pid, stop: () => managed.stop() };
}

/** ListStreams on a client of its own: the probe of both Kinesis engines. */
export async function kinesisProbe(endpoint: string, region: string): Promise<Probe> {
  const { KinesisClient, ListStreamsCommand } = await import("@aws-sdk/client-kinesis");
  const client = new KinesisClient(probeConfig(endpoint, region));
  return { call: () => client.send(new ListStreamsCommand({})), close: () => client.destroy() };
}

/** Retries a child-process engine on a port clash (another process took the free port first). */
export async function withPortRetry(start: () => Promise<RunningEngine>, attempts = 3): Promise<RunningEngine> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (error) {
      if (i < attempts && error instanceof EngineStartError && isPortClash(error.output)) continue;
      throw error;
    }
  }
}
