/**
 * The bench's child processes (the engines, worker processes, the producer)
 * and how the bench talks to them: each runs a TypeScript file through tsx
 * with an IPC channel, announces `ready` with what the bench needs to know,
 * and answers requests (`{ id, type, ... }` → `{ id, data }` or
 * `{ id, error }`). A child exits when its channel closes, so none outlives
 * the bench however the bench ends.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { IllegalStateError } from "../../lib/core/errors.js";

const tsx = (): string => createRequire(import.meta.url).resolve("tsx");

interface Reply {
  id: number;
  data?: unknown;
  error?: string;
}

export interface Child<Ready> {
  readonly ready: Ready;
  readonly process: ChildProcess;
  /** Sends a request and waits for its answer. */
  call<T>(type: string, body?: Record<string, unknown>): Promise<T>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `file` (a module next to this one) as a child and waits until it says it is ready. */
export async function startChild<Ready>(
  file: string,
  env: Record<string, string>,
  options: { timeoutMs?: number; name?: string } = {},
): Promise<Child<Ready>> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  const name = options.name ?? file;
  const proc = spawn(process.execPath, ["--import", tsx(), path], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.once("exit", () => {
      exited = true;
      for (const p of pending.values()) p.reject(new IllegalStateError(`The bench's ${name} process exited before it answered.`));
      pending.clear();
      resolve();
    }),
  );
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new IllegalStateError(`The bench's ${name} process was not ready within ${options.timeoutMs ?? 120_000} ms.`)),
      options.timeoutMs ?? 120_000,
    );
    proc.on("message", (m: { type?: string; data?: unknown } & Partial<Reply>) => {
      if (m.type === "ready") {
        clearTimeout(timer);
        resolve(m.data as Ready);
        return;
      }
      if (typeof m.id === "number") {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new IllegalStateError(`The bench's ${name} process failed: ${m.error}`));
        else p?.resolve(m.data);
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new IllegalStateError(`The bench's ${name} process exited with ${code} before it was ready.`));
    });
  });
  return {
    ready,
    process: proc,
    call<T>(type: string, body: Record<string, unknown> = {}): Promise<T> {
      if (exited) return Promise.reject(new IllegalStateError(`The bench's ${name} process has exited.`));
      const id = ++next;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ ...body, id, type });
      });
    },
    async stop(graceMs = 5000) {
      if (exited) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

// ---- the child's side -------------------------------------------------------------------------

type Handler = (message: Record<string, unknown>) => unknown | Promise<unknown>;

/**
 * In a child: answers the bench's requests with `handlers`, says `ready` with `data`, and calls
 * `onGone` when the bench goes away (its channel closes) or sends SIGTERM.
 */
export function serveBench(handlers: Record<string, Handler>, data: unknown, onGone: () => void | Promise<void>): void {
  if (!process.send) throw new IllegalStateError("This process is a bench child: start it with startChild (tools/bench/children.ts).");
  let gone = false;
  const leave = async () => {
    if (gone) return;
    gone = true;
    try {
      await onGone();
    } finally {
      process.exit(0);
    }
  };
  process.on("message", async (m: { id: number; type: string } & Record<string, unknown>) => {
    const h = handlers[m.type];
    try {
      if (!h) throw new IllegalStateError(`unknown request "${m.type}"`);
      const data = await h(m);
      process.send?.({ id: m.id, data });
    } catch (e) {
      process.send?.({ id: m.id, error: e instanceof Error ? e.message : String(e) });
    }
  });
  process.on("disconnect", () => void leave());
  process.on("SIGTERM", () => void leave());
  process.on("SIGINT", () => undefined);
  process.send({ type: "ready", data });
}
