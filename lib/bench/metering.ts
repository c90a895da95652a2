/**
 * Counts the AWS requests a run makes, by service and API, with an SDK
 * middleware on each client: never estimated. DynamoDB reads and writes ask
 * for `ReturnConsumedCapacity: "TOTAL"` and the units the service reports
 * (DynamoDB Local reports them as DynamoDB does) are summed per API. Kinesis
 * PutRecords also counts its records (one PUT payload unit each while a
 * record is under 25 KB) and GetRecords the records it returned; SQS
 * ReceiveMessage counts empty and non-empty receives apart.
 */
import { writeFileSync } from "node:fs";

/** Counts of one run: `requests[service][api]`, DynamoDB capacity units per API, and a few record counts. */
export interface MeterCounts {
  requests: Record<string, Record<string, number>>;
  /** DynamoDB read capacity units consumed, per API (0.5 per eventually consistent 4 KB read). */
  readUnits: Record<string, number>;
  /** DynamoDB write capacity units consumed, per API (1 per 1 KB written). */
  writeUnits: Record<string, number>;
  /** Kinesis PUT payload units: records put, each counted in 25 KB units. */
  kinesisPutPayloadUnits: number;
  kinesisRecordsRead: number;
  sqsEmptyReceives: number;
  sqsMessagesReceived: number;
  sqsMessagesSent: number;
  /** Lambda handler invocations, with their measured durations, per function ("worker", "coordinator"). */
  invocations: Record<string, { count: number; totalMs: number }>;
}

export function emptyCounts(): MeterCounts {
  return {
    requests: {}, readUnits: {}, writeUnits: {}, kinesisPutPayloadUnits: 0, kinesisRecordsRead: 0,
    sqsEmptyReceives: 0, sqsMessagesReceived: 0, sqsMessagesSent: 0, invocations: {},
  };
}

const DYNAMO_WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);
const DYNAMO_READS = new Set(["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"]);

interface Capacity { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number }

/** A meter: counts what the clients it is attached to send. */
export class Meter {
  counts: MeterCounts = emptyCounts();

  reset(): void { this.counts = emptyCounts(); }

  /** A copy of the counts so far. */
  snapshot(): MeterCounts { return structuredClone(this.counts); }

  /** Records one Lambda-handler invocation and its duration. */
  invocation(fn: string, ms: number): void {
    const e = (this.counts.invocations[fn] ??= { count: 0, totalMs: 0 });
    e.count++;
    e.totalMs += ms;
  }

  /** Adds the middleware to a client (any SDK v3 client; DynamoDBDocumentClient shares its client's stack). */
  attach(client: { middlewareStack: { add: (mw: any, options: any) => void } }, service: string): void {
    const counts = () => this.counts;
    client.middlewareStack.add(
      (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
        const api = (context.commandName ?? "Unknown").replace(/Command$/, "");
        const c = counts();
        const svc = (c.requests[service] ??= {});
        svc[api] = (svc[api] ?? 0) + 1;
        const dynamoRead = service === "DynamoDB" && DYNAMO_READS.has(api);
        const dynamoWrite = service === "DynamoDB" && DYNAMO_WRITES.has(api);
        if (dynamoRead || dynamoWrite) args = { ...args, input: { ...args.input, ReturnConsumedCapacity: "TOTAL" } };
        if (service === "Kinesis" && api === "PutRecords") {
          const records = (args.input.Records as { Data?: Uint8Array }[] | undefined) ?? [];
          for (const r of records) c.kinesisPutPayloadUnits += Math.max(1, Math.ceil((r.Data?.length ?? 0) / 25_600));
        }
        if (service === "Kinesis" && api === "PutRecord") c.kinesisPutPayloadUnits += Math.max(1, Math.ceil(((args.input.Data as Uint8Array | undefined)?.length ?? 0) / 25_600));
        if (service === "SQS" && api === "SendMessage") c.sqsMessagesSent++;
        if (service === "SQS" && api === "SendMessageBatch") c.sqsMessagesSent += (args.input.Entries as unknown[] | undefined)?.length ?? 0;
        const result = await next(args);
        const out = (result?.output ?? {}) as Record<string, unknown>;
        if (dynamoRead || dynamoWrite) {
          const consumed = out.ConsumedCapacity as Capacity | Capacity[] | undefined;
          let units = 0;
          for (const cc of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
            units += cc.CapacityUnits ?? (cc.ReadCapacityUnits ?? 0) + (cc.WriteCapacityUnits ?? 0);
          }
          const bucket = dynamoWrite ? c.writeUnits : c.readUnits;
          bucket[api] = (bucket[api] ?? 0) + units;
        }
        if (service === "Kinesis" && api === "GetRecords") c.kinesisRecordsRead += (out.Records as unknown[] | undefined)?.length ?? 0;
        if (service === "SQS" && api === "ReceiveMessage") {
          const n = (out.Messages as unknown[] | undefined)?.length ?? 0;
          if (n === 0) c.sqsEmptyReceives++;
          c.sqsMessagesReceived += n;
        }
        return result;
      },
      { step: "initialize", name: "sparklessBenchMeter", override: true },
    );
  }

