/**
 * Least privilege, statement by statement: every IAM statement in the template is checked for its
 * actions and its resources. No `*` action, no `*` resource, no AWS managed policy; each role holds
 * exactly the actions its handler sends (cdk/sparkless-app.ts lists them with the code that sends them).
 */
import { describe, expect, it } from "vitest";
import { Match } from "aws-cdk-lib/assertions";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as kms from "aws-cdk-lib/aws-kms";
import {
  COORDINATOR_KINESIS_ACTIONS, COORDINATOR_SQS_ACTIONS, DYNAMODB_ACTIONS, LOGS_ACTIONS, WORKER_KINESIS_ACTIONS, WORKER_SQS_ACTIONS,
} from "../../cdk/sparkless-app.js";
import { asArray, policyStatements, synth, scope } from "./support.js";

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
  it("exists: the template has the two roles' statements", () => {
    expect(roleIds).toHaveLength(2);
    expect(statements.length).toBeGreaterThanOrEqual(8);
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

  it("lets only Lambda assume the roles", () => {
    template.allResourcesProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: { Statement: [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" } }] },
    });
  });
});

describe("the coordinator's role", () => {
  const mine = statements.filter((s) => s.role === roleOf("CoordinatorRole")).map((s) => s.statement);
  const bySid = (sid: string) => mine.find((s) => s.Sid === sid)!;

  it("holds exactly: logs, Kinesis ListShards/GetShardIterator/GetRecords, the DynamoDB item actions, SQS SendMessage", () => {
    expect(mine.flatMap((s) => asArray(s.Action as string[])).sort()).toEqual(
      [...LOGS_ACTIONS, ...COORDINATOR_KINESIS_ACTIONS, ...DYNAMODB_ACTIONS, ...COORDINATOR_SQS_ACTIONS].sort());
  });

  it("reads only the input stream", () => {
    expect(asArray(bySid("ReadInputStreams").Resource).map(target)).toEqual(resourceIds("AWS::Kinesis::Stream"));
  });

  it("touches only the three tables", () => {
    expect(asArray(bySid("Tables").Resource).map(target).sort()).toEqual(resourceIds("AWS::DynamoDB::Table").sort());
  });

  it("sends only to the task queue (not the DLQ)", () => {
    expect(asArray(bySid("TaskQueue").Resource).map(target)).toEqual([resourceIds("AWS::SQS::Queue").find((id) => /TaskQueue/.test(id))]);
  });

  it("writes only to its own log group", () => {
    expect(asArray(bySid("Logs").Resource).map(target)).toEqual([resourceIds("AWS::Logs::LogGroup").find((id) => /CoordinatorLogs/.test(id))]);
  });
});

describe("the worker's role", () => {
  const mine = statements.filter((s) => s.role === roleOf("WorkerRole")).map((s) => s.statement);
  const bySid = (sid: string) => mine.find((s) => s.Sid === sid)!;

  it("holds exactly: logs, Kinesis GetShardIterator/GetRecords, the DynamoDB item actions, SQS consume and send", () => {
    expect(mine.flatMap((s) => asArray(s.Action as string[])).sort()).toEqual(
      [...LOGS_ACTIONS, ...WORKER_KINESIS_ACTIONS, ...DYNAMODB_ACTIONS, ...WORKER_SQS_ACTIONS].sort());
  });

  it("cannot list shards: it reads the ranges the coordinator fixed", () => {
    expect(mine.flatMap((s) => asArray(s.Action as string[]))).not.toContain("kinesis:ListShards");
  });

  it("consumes only the task queue", () => {
    expect(asArray(bySid("TaskQueue").Resource).map(target)).toEqual([resourceIds("AWS::SQS::Queue").find((id) => /TaskQueue/.test(id))]);
  });

  it("writes only to its own log group", () => {
    expect(asArray(bySid("Logs").Resource).map(target)).toEqual([resourceIds("AWS::Logs::LogGroup").find((id) => /WorkerLogs/.test(id))]);
  });
});

describe("resource policies", () => {
  it("lets only the schedule rule invoke the coordinator", () => {
    template.resourceCountIs("AWS::Lambda::Permission", 1);
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
      FunctionName: { "Fn::GetAtt": [Match.stringLikeRegexp("Coordinator"), "Arn"] },
      SourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("CoordinatorSchedule"), "Arn"] },
    });
  });

  it("queue policies only deny (TLS), they grant nothing", () => {
    for (const policy of Object.values(template.findResources("AWS::SQS::QueuePolicy"))) {
      const effects = (policy.Properties.PolicyDocument.Statement as { Effect: string }[]).map((s) => s.Effect);
      expect(effects).toEqual(["Deny"]);
    }
  });
});

describe("imported streams", () => {
  const arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/fixture-lines";
  const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const within = scope();
  const stream = kinesis.Stream.fromStreamAttributes(within, "Existing", { streamArn: arn, encryptionKey: kms.Key.fromKeyArn(within, "Key", keyArn) });
  const t = synth({ inputStreams: [{ streamName: "fixture-lines", stream }] }).template;
  const imported = policyStatements(t);

  it("are read by their ARN only", () => {
    const reads = imported.filter((s) => s.statement.Sid === "ReadInputStreams").map((s) => s.statement.Resource);
    expect(reads).toEqual([arn, arn]);
  });

  it("encrypted with a customer key: kms:Decrypt on that key only", () => {
    const decrypts = imported.filter((s) => s.statement.Sid === "DecryptInputStreams").map((s) => [s.statement.Action, s.statement.Resource]);
    expect(decrypts).toEqual([["kms:Decrypt", keyArn], ["kms:Decrypt", keyArn]]);
  });
});
