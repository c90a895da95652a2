/**
 * The chaos app's output sink: one DynamoDB item per batch time in the meta
 * table (`<app>#chaos#out` / zero-padded time), overwritten whole by a
 * PutItem. A retried or duplicated output task writes the same item again,
 * so the sink is exactly-once per batch: the "DynamoDB sink keyed by batch
 * time" of docs/guarantees.md.
 */
import { PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createClients, engineConfigFromEnv } from "../../lib/aws/engine.js";
import { queryAll } from "./query.js";
import { canonical, type ChaosElement } from "./pipeline.js";

let client: { doc: DynamoDBDocumentClient; table: string; app: string } | undefined;

/** The chaos processes hand their (fault-injecting) client here; otherwise one is built from the environment. */
export function setSinkClient(doc: DynamoDBDocumentClient, table: string, app: string): void {
  client = { doc, table, app };
}

function sinkClient() {
  if (!client) {
    const config = engineConfigFromEnv();
    client = { doc: createClients(config).doc, table: config.tables.meta, app: config.app };
  }
  return client;
}

const pk = (app: string) => `${app}#chaos#out`;
const pad = (n: number) => String(n).padStart(15, "0");

export async function writeOutput(time: number, elements: readonly ChaosElement[]): Promise<void> {
  const c = sinkClient();
  await c.doc.send(
    new PutCommand({
      TableName: c.table,
      Item: { pk: pk(c.app), sk: pad(time), time, out: JSON.stringify(canonical(elements)) },
    }),
  );
}

const partsPk = (app: string) => `${app}#chaos#parts`;

/** One partition of a batch's word counts, one item per (batch time, partition), overwritten whole. */
export async function writePartition(time: number, partition: number, counts: readonly [string, number][]): Promise<void> {
  const c = sinkClient();
  await c.doc.send(
    new PutCommand({
      TableName: c.table,
      Item: { pk: partsPk(c.app), sk: `${pad(time)}#${partition}`, time, counts: JSON.stringify(counts) },
    }),
  );
}

/** Every batch's word counts as its partitions wrote them: time → word → count (a word twice is an error). */
export async function readPartitions(doc: DynamoDBDocumentClient, table: string, app: string): Promise<Map<number, Map<string, number>>> {
  const out = new Map<number, Map<string, number>>();
  for (const i of await queryAll(doc, table, partsPk(app))) {
    const m = out.get(Number(i.time)) ?? new Map<string, number>();
    for (const [w, n] of JSON.parse(String(i.counts)) as [string, number][]) {
      if (m.has(w)) throw new Error(`batch ${String(i.time)}: "${w}" written by two partitions`);
      m.set(w, n);
    }
    out.set(Number(i.time), m);
  }
  return out;
}

/** Every batch's recorded output: time → canonical elements. */
export async function readOutputs(doc: DynamoDBDocumentClient, table: string, app: string): Promise<Map<number, ChaosElement[]>> {
  const items = await queryAll(doc, table, pk(app));
  return new Map(items.map((i) => [Number(i.time), JSON.parse(String(i.out)) as ChaosElement[]]));
}
