/**
 * Least privilege, statement by statement: every IAM statement in the template is checked for its
 * actions and its resources. No `*` action, no `*` resource, no AWS managed policy; each role holds
 * exactly the actions its handler sends (cdk/iam.ts lists them with the code that sends them), each on
 * exactly the resource it sends them to. Objects in the created bucket are granted by the bucket's own
 * policy, to each role by ARN and on its key prefixes only. The schedule's role may only invoke the
 * coordinator. Resources passed in with customer managed keys get exactly the key grants they need.
 */
import { describe, expect, it } from "vitest";
import { Match } from "aws-cdk-lib/assertions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sqs from "aws-cdk-lib/aws-sqs";
import {
  BUCKET_KMS_ACTIONS,
  COORDINATOR_KINESIS_ACTIONS,
  COORDINATOR_META_ACTIONS,
  COORDINATOR_OBJECT_PREFIXES,
  COORDINATOR_RESULT_QUEUE_ACTIONS,
  COORDINATOR_STATE_ACTIONS,
  COORDINATOR_TASK_QUEUE_ACTIONS,
  LOGS_ACTIONS,
  QUEUE_RECEIVE_KMS_ACTIONS,
  QUEUE_SEND_KMS_ACTIONS,
  S3_ACTIONS,
  TABLE_KMS_ACTIONS,
  WORKER_KINESIS_ACTIONS,
  WORKER_META_ACTIONS,
  WORKER_OBJECT_PREFIXES,
  WORKER_RESULT_QUEUE_ACTIONS,
  WORKER_STATE_ACTIONS,
  WORKER_TASK_QUEUE_ACTIONS,
} from "../../cdk/sparkless-app.js";
import { FIXTURE_PROPS, asArray, policyStatements, synth, scope } from "./support.js";

const { template } = synth();
const statements = policyStatements(template);
const roleIds = Object.keys(template.findResources("AWS::IAM::Role"));
const roleOf = (name: string) => roleIds.find((id) => id.includes(name))!;
const resourceIds = (type: string) => Object.keys(template.findResources(type));

/** The logical id a resource reference points at ({Ref} or {Fn::GetAtt: [id, "Arn"]}), or the literal. */
function target(resource: unknown): string {
  if (typeof resource === "string") return resource;
  const r = resource as { Ref?: string; "Fn::GetAtt"?: [string, string] };
  if (r.Ref) return r.Ref;
  if (r["Fn::GetAtt"]) return r["Fn::GetAtt"][0];
  return JSON.stringify(resource);
}

describe("every IAM statement", () => {
  it("exists: the template has the three roles' statements (coordinator, worker, schedule)", () => {
    expect(roleIds.map((id) => id.replace(/[0-9A-F]{8}$/, ""))).toEqual(["AppCoordinatorRole", "AppWorkerRole", "AppSchedulerRole"]);
    expect(statements).toHaveLength(13);
  });

  it.each(statements.map((s, i) => [i, s.role, s.statement] as const))("statement %i of %s allows no `*` action", (_i, _role, statement) => {
    const actions = asArray(statement.Action as string | string[]);
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) expect(a).toMatch(/^[a-z0-9]+:[A-Za-z]+$/);
    expect(statement.NotAction).toBeUndefined();
  });

  it.each(statements.map((s, i) => [i, s.role, s.statement] as const))("statement %i of %s names its resources (no `*`)", (_i, _role, statement) => {
    const resources = asArray(statement.Resource as unknown);
    expect(resources.length).toBeGreaterThan(0);
    for (const r of resources) {
      expect(r).not.toBe("*");
      // a reference to a resource of this stack, or a full ARN without wildcards
      if (typeof r === "string") expect(r).toMatch(/^arn:aws:[a-z0-9-]+:[a-z0-9-]+:\d{12}:[^*]+$/);
      else expect(target(r)).toMatch(/^App/);
    }
    expect(statement.NotResource).toBeUndefined();
    expect(statement.Effect).toBe("Allow");
  });

  it("uses no AWS managed policy", () => {
    template.allResourcesProperties("AWS::IAM::Role", { ManagedPolicyArns: Match.absent() });
  });

  it("lets only Lambda assume the functions' roles", () => {
    for (const name of ["CoordinatorRole", "WorkerRole"]) {
      expect(template.findResources("AWS::IAM::Role")[roleOf(name)]!.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" } },
      ]);
    }
  });

  it("attaches no separate policy: every grant is in its role's one inline policy or a resource's own policy", () => {
    template.resourceCountIs("AWS::IAM::Policy", 0);
  });
});

