/**
 * S3 for what is too large for a message: fanned-out batches' shuffle data (BlobStore) and, as an
 * option, checkpoint pages (PageStore). Every key starts with the app's name; the CDK construct's
 * bucket expires objects with a lifecycle rule (shuffle data after a day, checkpoints after the
 * batch log's retention), so nothing is deleted by request.
 *
 * Objects:
 *   `${app}/shuffle/${batchTime}/${runId}/${stage}-${partition}`   a map task's buckets back to back (read by byte range)
 *   `${app}/inputs/${batchTime}/${runId}/${stage}-${partition}`    a task's shuffle input, when too large for its message
 *   `${app}/checkpoints/${key}`                                      one stream checkpoint's pages, each prefixed by its length
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { MissingDataError } from "../core/errors.js";
import type { BlobStore } from "../storage/interfaces.js";
import type { PageStore } from "./dynamodb/checkpoints.js";

function isMissing(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? "";
  return name === "NoSuchKey" || name === "NotFound";
}

export class S3BlobStore implements BlobStore {
  constructor(private readonly client: S3Client, private readonly bucket: string, private readonly prefix: string) {}
  async put(key: string, body: Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}`, Body: body }));
  }
  async get(key: string, range?: readonly [number, number]): Promise<Uint8Array> {
    if (range && range[1] <= range[0]) return new Uint8Array();
    try {
      const r = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: `${this.prefix}${key}`, ...(range ? { Range: `bytes=${range[0]}-${range[1] - 1}` } : {}),
      }));
      return await r.Body!.transformToByteArray();
    } catch (error) {
      if (isMissing(error)) throw new MissingDataError(`s3://${this.bucket}/${this.prefix}${key} is missing: it expired, or the task that wrote it never finished.`);
      throw error;
    }
  }
}

/** Checkpoint pages as one S3 object per stream checkpoint: one PUT however many pages. */
export class S3Pages implements PageStore {
  private readonly blobs: S3BlobStore;
  constructor(client: S3Client, bucket: string, prefix: string) {
    this.blobs = new S3BlobStore(client, bucket, `${prefix}checkpoints/`);
  }
  async write(key: string, pages: readonly Uint8Array[]): Promise<void> {
    const parts: Buffer[] = [];
    for (const p of pages) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      parts.push(len, Buffer.from(p));
    }
    await this.blobs.put(key, Buffer.concat(parts));
  }
  async read(key: string, count: number): Promise<Uint8Array[]> {
    const body = Buffer.from(await this.blobs.get(key));
    const pages: Uint8Array[] = [];
    for (let at = 0; at < body.length && pages.length < count; ) {
      const len = body.readUInt32BE(at);
      pages.push(body.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    if (pages.length < count) throw new MissingDataError(`Checkpoint object ${key} holds ${pages.length} of its ${count} pages.`);
    return pages;
  }
}
