/**
 * The in-memory twin of the S3 buckets file inputs read: ListObjectsV2 (pages, delimiter "/",
 * LastModified to the second as S3 lists it), GetObject with If-Match, ETags as S3 computes them for
 * a single-part upload (the quoted MD5 of the bytes). LastModified comes from the engine's clock, so a
 * test on a manual clock decides when each object was written. It counts its requests, so a test can
 * check what a batch costs.
 */
import { createHash } from "node:crypto";
import { SystemClock, type Clock } from "../../core/clock.js";
import type { ObjectInfo, ObjectLister, ObjectPage, ObjectStore } from "../../storage/interfaces.js";

interface Stored {
  readonly body: Uint8Array;
  readonly etag: string;
  readonly lastModified: number;
}

export interface MemoryObjectsOptions {
  /** Stamps LastModified. @default SystemClock */
  clock?: Clock;
  /** LastModified is truncated to this many milliseconds, as S3 lists it to the second. @default 1000 */
  precisionMs?: number;
}

export class MemoryObjects implements ObjectLister, ObjectStore {
  private readonly buckets = new Map<string, Map<string, Stored>>();
  private readonly clock: Clock;
  private readonly precisionMs: number;
  /** Requests served, by kind. */
  readonly requests = { list: 0, get: 0, put: 0 };
  constructor(options: MemoryObjectsOptions = {}) {
    this.clock = options.clock ?? new SystemClock();
    this.precisionMs = options.precisionMs ?? 1000;
  }

  /** Writes an object (text as UTF-8), stamped now or at `lastModified`; returns what a listing shows. */
  putObject(bucket: string, key: string, body: Uint8Array | string, lastModified?: number): ObjectInfo {
    this.requests.put++;
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body.slice();
    const at = lastModified ?? Math.floor(this.clock.now() / this.precisionMs) * this.precisionMs;
    const stored: Stored = { body: bytes, etag: `"${createHash("md5").update(bytes).digest("hex")}"`, lastModified: at };
    let b = this.buckets.get(bucket);
    if (!b) this.buckets.set(bucket, (b = new Map()));
    b.set(key, stored);
    return { key, etag: stored.etag, size: bytes.length, lastModified: at };
  }

  // ObjectStore (outputs)
  async put(bucket: string, key: string, body: Uint8Array): Promise<void> {
    this.putObject(bucket, key, body);
  }
  async get(bucket: string, key: string): Promise<Uint8Array | undefined> {
    return this.buckets.get(bucket)?.get(key)?.body.slice();
  }
  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    const b = this.buckets.get(bucket);
    for (const k of keys) b?.delete(k);
  }
  async list(bucket: string, prefix: string): Promise<string[]> {
    return [...(this.buckets.get(bucket)?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort();
  }

  // ObjectLister (inputs)
  async listPage(bucket: string, prefix: string, options: { continuationToken?: string; maxKeys?: number } = {}): Promise<ObjectPage> {
    this.requests.list++;
    const max = Math.min(1000, options.maxKeys ?? 1000);
    const after = options.continuationToken ?? "";
    const keys = [...(this.buckets.get(bucket)?.keys() ?? [])]
      .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes("/") && k > after)
      .sort();
    const page = keys.slice(0, max);
    const b = this.buckets.get(bucket)!;
    return {
      objects: page.map((key) => {
        const s = b.get(key)!;
        return { key, etag: s.etag, size: s.body.length, lastModified: s.lastModified };
      }),
      ...(keys.length > max ? { next: page[page.length - 1]! } : {}),
    };
  }
  async getIfMatch(bucket: string, key: string, etag: string): Promise<Uint8Array | "changed" | "missing"> {
    this.requests.get++;
    const s = this.buckets.get(bucket)?.get(key);
    if (!s) return "missing";
    return s.etag === etag ? s.body.slice() : "changed";
  }
}
