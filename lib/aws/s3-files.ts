/**
 * File inputs on S3 (`textFileStream("s3://bucket/prefix/")`): ListObjectsV2 page by page, and
 * GetObject with If-Match on the ETag a batch recorded. The app's role needs s3:ListBucket on the
 * bucket (with the prefix as condition, if narrowed) and s3:GetObject on `bucket/prefix/*`.
 *
 * Cost: one LIST request per 1,000 keys directly under the prefix, every batch, whatever is new
 * ($0.005 per 1,000 LIST requests in us-east-1), and one GET per object read ($0.0004 per 1,000).
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { InvalidArgumentError } from "../core/errors.js";
import type { ObjectInfo, ObjectLister, ObjectPage } from "../storage/interfaces.js";

function errorName(error: unknown): string {
  return (error as { name?: string; Code?: string } | null)?.name ?? "";
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** A missing bucket or a denied request names the bucket and the permission; anything else passes through. */
function describeInputError(error: unknown, bucket: string, permission: string): unknown {
  const name = errorName(error);
  if (name === "NoSuchBucket") {
    return new InvalidArgumentError(`The input bucket s3://${bucket} does not exist. Create it, or watch a prefix of an existing bucket.`, {
      cause: error,
    });
  }
  if (name === "AccessDenied" || name === "Forbidden" || statusOf(error) === 403) {
    return new InvalidArgumentError(
      `Access to the input bucket s3://${bucket} was denied. The app's role needs ${permission} on it (s3:ListBucket on the bucket and s3:GetObject on its objects for textFileStream).`,
      { cause: error },
    );
  }
  return error;
}

export class S3ObjectLister implements ObjectLister {
  constructor(private readonly client: S3Client) {}

  async listPage(bucket: string, prefix: string, options: { continuationToken?: string; maxKeys?: number } = {}): Promise<ObjectPage> {
    let r;
    try {
      r = await this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          Delimiter: "/",
          ...(options.maxKeys ? { MaxKeys: options.maxKeys } : {}),
          ...(options.continuationToken ? { ContinuationToken: options.continuationToken } : {}),
        }),
      );
    } catch (error) {
      throw describeInputError(error, bucket, "s3:ListBucket");
    }
    const objects: ObjectInfo[] = [];
    for (const o of r.Contents ?? []) {
      if (o.Key === undefined || o.ETag === undefined || o.LastModified === undefined) continue;
      objects.push({ key: o.Key, etag: o.ETag, size: o.Size ?? 0, lastModified: o.LastModified.getTime() });
    }
    return { objects, ...(r.IsTruncated && r.NextContinuationToken ? { next: r.NextContinuationToken } : {}) };
  }

  async getIfMatch(bucket: string, key: string, etag: string): Promise<Uint8Array | "changed" | "missing"> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag }));
      return await r.Body!.transformToByteArray();
    } catch (error) {
      const name = errorName(error);
      if (name === "PreconditionFailed" || statusOf(error) === 412) return "changed";
      if (name === "NoSuchKey" || name === "NotFound") return "missing";
      throw describeInputError(error, bucket, "s3:GetObject");
    }
  }
}
