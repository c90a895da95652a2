/**
 * Counts the AWS requests a process makes, never estimating them: an SDK
 * middleware on each client records every request by service, by purpose
 * and by API.
 *
 * - **Purpose** is read from the item or object the request names, as the
 *   storage modules document their keys (lib/aws/dynamodb/*.ts, lib/aws/s3.ts):
 *   the batch log, the lease, checkpoint manifests and pages, task claims,
 *   per-key state, shuffle data, the task and result queues, the input.
 * - **DynamoDB** requests ask for `ReturnConsumedCapacity: "TOTAL"`, and the
 *   read and write units the service reports (DynamoDB Local reports them as
 *   DynamoDB does) are summed.
 * - **SQS** requests are also counted as billed: one request per 64 KB chunk
 *   of payload; empty receives are counted apart (the event source mapping's
 *   idle polling is priced as an assumption instead).
 * - **Kinesis** PutRecords counts PUT payload units (25 KB each) and records;
 *   GetRecords counts the records returned.
 * - **S3** requests count their bytes (and Kinesis puts theirs: data and partition key).
 *
 * Lambda invocations are recorded by whoever calls a handler (`invocation`).
 * Counts are plain JSON, so child processes send theirs to the bench.
 */

/** One API's figures under one service and purpose. */
export interface ApiCount {
  requests: number;
  /** DynamoDB read and write capacity units consumed, as reported. */
  readUnits: number;
  writeUnits: number;
  /** Requests as billed: SQS bills each 64 KB chunk of a payload as a request; otherwise = requests. */
  billed: number;
  /** Payload bytes sent or received (SQS message bodies, S3 object bodies). */
  bytes: number;
}

export interface MeterCounts {
  /** calls[service][purpose][api] */
  calls: Record<string, Record<string, Record<string, ApiCount>>>;
  kinesisPutPayloadUnits: number;
  kinesisRecordsPut: number;
  kinesisRecordsRead: number;
  sqsEmptyReceives: number;
  sqsMessagesSent: number;
  sqsMessagesReceived: number;
  /** Lambda handler invocations per function ("coordinator", "worker"): wall and CPU milliseconds. */
  invocations: Record<string, { count: number; wallMs: number; cpuMs: number }>;
}

export function emptyCounts(): MeterCounts {
  return {
    calls: {},
    kinesisPutPayloadUnits: 0,
    kinesisRecordsPut: 0,
    kinesisRecordsRead: 0,
    sqsEmptyReceives: 0,
    sqsMessagesSent: 0,
    sqsMessagesReceived: 0,
    invocations: {},
  };
}

const DYNAMO_WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);
const DYNAMO_READS = new Set(["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"]);
const SQS_CHUNK = 64 * 1024;
const KINESIS_PUT_UNIT = 25 * 1024;

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}
type Input = Record<string, any>;

/** An attribute's string value, marshalled ({ S: "..." }) or not. */
const str = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof (v as { S?: unknown })?.S === "string" ? (v as { S: string }).S : undefined;

/** The partition key a DynamoDB request names (the first one, for batches). */
function dynamoPk(api: string, input: Input): string | undefined {
  switch (api) {
    case "PutItem":
      return str(input.Item?.pk);
    case "GetItem":
    case "UpdateItem":
    case "DeleteItem":
      return str(input.Key?.pk);
    case "Query":
      return str(input.ExpressionAttributeValues?.[":pk"]);
    case "BatchWriteItem": {
      const first = (Object.values(input.RequestItems ?? {})[0] as Input[] | undefined)?.[0];
      return str(first?.PutRequest?.Item?.pk ?? first?.DeleteRequest?.Key?.pk);
    }
    case "BatchGetItem":
      return str((Object.values(input.RequestItems ?? {})[0] as Input | undefined)?.Keys?.[0]?.pk);
    default:
      return undefined;
  }
}

