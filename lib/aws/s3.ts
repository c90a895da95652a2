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
 *
 * And, in the user's own buckets, the outputs given an `s3://` path (ObjectStore, below).
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { InvalidArgumentError, MissingDataError } from "../core/errors.js";
import type { BlobStore, ObjectStore } from "../storage/interfaces.js";
import type { PageStore } from "./dynamodb/checkpoints.js";

function isMissing(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? "";
  return name === "NoSuchKey" || name === "NotFound";
}

export class S3BlobStore implements BlobStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}
  async put(key: string, body: Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}`, Body: body }));
  }
  async get(key: string, range?: readonly [number, number]): Promise<Uint8Array> {
    if (range && range[1] <= range[0]) return new Uint8Array();
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: `${this.prefix}${key}`,
          ...(range ? { Range: `bytes=${range[0]}-${range[1] - 1}` } : {}),
        }),
      );
      return await r.Body!.transformToByteArray();
    } catch (error) {
      if (isMissing(error))
        throw new MissingDataError(`s3://${this.bucket}/${this.prefix}${key} is missing: it expired, or the task that wrote it never finished.`);
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
    for (let at = 0; at < body.length && pages.length < count;) {
      const len = body.readUInt32BE(at);
      pages.push(body.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    if (pages.length < count) throw new MissingDataError(`Checkpoint object ${key} holds ${pages.length} of its ${count} pages.`);
    return pages;
  }
}

/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

/**
 * Outputs in the user's buckets (`saveAsTextFiles("s3://bucket/prefix")`): PutObject, GetObject,
 * DeleteObjects and ListObjectsV2, the bucket given per call. The app's role needs s3:PutObject,
 * s3:DeleteObject and s3:ListBucket on those buckets (the CDK construct grants them on its own bucket only).
 */
export class S3ObjectStore implements ObjectStore {
  constructor(private readonly client: S3Client) {}
  async put(bucket: string, key: string, body: Uint8Array): Promise<void> {
    await this.call(bucket, "s3:PutObject", () => this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })));
  }
  async get(bucket: string, key: string): Promise<Uint8Array | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await r.Body!.transformToByteArray();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw describeBucketError(error, bucket, "s3:GetObject");
    }
  }
  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const chunk = keys.slice(i, i + DELETE_BATCH);
      const r = await this.call(bucket, "s3:DeleteObject", () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      // DeleteObjects answers 200 and lists the keys it could not delete.
      const failed = r.Errors ?? [];
      if (failed.length) {
        const first = failed[0]!;
        throw new InvalidArgumentError(
          `Could not delete ${failed.length} object(s) of s3://${bucket}, the first s3://${bucket}/${first.Key}: ${first.Code} ${first.Message ?? ""}`.trim() +
            `. The app's role needs s3:DeleteObject on s3://${bucket}/*.`,
        );
      }
    }
  }
  async list(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.call(bucket, "s3:ListBucket", () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of r.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
  private async call<R>(bucket: string, permission: string, f: () => Promise<R>): Promise<R> {
    try {
      return await f();
    } catch (error) {
      throw describeBucketError(error, bucket, permission);
    }
  }
}

/** A missing bucket or a denied request says which bucket and what to do; anything else passes through. */
function describeBucketError(error: unknown, bucket: string, permission: string): unknown {
  const name = (error as { name?: string } | null)?.name ?? "";
  if (name === "NoSuchBucket") {
    return new InvalidArgumentError(`The output bucket s3://${bucket} does not exist. Create it first, or give an existing bucket in the path.`, {
      cause: error,
    });
  }
  if (name === "AccessDenied" || name === "Forbidden") {
    return new InvalidArgumentError(
      `Access to the output bucket s3://${bucket} was denied. The app's role needs ${permission} on it (s3:PutObject, s3:DeleteObject and s3:ListBucket for text outputs).`,
      { cause: error },
    );
  }
  return error;
}