const queueId = (name: string) => resourceIds("AWS::SQS::Queue").find((id) => new RegExp(`^App${name}[0-9A-F]{8}$`).test(id));
const tableId = (name: string) => resourceIds("AWS::DynamoDB::Table").find((id) => new RegExp(`^App${name}[0-9A-F]{8}$`).test(id));

describe("the coordinator's role", () => {
  const mine = statements.filter((s) => s.role === roleOf("CoordinatorRole")).map((s) => s.statement);
  const bySid = (sid: string) => mine.find((s) => s.Sid === sid)!;
  const actionsOf = (sid: string) => asArray(bySid(sid).Action as string[]);

  it("holds one statement per resource kind: logs, streams, each table, each queue", () => {
    expect(mine.map((s) => s.Sid)).toEqual(["Logs", "ReadInputStreams", "MetaTable", "StateTable", "TaskQueue", "ResultQueue"]);
  });

  it("reads only the input stream: ListShards, GetShardIterator, GetRecords", () => {
    expect(actionsOf("ReadInputStreams")).toEqual([...COORDINATOR_KINESIS_ACTIONS]);
    expect(asArray(bySid("ReadInputStreams").Resource).map(target)).toEqual(resourceIds("AWS::Kinesis::Stream"));
  });

  it("on the meta table: the batch log, app info, lease, claims, manifests and quarantine (no BatchWriteItem)", () => {
    expect(actionsOf("MetaTable")).toEqual([...COORDINATOR_META_ACTIONS]);
    expect(actionsOf("MetaTable")).not.toContain("dynamodb:BatchWriteItem");
    expect(asArray(bySid("MetaTable").Resource).map(target)).toEqual([tableId("MetaTable")]);
  });

  it("on the state table: checkpoint pages and per-key state (no UpdateItem)", () => {
    expect(actionsOf("StateTable")).toEqual([...COORDINATOR_STATE_ACTIONS]);
    expect(actionsOf("StateTable")).not.toContain("dynamodb:UpdateItem");
    expect(asArray(bySid("StateTable").Resource).map(target)).toEqual([tableId("StateTable")]);
  });

  it("only sends to the task queue (not the DLQ)", () => {
    expect(actionsOf("TaskQueue")).toEqual(["sqs:SendMessage"]);
    expect(actionsOf("TaskQueue")).toEqual([...COORDINATOR_TASK_QUEUE_ACTIONS]);
    expect(asArray(bySid("TaskQueue").Resource).map(target)).toEqual([queueId("TaskQueue")]);
  });

  it("only receives and deletes from the result queue", () => {
    expect(actionsOf("ResultQueue")).toEqual([...COORDINATOR_RESULT_QUEUE_ACTIONS]);
    expect(actionsOf("ResultQueue")).not.toContain("sqs:SendMessage");
    expect(asArray(bySid("ResultQueue").Resource).map(target)).toEqual([queueId("ResultQueue")]);
  });

  it("writes only to its own log group", () => {
    expect(actionsOf("Logs")).toEqual([...LOGS_ACTIONS]);
    expect(asArray(bySid("Logs").Resource).map(target)).toEqual([resourceIds("AWS::Logs::LogGroup").find((id) => /CoordinatorLogs/.test(id))]);
  });
});

