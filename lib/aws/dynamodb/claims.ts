/**
 * Task claims of fanned-out stages on the meta table: one item per task of one run of a batch,
 *
 *  pk `${app}#claim#${batchTime}#${runId}`   sk `${stage}#${partition}`   owner, until, done, ttl (1 day)
 *
 * Claiming is one conditional put (free, or held by this owner, or expired, and not done); a worker
 * renews its claim every third of the lease while the task runs, so a claim that stops being renewed
 * marks a dead worker within one lease. Only fanned-out batches write claims: a batch run in the
 * coordinator writes none.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { taskKeyId } from "../../storage/memory.js";
import { taskStageKey, type ClaimState, type TaskClaims, type TaskKey } from "../../storage/interfaces.js";
import { DAY_S, batchGet, id, isConditionFailed, ttlIn, type Key } from "./util.js";

export class DynamoClaims implements TaskClaims {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly app: string,
  ) {}
  private key(t: TaskKey): Key {
    return { pk: `${id(this.app)}#claim#${t.batchTime}#${id(t.runId)}`, sk: `${taskStageKey(t)}#${t.partition}` };
  }

  async claim(task: TaskKey, owner: string, until: number, now: number): Promise<"claimed" | "busy" | "done"> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...this.key(task), owner, until, done: false, ttl: ttlIn(DAY_S) },
          ConditionExpression: "attribute_not_exists(pk) OR (#done = :no AND (#owner = :owner OR #until <= :now))",
          ExpressionAttributeNames: { "#owner": "owner", "#until": "until", "#done": "done" },
          ExpressionAttributeValues: { ":owner": owner, ":now": now, ":no": false },
        }),
      );
      return "claimed";
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const r = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.key(task), ConsistentRead: true }));
      return r.Item?.done === true ? "done" : "busy";
    }
  }

  async renew(task: TaskKey, owner: string, until: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(task),
          UpdateExpression: "SET #until = :until",
          ConditionExpression: "#owner = :owner AND #done = :no",
          ExpressionAttributeNames: { "#owner": "owner", "#until": "until", "#done": "done" },
          ExpressionAttributeValues: { ":owner": owner, ":until": until, ":no": false },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async finish(task: TaskKey, owner: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.key(task),
        UpdateExpression: "SET #done = :yes, #owner = :owner, #ttl = :ttl",
        ExpressionAttributeNames: { "#done": "done", "#owner": "owner", "#ttl": "ttl" },
        ExpressionAttributeValues: { ":yes": true, ":owner": owner, ":ttl": ttlIn(DAY_S) },
      }),
    );
  }

  async inspect(tasks: readonly TaskKey[]): Promise<Map<string, ClaimState>> {
    const items = await batchGet(
      this.doc,
      this.table,
      tasks.map((t) => this.key(t)),
    );
    const byKey = new Map(items.map((i) => [`${i.pk as string}/${i.sk as string}`, i]));
    const out = new Map<string, ClaimState>();
    for (const t of tasks) {
      const k = this.key(t);
      const i = byKey.get(`${k.pk}/${k.sk}`);
      if (i) out.set(taskKeyId(t), { owner: i.owner as string, until: Number(i.until), done: i.done === true });
    }
    return out;
  }
}
