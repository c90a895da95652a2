/**
 * fauxqs keeps S3 in memory only (its README: "no persistence"). With a data
 * folder, this keeps its buckets and objects in files too: every bucket a
 * folder, every object one file (a JSON header line, then the bytes), named
 * by the SHA-256 of its key. Each write happens synchronously inside the
 * store call, before fauxqs answers the request, and goes to a temporary
 * file renamed into place, so an acknowledged PutObject is on disk (the OS's
 * page cache survives a SIGKILL of this process) and a file is never half
 * written. The next start with the same folder loads them back.
 *
 * Not kept: multipart uploads in progress (an upload cut by a kill is as if
 * aborted; Sparkless uses PutObject only) and the S3 event spy.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The part of fauxqs' S3Store (dist/s3/s3Store.js) this module uses. */
export interface FauxqsS3Store {
  createBucket(name: string): void;
  deleteBucket(name: string): void;
  hasBucket(name: string): boolean;
  putObject(bucket: string, key: string, body: Buffer, contentType?: string, metadata?: Record<string, string>): FauxqsS3Object;
  deleteObject(bucket: string, key: string): void;
  completeMultipartUpload(uploadId: string, parts: { partNumber: number; etag: string }[]): FauxqsS3Object;
  emptyBucket(name: string): void;
  clearObjects(): void;
  purgeAll(): void;
}

export interface FauxqsS3Object {
  key: string;
  body: Buffer;
  contentType: string;
  contentLength: number;
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
}

interface Header {
  key: string;
  contentType: string;
  etag: string;
  lastModified: number;
  metadata: Record<string, string>;
}

const bucketDir = (root: string, bucket: string) => path.join(root, encodeURIComponent(bucket));
const objectFile = (root: string, bucket: string, key: string) =>
  path.join(bucketDir(root, bucket), "objects", `${createHash("sha256").update(key).digest("hex")}.obj`);

function writeAtomically(file: string, data: Buffer | string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

function writeObject(root: string, bucket: string, obj: FauxqsS3Object): void {
  const header: Header = {
    key: obj.key,
    contentType: obj.contentType,
    etag: obj.etag,
    lastModified: obj.lastModified.getTime(),
    metadata: obj.metadata,
  };
  writeAtomically(objectFile(root, bucket, obj.key), Buffer.concat([Buffer.from(JSON.stringify(header) + "\n"), obj.body]));
}

/** Loads what `root` holds into `store`; returns how many buckets and objects were loaded. */
function load(store: FauxqsS3Store, root: string): { buckets: number; objects: number } {
  let buckets = 0;
  let objects = 0;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(root, entry.name);
    let info: { name: string; createdAt: number };
    try {
      info = JSON.parse(readFileSync(path.join(dir, "bucket.json"), "utf8")) as { name: string; createdAt: number };
    } catch {
      continue; // not a bucket folder (or one whose creation was cut short)
    }
    store.createBucket(info.name);
    (store as unknown as { bucketCreationDates?: Map<string, Date> }).bucketCreationDates?.set(info.name, new Date(info.createdAt));
    buckets++;
    const objectsDir = path.join(dir, "objects");
    if (!existsSync(objectsDir)) continue;
    for (const file of readdirSync(objectsDir)) {
      if (!file.endsWith(".obj")) continue; // a .tmp left by a kill mid-write: the write was never acknowledged
      const data = readFileSync(path.join(objectsDir, file));
      const nl = data.indexOf(0x0a);
      if (nl < 0) continue;
      const header = JSON.parse(data.subarray(0, nl).toString("utf8")) as Header;
      const obj = store.putObject(info.name, header.key, Buffer.from(data.subarray(nl + 1)), header.contentType, header.metadata);
      obj.etag = header.etag;
      obj.lastModified = new Date(header.lastModified);
      objects++;
    }
  }
  return { buckets, objects };
}

/**
 * Loads `root` into `store`, then makes every change to the store's buckets and objects write through
 * to `root`. Returns what was loaded.
 */
export function keepS3StoreInFiles(store: FauxqsS3Store, root: string): { buckets: number; objects: number } {
  mkdirSync(root, { recursive: true });
  const loaded = load(store, root);
  const s = store;
  const createBucket = s.createBucket.bind(s);
  s.createBucket = (name) => {
    const existed = s.hasBucket(name);
    createBucket(name);
    if (!existed) writeAtomically(path.join(bucketDir(root, name), "bucket.json"), JSON.stringify({ name, createdAt: Date.now() }));
  };
  const deleteBucket = s.deleteBucket.bind(s);
  s.deleteBucket = (name) => {
    deleteBucket(name); // throws when the bucket is missing or not empty
    rmSync(bucketDir(root, name), { recursive: true, force: true });
  };
  const putObject = s.putObject.bind(s);
  s.putObject = (bucket, key, body, contentType, metadata) => {
    const obj = putObject(bucket, key, body, contentType, metadata);
    writeObject(root, bucket, obj);
    return obj;
  };
  const deleteObject = s.deleteObject.bind(s);
  s.deleteObject = (bucket, key) => {
    deleteObject(bucket, key);
    rmSync(objectFile(root, bucket, key), { force: true });
  };
  const complete = s.completeMultipartUpload.bind(s);
  s.completeMultipartUpload = (uploadId, parts) => {
    // The upload's bucket is not on the object: find it as the folder whose bucket now holds this very object.
    const obj = complete(uploadId, parts);
    for (const entry of readdirSync(root)) {
      const name = decodeURIComponent(entry);
      try {
        if ((s as unknown as { buckets: Map<string, Map<string, FauxqsS3Object>> }).buckets.get(name)?.get(obj.key) === obj)
          writeObject(root, name, obj);
      } catch {
        /* not a bucket folder */
      }
    }
    return obj;
  };
  const emptyBucket = s.emptyBucket.bind(s);
  s.emptyBucket = (name) => {
    emptyBucket(name);
    rmSync(path.join(bucketDir(root, name), "objects"), { recursive: true, force: true });
  };
  const clearObjects = s.clearObjects.bind(s);
  s.clearObjects = () => {
    clearObjects();
    for (const entry of readdirSync(root)) rmSync(path.join(root, entry, "objects"), { recursive: true, force: true });
  };
  const purgeAll = s.purgeAll.bind(s);
  s.purgeAll = () => {
    purgeAll();
    for (const entry of readdirSync(root)) rmSync(path.join(root, entry), { recursive: true, force: true });
  };
  return loaded;
}