  /** Attaches to the three clients of an AWS engine. */
  attachAll(clients: { kinesis: any; sqs: any; dynamodb: any }): void {
    this.attach(clients.kinesis, "Kinesis");
    this.attach(clients.sqs, "SQS");
    this.attach(clients.dynamodb, "DynamoDB");
  }

  /** Writes the counts to `path` (JSON). */
  writeTo(path: string): void { writeFileSync(path, JSON.stringify(this.counts)); }
}

/** The sum of several processes' counts. */
export function mergeCounts(parts: readonly MeterCounts[]): MeterCounts {
  const out = emptyCounts();
  const addMap = (into: Record<string, number>, from: Record<string, number>) => { for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v; };
  for (const p of parts) {
    for (const [svc, apis] of Object.entries(p.requests)) addMap((out.requests[svc] ??= {}), apis);
    addMap(out.readUnits, p.readUnits);
    addMap(out.writeUnits, p.writeUnits);
    out.kinesisPutPayloadUnits += p.kinesisPutPayloadUnits;
    out.kinesisRecordsRead += p.kinesisRecordsRead;
    out.sqsEmptyReceives += p.sqsEmptyReceives;
    out.sqsMessagesReceived += p.sqsMessagesReceived;
    out.sqsMessagesSent += p.sqsMessagesSent;
    for (const [fn, inv] of Object.entries(p.invocations)) {
      const e = (out.invocations[fn] ??= { count: 0, totalMs: 0 });
      e.count += inv.count;
      e.totalMs += inv.totalMs;
    }
  }
  return out;
}

/** Counts minus a baseline taken earlier from the same meter. */
export function subtractCounts(after: MeterCounts, before: MeterCounts): MeterCounts {
  const neg = (m: MeterCounts): MeterCounts => {
    const n = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, -v]));
    return {
      requests: Object.fromEntries(Object.entries(m.requests).map(([s, a]) => [s, n(a)])), readUnits: n(m.readUnits), writeUnits: n(m.writeUnits),
      kinesisPutPayloadUnits: -m.kinesisPutPayloadUnits, kinesisRecordsRead: -m.kinesisRecordsRead, sqsEmptyReceives: -m.sqsEmptyReceives,
      sqsMessagesReceived: -m.sqsMessagesReceived, sqsMessagesSent: -m.sqsMessagesSent,
      invocations: Object.fromEntries(Object.entries(m.invocations).map(([f, i]) => [f, { count: -i.count, totalMs: -i.totalMs }])),
    };
  };
  return mergeCounts([after, neg(before)]);
}

/** Total requests to one service. */
export function requestsOf(c: MeterCounts, service: string): number {
  return Object.values(c.requests[service] ?? {}).reduce((a, b) => a + b, 0);
}
export const sumValues = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