describe("the worker's role", () => {
  const mine = statements.filter((s) => s.role === roleOf("WorkerRole")).map((s) => s.statement);
  const bySid = (sid: string) => mine.find((s) => s.Sid === sid)!;
  const actionsOf = (sid: string) => asArray(bySid(sid).Action as string[]);

  it("holds one statement per resource kind: logs, streams, each table, each queue", () => {
    expect(mine.map((s) => s.Sid)).toEqual(["Logs", "ReadInputStreams", "MetaTable", "StateTable", "TaskQueue", "ResultQueue"]);
  });

  it("reads the input stream but cannot list shards: it reads the ranges the coordinator fixed", () => {
    expect(actionsOf("ReadInputStreams")).toEqual([...WORKER_KINESIS_ACTIONS]);
    expect(actionsOf("ReadInputStreams")).not.toContain("kinesis:ListShards");
    expect(asArray(bySid("ReadInputStreams").Resource).map(target)).toEqual(resourceIds("AWS::Kinesis::Stream"));
  });

  it("on the meta table: claims, batch log reads and quarantine writes; it cannot delete or batch-write", () => {
    expect(actionsOf("MetaTable")).toEqual([...WORKER_META_ACTIONS]);
    for (const a of ["dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"]) expect(actionsOf("MetaTable")).not.toContain(a);
    expect(asArray(bySid("MetaTable").Resource).map(target)).toEqual([tableId("MetaTable")]);
  });

  it("on the state table: the per-key state backend; it cannot write checkpoint pages (BatchWriteItem)", () => {
    expect(actionsOf("StateTable")).toEqual([...WORKER_STATE_ACTIONS]);
    expect(actionsOf("StateTable")).not.toContain("dynamodb:BatchWriteItem");
    expect(asArray(bySid("StateTable").Resource).map(target)).toEqual([tableId("StateTable")]);
  });

  it("consumes the task queue (the event source mapping) but never sends tasks", () => {
    expect(actionsOf("TaskQueue")).toEqual([...WORKER_TASK_QUEUE_ACTIONS]);
    expect(actionsOf("TaskQueue")).not.toContain("sqs:SendMessage");
    expect(asArray(bySid("TaskQueue").Resource).map(target)).toEqual([queueId("TaskQueue")]);
  });

  it("only sends to the result queue", () => {
    expect(actionsOf("ResultQueue")).toEqual(["sqs:SendMessage"]);
    expect(actionsOf("ResultQueue")).toEqual([...WORKER_RESULT_QUEUE_ACTIONS]);
    expect(asArray(bySid("ResultQueue").Resource).map(target)).toEqual([queueId("ResultQueue")]);
  });

  it("writes only to its own log group", () => {
    expect(actionsOf("Logs")).toEqual([...LOGS_ACTIONS]);
    expect(asArray(bySid("Logs").Resource).map(target)).toEqual([resourceIds("AWS::Logs::LogGroup").find((id) => /WorkerLogs/.test(id))]);
  });
});

