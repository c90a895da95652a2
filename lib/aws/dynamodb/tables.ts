/**
 * The app's two tables, both keyed pk (S) + sk (S), on-demand, with TTL on `ttl`:
 *
 *  meta   the batch log, the app's info, the coordinator's lease, task claims, checkpoint manifests, quarantine
 *  state  checkpoint pages, and the per-key state backend's items
 *
 * Items of several apps can share them: every key starts with the app's name.
 */
import { CreateTableCommand, DescribeTableCommand, UpdateTimeToLiveCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { IllegalStateError } from "../../core/errors.js";
import { sleep } from "../../core/clock.js";
import { errorName } from "./util.js";

export interface TableNames {
  meta: string;
  state: string;
}

/** Creates the tables (idempotent) and waits until they are ACTIVE; enables TTL where the engine supports it. */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    [names.meta, names.state].map(async (TableName) => {
      try {
        await client.send(
          new CreateTableCommand({
            TableName,
            BillingMode: "PAY_PER_REQUEST",
            AttributeDefinitions: [
              { AttributeName: "pk", AttributeType: "S" },
              { AttributeName: "sk", AttributeType: "S" },
            ],
            KeySchema: [
              { AttributeName: "pk", KeyType: "HASH" },
              { AttributeName: "sk", KeyType: "RANGE" },
            ],
          }),
        );
      } catch (error) {
        if (errorName(error) !== "ResourceInUseException") throw error;
      }
      for (let i = 0; ; i++) {
        const d = await client.send(new DescribeTableCommand({ TableName }));
        if (d.Table?.TableStatus === "ACTIVE") break;
        if (i > 600) throw new IllegalStateError(`DynamoDB table ${TableName} did not become ACTIVE`);
        await sleep(Math.min(100 * (i + 1), 2_000));
      }
      try {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName,
            TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
          }),
        );
      } catch {
        // Already enabled (ValidationException), or an engine without TTL: TTL is only a backstop here.
      }
    }),
  );
}
