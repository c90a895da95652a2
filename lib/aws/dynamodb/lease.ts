/**
 * The coordinator's lease on the meta table (pk `${app}#lease`, sk "coordinator"): one coordinator
 * drives an app at a time. A lease is taken or renewed with one conditional put; the coordinator
 * renews it every third of its length, so at a one-second interval it costs a write every few seconds.
 */
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LeaseStore } from "../../storage/interfaces.js";
import { id, isConditionFailed } from "./util.js";

export class DynamoLease implements LeaseStore {
  private readonly key: { pk: string; sk: string };
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    app: string,
  ) {
    this.key = { pk: `${id(app)}#lease`, sk: "coordinator" };
  }
  async acquire(owner: string, until: number, now: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...this.key, owner, until },
          ConditionExpression: "attribute_not_exists(pk) OR #owner = :owner OR #until <= :now",
          ExpressionAttributeNames: { "#owner": "owner", "#until": "until" },
          ExpressionAttributeValues: { ":owner": owner, ":now": now },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }
  async release(owner: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: this.key,
          ConditionExpression: "#owner = :owner",
          ExpressionAttributeNames: { "#owner": "owner" },
          ExpressionAttributeValues: { ":owner": owner },
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
  }
}