describe("the bucket's policy", () => {
  const bucketId = resourceIds("AWS::S3::Bucket").find((id) => /^AppBucket/.test(id))!;
  const policy = Object.values(template.findResources("AWS::S3::BucketPolicy")).find((p) => p.Properties.Bucket.Ref === bucketId)!;
  const grants = (policy.Properties.PolicyDocument.Statement as Record<string, any>[]).filter((s) => s.Effect === "Allow");
  const objects = (prefixes: readonly string[]) =>
    prefixes.map((p) => ({ "Fn::Join": ["", [{ "Fn::GetAtt": [bucketId, "Arn"] }, `/cdkfixture/${p}*`]] }));

  it("grants objects to exactly the two roles, and nothing to anyone else", () => {
    expect(grants.map((s) => [s.Sid, s.Principal])).toEqual([
      ["cdkfixtureCoordinatorObjects", { AWS: { "Fn::GetAtt": [roleOf("CoordinatorRole"), "Arn"] } }],
      ["cdkfixtureWorkerObjects", { AWS: { "Fn::GetAtt": [roleOf("WorkerRole"), "Arn"] } }],
    ]);
  });

  it("lets the coordinator get and put objects under <app>/shuffle/, inputs/ and checkpoints/ only", () => {
    const s = grants.find((g) => g.Sid === "cdkfixtureCoordinatorObjects")!;
    expect(asArray(s.Action)).toEqual([...S3_ACTIONS]);
    expect(s.Resource).toEqual(objects(COORDINATOR_OBJECT_PREFIXES));
  });

  it("lets the worker get and put objects under <app>/shuffle/ and inputs/ only: never checkpoints", () => {
    const s = grants.find((g) => g.Sid === "cdkfixtureWorkerObjects")!;
    expect(asArray(s.Action)).toEqual([...S3_ACTIONS]);
    expect(s.Resource).toEqual(objects(WORKER_OBJECT_PREFIXES));
    expect(JSON.stringify(s.Resource)).not.toContain("checkpoints");
  });

  it("grants no bucket-level action (no listing, no policy or configuration changes)", () => {
    for (const s of grants) for (const a of asArray(s.Action as string[])) expect(a).toMatch(/^s3:(Get|Put)Object$/);
  });

  it("covers only prefixes a lifecycle rule expires: nothing the functions write lives forever", () => {
    const bucket = template.findResources("AWS::S3::Bucket")[bucketId]!.Properties;
    const expiring = (bucket.LifecycleConfiguration.Rules as { Prefix: string }[]).map((r) => r.Prefix);
    for (const p of COORDINATOR_OBJECT_PREFIXES) expect(expiring).toContain(`cdkfixture/${p}`);
  });
});

describe("the schedule's role", () => {
  it("lets only EventBridge Scheduler assume it, for schedules of this account's default group", () => {
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: "sts:AssumeRole",
            Effect: "Allow",
            Principal: { Service: "scheduler.amazonaws.com" },
            Condition: {
              StringEquals: {
                "aws:SourceAccount": { Ref: "AWS::AccountId" },
                "aws:SourceArn": {
                  "Fn::Join": [
                    "",
                    [
                      "arn:",
                      { Ref: "AWS::Partition" },
                      ":scheduler:",
                      { Ref: "AWS::Region" },
                      ":",
                      { Ref: "AWS::AccountId" },
                      ":schedule-group/default",
                    ],
                  ],
                },
              },
            },
          },
        ],
      },
    });
  });

  it("may only invoke the coordinator, by its unqualified ARN (no `:*` for versions and aliases)", () => {
    const mine = statements.filter((s) => s.role === roleOf("SchedulerRole")).map((s) => s.statement);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ Sid: "InvokeCoordinator", Effect: "Allow", Action: "lambda:InvokeFunction" });
    expect(asArray(mine[0]!.Resource).map(target)).toEqual([resourceIds("AWS::Lambda::Function").find((id) => /^AppCoordinator/.test(id))]);
  });
});

describe("resource policies", () => {
  it("the coordinator has no resource policy: the schedule invokes it with its role", () => {
    template.resourceCountIs("AWS::Lambda::Permission", 0);
  });

  it("the access-log bucket's policy grants only S3 log delivery", () => {
    const logsId = resourceIds("AWS::S3::Bucket").find((id) => /^AppAccessLogsBucket/.test(id))!;
    const policy = Object.values(template.findResources("AWS::S3::BucketPolicy")).find((p) => p.Properties.Bucket.Ref === logsId)!;
    const allows = (policy.Properties.PolicyDocument.Statement as Record<string, any>[]).filter((s) => s.Effect === "Allow");
    expect(allows.map((s) => [s.Principal, s.Action])).toEqual([[{ Service: "logging.s3.amazonaws.com" }, "s3:PutObject"]]);
  });

  it("queue policies only deny (TLS), they grant nothing", () => {
    for (const policy of Object.values(template.findResources("AWS::SQS::QueuePolicy"))) {
      const effects = (policy.Properties.PolicyDocument.Statement as { Effect: string }[]).map((s) => s.Effect);
      expect(effects).toEqual(["Deny"]);
    }
  });
});