/** What a DynamoDB item is for, from its partition key (see the key layouts in lib/aws/dynamodb/). */
export function dynamoPurpose(pk: string | undefined): string {
  if (pk === undefined) return "tables";
  if (/#batch$/.test(pk)) return "batch log";
  if (/#app$/.test(pk)) return "app info";
  if (/#lease$/.test(pk)) return "lease";
  if (/#ckpt$/.test(pk)) return "checkpoint manifests";
  if (/#ck#/.test(pk)) return "checkpoint pages";
  if (/#claim#/.test(pk)) return "task claims";
  if (/#quarantine$/.test(pk)) return "quarantine";
  return "per-key state";
}

function s3Purpose(key: string | undefined): string {
  if (!key) return "bucket";
  if (key.includes("/checkpoints/")) return "checkpoint pages";
  if (key.includes("/shuffle/")) return "shuffle";
  if (key.includes("/inputs/")) return "task inputs";
  return "objects";
}

function sqsPurpose(url: string | undefined): string {
  if (!url) return "queues";
  if (/-tasks$/.test(url)) return "task queue";
  if (/-results$/.test(url)) return "result queue";
  if (/-dlq$/.test(url)) return "dead-letter queue";
  return "queues";
}

function purposeOf(service: string, api: string, input: Input): string {
  switch (service) {
    case "DynamoDB":
      return dynamoPurpose(dynamoPk(api, input));
    case "S3":
      return s3Purpose(str(input.Key));
    case "SQS":
      return sqsPurpose(str(input.QueueUrl));
    default:
      return "input";
  }
}

const byteLength = (x: unknown): number => (typeof x === "string" ? Buffer.byteLength(x, "utf8") : x instanceof Uint8Array ? x.length : 0);

/** A meter: counts what the clients it is attached to send. */
let meters = 0;

export class Meter {
  counts: MeterCounts = emptyCounts();
  /** Tells this meter's middleware from another's on the same client (the bench meters the engine's clients too). */
  private readonly id = ++meters;

  reset(): void {
    this.counts = emptyCounts();
  }

  /** A copy of the counts so far. */
  snapshot(): MeterCounts {
    return structuredClone(this.counts);
  }

  /** Records one Lambda-handler invocation: its wall time and the CPU time this process spent in it. */
  invocation(fn: string, wallMs: number, cpuMs: number): void {
    const e = (this.counts.invocations[fn] ??= { count: 0, wallMs: 0, cpuMs: 0 });
    e.count++;
    e.wallMs += wallMs;
    e.cpuMs += cpuMs;
  }

  private entry(service: string, purpose: string, api: string): ApiCount {
    const byPurpose = (this.counts.calls[service] ??= {});
    const byApi = (byPurpose[purpose] ??= {});
    return (byApi[api] ??= { requests: 0, readUnits: 0, writeUnits: 0, billed: 0, bytes: 0 });
  }

  /** Adds the middleware to an SDK v3 client (a DynamoDBDocumentClient shares its client's stack). */
  attach(client: { middlewareStack: { add: (mw: any, options: any) => void } }, service: string): void {
    client.middlewareStack.add(
      (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: { input: Input }) => {
        const api = (context.commandName ?? "Unknown").replace(/Command$/, "");
        const dynamoRead = service === "DynamoDB" && DYNAMO_READS.has(api);
        const dynamoWrite = service === "DynamoDB" && DYNAMO_WRITES.has(api);
        if (dynamoRead || dynamoWrite) args = { ...args, input: { ...args.input, ReturnConsumedCapacity: "TOTAL" } };
        const input = args.input;
        const e = this.entry(service, purposeOf(service, api, input), api);
        e.requests++;
        const c = this.counts;
        let sentBytes = 0;
        if (service === "Kinesis" && (api === "PutRecords" || api === "PutRecord")) {
          const records = api === "PutRecords" ? ((input.Records as Input[] | undefined) ?? []) : [input];
          for (const r of records) {
            const size = byteLength(r.Data) + byteLength(r.PartitionKey);
            c.kinesisPutPayloadUnits += Math.max(1, Math.ceil(size / KINESIS_PUT_UNIT));
            c.kinesisRecordsPut++;
            sentBytes += size;
          }
        }
        if (service === "SQS" && api === "SendMessage") {
          c.sqsMessagesSent++;
          sentBytes = byteLength(input.MessageBody);
        }
        if (service === "SQS" && api === "SendMessageBatch") {
          const entries = (input.Entries as Input[] | undefined) ?? [];
          c.sqsMessagesSent += entries.length;
          sentBytes = entries.reduce((n, x) => n + byteLength(x.MessageBody), 0);
        }
        if (service === "S3" && api === "PutObject") sentBytes = byteLength(input.Body);
        const result = await next(args);
        const out = (result?.output ?? {}) as Input;
        if (dynamoRead || dynamoWrite) {
          const consumed = out.ConsumedCapacity as Capacity | Capacity[] | undefined;
          let units = 0;
          for (const cc of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
            units += cc.CapacityUnits ?? (cc.ReadCapacityUnits ?? 0) + (cc.WriteCapacityUnits ?? 0);
          }
          if (dynamoWrite) e.writeUnits += units;
          else e.readUnits += units;
        }
        let receivedBytes = 0;
        if (service === "Kinesis" && api === "GetRecords") c.kinesisRecordsRead += (out.Records as unknown[] | undefined)?.length ?? 0;
        if (service === "SQS" && api === "ReceiveMessage") {
          const messages = (out.Messages as Input[] | undefined) ?? [];
          if (messages.length === 0) c.sqsEmptyReceives++;
          c.sqsMessagesReceived += messages.length;
          receivedBytes = messages.reduce((n, m) => n + byteLength(m.Body), 0);
        }
        if (service === "S3" && api === "GetObject") receivedBytes = Number(out.ContentLength ?? 0);
        const bytes = sentBytes + receivedBytes;
        e.bytes += bytes;
        e.billed += service === "SQS" ? Math.max(1, Math.ceil(bytes / SQS_CHUNK)) : 1;
        return result;
      },
      { step: "initialize", name: `sparklessMeter${this.id}`, override: true },
    );
  }

  /** Attaches to the four clients of an AWS engine. */
  attachAll(clients: { kinesis: any; sqs: any; dynamodb: any; s3: any }): void {
    this.attach(clients.kinesis, "Kinesis");
    this.attach(clients.sqs, "SQS");
    this.attach(clients.dynamodb, "DynamoDB");
    this.attach(clients.s3, "S3");
  }
}

/** Adds every number of `from` into `into`, key by key (the counts are nested records of numbers). */
function addInto(into: Record<string, any>, from: Record<string, any>, sign: number): void {
  for (const [k, v] of Object.entries(from)) {
    if (typeof v === "number") into[k] = (into[k] ?? 0) + sign * v;
    else addInto((into[k] ??= {}), v, sign);
  }
}

/** The sum of several processes' counts. */
export function mergeCounts(parts: readonly MeterCounts[]): MeterCounts {
  const out = emptyCounts();
  for (const p of parts) addInto(out, p, 1);
  return out;
}

/** Counts minus a baseline taken earlier from the same meters. */
export function subtractCounts(after: MeterCounts, before: MeterCounts): MeterCounts {
  const out = mergeCounts([after]);
  addInto(out, before, -1);
  return out;
}

/** Multiplies every figure (a per-batch or per-second rate from a total). */
export function scaleCounts(c: MeterCounts, k: number): MeterCounts {
  const out = emptyCounts();
  addInto(out, c, k);
  return out;
}

export interface Filter {
  service?: string;
  purpose?: string;
  api?: string;
}

/** The sum of one figure over the calls that match. */
export function total(c: MeterCounts, field: keyof ApiCount, f: Filter = {}): number {
  let n = 0;
  for (const [service, purposes] of Object.entries(c.calls)) {
    if (f.service && service !== f.service) continue;
    for (const [purpose, apis] of Object.entries(purposes)) {
      if (f.purpose && purpose !== f.purpose) continue;
      for (const [api, x] of Object.entries(apis)) if (!f.api || api === f.api) n += x[field];
    }
  }
  return n;
}

/** Requests to one service (all of them, or matching the filter). */
export const requestsOf = (c: MeterCounts, service: string, f: Omit<Filter, "service"> = {}): number => total(c, "requests", { ...f, service });

/** Only the calls of the given purposes (of any service), and none of the other figures. */
export function selectPurposes(c: MeterCounts, purposes: readonly string[]): MeterCounts {
  const out = emptyCounts();
  for (const [service, byPurpose] of Object.entries(c.calls)) {
    for (const [purpose, apis] of Object.entries(byPurpose)) {
      if (purposes.includes(purpose)) (out.calls[service] ??= {})[purpose] = structuredClone(apis);
    }
  }
  return out;
}

/** One row per service, purpose and API, in a stable order. */
export function rows(c: MeterCounts): { service: string; purpose: string; api: string; count: ApiCount }[] {
  const out: { service: string; purpose: string; api: string; count: ApiCount }[] = [];
  for (const service of Object.keys(c.calls).sort()) {
    for (const purpose of Object.keys(c.calls[service]!).sort()) {
      for (const api of Object.keys(c.calls[service]![purpose]!).sort())
        out.push({ service, purpose, api, count: c.calls[service]![purpose]![api]! });
    }
  }
  return out;
}