describe("imported streams (fromStreamAttributes with its key)", () => {
  const arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/fixture-lines";
  const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const within = scope();
  const stream = kinesis.Stream.fromStreamAttributes(within, "Existing", {
    streamArn: arn,
    encryptionKey: kms.Key.fromKeyArn(within, "Key", keyArn),
  });
  const t = synth({ inputStreams: [{ streamName: "fixture-lines", stream }] }).template;
  const imported = policyStatements(t);

  it("are read by their ARN only", () => {
    const reads = imported.filter((s) => s.statement.Sid === "ReadInputStreams").map((s) => s.statement.Resource);
    expect(reads).toEqual([arn, arn]);
  });

  it("encrypted with a customer key: kms:Decrypt on that key only", () => {
    const decrypts = imported.filter((s) => s.statement.Sid === "DecryptInputStreams").map((s) => [s.statement.Action, s.statement.Resource]);
    expect(decrypts).toEqual([
      ["kms:Decrypt", keyArn],
      ["kms:Decrypt", keyArn],
    ]);
  });
});

describe("an imported stream with a customer managed key given as encryptionKey (fromStreamArn cannot carry it)", () => {
  const arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/fixture-lines";
  const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const within = scope();
  const stream = kinesis.Stream.fromStreamArn(within, "Existing", arn);
  const t = synth({ inputStreams: [{ streamName: "fixture-lines", stream, encryptionKey: kms.Key.fromKeyArn(within, "Key", keyArn) }] }).template;

  it("gives both roles kms:Decrypt on that key only", () => {
    const decrypts = policyStatements(t)
      .filter((s) => s.statement.Sid === "DecryptInputStreams")
      .map((s) => [s.statement.Action, s.statement.Resource]);
    expect(decrypts).toEqual([
      ["kms:Decrypt", keyArn],
      ["kms:Decrypt", keyArn],
    ]);
  });

  it("without it, an imported stream gets no key grant (aws/kinesis needs none)", () => {
    const plain = synth({ inputStreams: [{ streamName: "fixture-lines", stream: kinesis.Stream.fromStreamArn(scope(), "Plain", arn) }] }).template;
    expect(policyStatements(plain).filter((s) => s.statement.Sid === "DecryptInputStreams")).toEqual([]);
  });
});

describe("imported tables with customer managed keys", () => {
  const metaKey = "arn:aws:kms:us-east-1:111122223333:key/11111111-1111-1111-1111-111111111111";
  const stateKey = "arn:aws:kms:us-east-1:111122223333:key/22222222-2222-2222-2222-222222222222";
  const within = scope();
  const metaTable = dynamodb.Table.fromTableAttributes(within, "Meta", {
    tableName: "shared-meta",
    encryptionKey: kms.Key.fromKeyArn(within, "MK", metaKey),
  });
  const stateTable = dynamodb.Table.fromTableAttributes(within, "State", {
    tableName: "shared-state",
    encryptionKey: kms.Key.fromKeyArn(within, "SK", stateKey),
  });
  const imported = policyStatements(synth({ metaTable, stateTable }).template);
  const bySid = (sid: string) =>
    imported.filter((s) => s.statement.Sid === sid).map((s) => [s.role.replace(/[0-9A-F]{8}$/, ""), s.statement.Action, s.statement.Resource]);

  it("grant each role its table actions on the tables' ARNs", () => {
    const arn = (name: string) => ({
      "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":dynamodb:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, `:table/${name}`]],
    });
    expect(bySid("MetaTable")).toEqual([
      ["AppCoordinatorRole", [...COORDINATOR_META_ACTIONS], arn("shared-meta")],
      ["AppWorkerRole", [...WORKER_META_ACTIONS], arn("shared-meta")],
    ]);
    expect(bySid("StateTable").map((s) => s[2])).toEqual([arn("shared-state"), arn("shared-state")]);
  });

  it("grant both roles the key actions on each table's key only", () => {
    expect(bySid("MetaTableKey")).toEqual([
      ["AppCoordinatorRole", [...TABLE_KMS_ACTIONS], metaKey],
      ["AppWorkerRole", [...TABLE_KMS_ACTIONS], metaKey],
    ]);
    expect(bySid("StateTableKey")).toEqual([
      ["AppCoordinatorRole", [...TABLE_KMS_ACTIONS], stateKey],
      ["AppWorkerRole", [...TABLE_KMS_ACTIONS], stateKey],
    ]);
  });
});

describe("imported queues with customer managed keys", () => {
  const taskKey = "arn:aws:kms:us-east-1:111122223333:key/33333333-3333-3333-3333-333333333333";
  const resultKey = "arn:aws:kms:us-east-1:111122223333:key/44444444-4444-4444-4444-444444444444";
  const within = scope();
  const taskQueue = sqs.Queue.fromQueueAttributes(within, "Tasks", { queueArn: "arn:aws:sqs:us-east-1:111122223333:shared-tasks", keyArn: taskKey });
  const resultQueue = sqs.Queue.fromQueueAttributes(within, "Results", {
    queueArn: "arn:aws:sqs:us-east-1:111122223333:shared-results",
    keyArn: resultKey,
  });
  const imported = policyStatements(synth({ taskQueue, resultQueue }).template);
  const bySid = (sid: string) =>
    imported.filter((s) => s.statement.Sid === sid).map((s) => [s.role.replace(/[0-9A-F]{8}$/, ""), s.statement.Action, s.statement.Resource]);

  it("grant each role its queue actions on the queues' ARNs", () => {
    expect(bySid("TaskQueue")).toEqual([
      ["AppCoordinatorRole", "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:shared-tasks"],
      ["AppWorkerRole", [...WORKER_TASK_QUEUE_ACTIONS], "arn:aws:sqs:us-east-1:111122223333:shared-tasks"],
    ]);
  });

  it("let the sender of each queue generate data keys and decrypt, the receiver only decrypt", () => {
    const one = (a: readonly string[]) => (a.length === 1 ? a[0] : [...a]);
    expect(bySid("TaskQueueKey")).toEqual([
      ["AppCoordinatorRole", one(QUEUE_SEND_KMS_ACTIONS), taskKey],
      ["AppWorkerRole", one(QUEUE_RECEIVE_KMS_ACTIONS), taskKey],
    ]);
    expect(bySid("ResultQueueKey")).toEqual([
      ["AppCoordinatorRole", one(QUEUE_RECEIVE_KMS_ACTIONS), resultKey],
      ["AppWorkerRole", one(QUEUE_SEND_KMS_ACTIONS), resultKey],
    ]);
  });
});

describe("a bucket of the same stack passed in", () => {
  const { template: t } = synth((stack) => ({ bucket: new s3.Bucket(stack, "Shared", { enforceSSL: true }) }));
  const sharedId = Object.keys(t.findResources("AWS::S3::Bucket"))[0]!;

  it("grants the objects in its policy, as a created bucket does, and nothing on the roles", () => {
    const policy = Object.values(t.findResources("AWS::S3::BucketPolicy")).find((p) => p.Properties.Bucket.Ref === sharedId)!;
    const allows = (policy.Properties.PolicyDocument.Statement as Record<string, any>[]).filter((s) => s.Effect === "Allow").map((s) => s.Sid);
    expect(allows).toEqual(["cdkfixtureCoordinatorObjects", "cdkfixtureWorkerObjects"]);
    expect(policyStatements(t).filter((s) => /^Bucket/.test(String(s.statement.Sid)))).toEqual([]);
  });
});

describe("an imported bucket", () => {
  const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const within = scope();
  const bucket = s3.Bucket.fromBucketAttributes(within, "Existing", {
    bucketName: "shared-bucket",
    encryptionKey: kms.Key.fromKeyArn(within, "Key", keyArn),
  });
  const t = synth({ bucket }).template;
  const imported = policyStatements(t);
  const bySid = (sid: string) =>
    imported.filter((s) => s.statement.Sid === sid).map((s) => [s.role.replace(/[0-9A-F]{8}$/, ""), s.statement.Action, s.statement.Resource]);
  const objects = (prefixes: readonly string[]) =>
    prefixes.map((p) => ({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:s3:::shared-bucket/cdkfixture/${p}*`]] }));

  it("cannot take a bucket policy, so each role gets its object statement in its own policy, on its prefixes", () => {
    t.resourceCountIs("AWS::S3::BucketPolicy", 0);
    expect(bySid("BucketObjects")).toEqual([
      ["AppCoordinatorRole", [...S3_ACTIONS], objects(COORDINATOR_OBJECT_PREFIXES)],
      ["AppWorkerRole", [...S3_ACTIONS], objects(WORKER_OBJECT_PREFIXES)],
    ]);
  });

  it("encrypted with a customer key: kms:Decrypt and kms:GenerateDataKey on that key only", () => {
    expect(bySid("BucketKey")).toEqual([
      ["AppCoordinatorRole", [...BUCKET_KMS_ACTIONS], keyArn],
      ["AppWorkerRole", [...BUCKET_KMS_ACTIONS], keyArn],
    ]);
  });
});

describe("the app's own data: textFileStream directories and output locations", () => {
  const { template: t } = synth((stack) => ({
    appModule: {
      appName: "cdkfixture",
      batchInterval: FIXTURE_PROPS.batchInterval,
      kinesisStreams: ["fixture-lines"],
      fileDirectories: ["s3://raw-logs/incoming/"],
    },
    outputLocations: [{ bucket: new s3.Bucket(stack, "Reports", { encryption: s3.BucketEncryption.KMS }), prefix: "daily/" }],
  }));
  const policies = Object.values(t.findResources("AWS::IAM::Policy")).filter(
    (p) => JSON.stringify(p).includes("DataLocations") || JSON.stringify(p).includes("ReadObjects0"),
  );
  const byRole = (p: (typeof policies)[number]) => JSON.stringify(p.Properties.Roles);

  it("grants both roles list and read on each directory the module watches, under its prefix only", () => {
    expect(policies).toHaveLength(2);
    expect(new Set(policies.map(byRole)).size).toBe(2);
    for (const p of policies) {
      const s = p.Properties.PolicyDocument.Statement as Record<string, any>[];
      const sid = (x: string) => s.find((y) => y.Sid === x)!;
      expect(sid("ListRead0")).toMatchObject({ Action: "s3:ListBucket", Condition: { StringLike: { "s3:prefix": ["incoming/*"] } } });
      expect(JSON.stringify(sid("ListRead0").Resource)).toContain(":s3:::raw-logs");
      expect(sid("ReadObjects0").Action).toBe("s3:GetObject");
      expect(JSON.stringify(sid("ReadObjects0").Resource)).toContain(":s3:::raw-logs/incoming/*");
      // Written locations: objects under the prefix (a rerun replaces parts and deletes stale ones), and the bucket's key.
      expect(sid("ListWrite0")).toMatchObject({ Action: "s3:ListBucket", Condition: { StringLike: { "s3:prefix": ["daily/*"] } } });
      expect(sid("WriteObjects0").Action).toEqual(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]);
      expect(JSON.stringify(sid("WriteObjects0").Resource)).toContain("/daily/*");
      expect(sid("WriteKey0").Action).toEqual(["kms:Decrypt", "kms:GenerateDataKey"]);
      expect(s.flatMap((x) => asArray(x.Action as string | string[])).some((a) => a.endsWith("*"))).toBe(false);
    }
  });

  it("grants nothing more when the module watches no directory and no output is given", () => {
    expect(Object.values(template.findResources("AWS::IAM::Policy")).filter((p) => JSON.stringify(p).includes("ReadObjects0"))).toEqual([]);
  });
});
