/**
 * `cdk bootstrap` and `cdk deploy` of the demo stack (cdk/app.ts, synthesized with the pinned CLI) against
 * moto_server, the multi-service emulator LocalStack was first built on: how far a deployment to an
 * emulator on one endpoint gets without Docker, and why it stops where it does.
 *
 * 1. `cdk bootstrap aws://123456789012/us-east-1` with AWS_ENDPOINT_URL works.
 * 2. `cdk deploy` then publishes the assets to the staging bucket and stops creating the change set with
 *    "The specified bucket does not exist". The CLI hands CloudFormation the template's URL built on the
 *    S3 endpoint, path-style: http://127.0.0.1:PORT/cdk-hnb659fds-assets-…/HASH.json. moto's
 *    CloudFormation reads a URL path-style only when it contains "localhost" or is an s3…amazonaws.com
 *    host; otherwise it takes the host's first label for the bucket: "127".
 *    The CLI's AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION sets the endpoint that URL is built on; with
 *    http://localhost:PORT (moto reads the template from its own S3 store, so nothing connects to it),
 *    the change set is created.
 * 3. Executing it stops at the dashboard: moto's CloudFormation has no AWS::CloudWatch::Alarm (nor
 *    AWS::Scheduler::Schedule, AWS::SQS::QueuePolicy, AWS::S3::BucketPolicy, AWS::Lambda::EventInvokeConfig;
 *    it skips those), and the dashboard's alarm widget references the alarms' ARNs.
 * 4. With those references in the synthesized template replaced by literal ARNs, the stack deploys: the
 *    stream, tables, queues (with their dead-letter redrive), buckets, log groups, roles, both functions
 *    (created with the bundles, not invoked: invoking needs Docker) and the event source mapping exist as
 *    the template says.
 * Without moto_server on PATH, one test reports that this did not run (see test/support/moto.ts).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DescribeStreamSummaryCommand, KinesisClient } from "@aws-sdk/client-kinesis";
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ListBucketsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { motoCall, motoInstalled, motoMissingTest, startMoto, xmlValues, type Moto } from "../support/moto.js";
import { ROOT } from "./support.js";

const ACCOUNT = "123456789012"; // moto's account
const REGION = "us-east-1";
const STACK = "Sparkless-wordcount";
const STAGING_BUCKET = `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`;
/** Resource types moto's CloudFormation skips (it logs "No Moto CloudFormation support for …"). */
const UNSUPPORTED_BY_MOTO = [
  "AWS::CloudWatch::Alarm",
  "AWS::Scheduler::Schedule",
  "AWS::SQS::QueuePolicy",
  "AWS::S3::BucketPolicy",
  "AWS::Lambda::EventInvokeConfig",
  "AWS::CDK::Metadata",
];

interface Resource {
  Type: string;
  Properties?: Record<string, any>;
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, unknown>;
}
interface CliResult {
  code: number;
  output: string;
}

describe("cdk bootstrap and cdk deploy against moto_server", () => {
  if (!motoInstalled()) {
    motoMissingTest("test/cdk/deploy-moto.test.ts (cdk bootstrap and deploy against moto_server)");
    return;
  }
  let moto: Moto;
  let work: string;
  let assembly: string;
  let template: Template;
  const clientConfig = () => ({
    region: REGION,
    endpoint: moto.url,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    requestHandler: new NodeHttpHandler(),
  });

  /** The pinned CDK CLI, with dummy credentials and every AWS endpoint on moto; `extra` adds variables. */
  function cdk(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
    const env: NodeJS.ProcessEnv = {};
    // Nothing of the caller's AWS set-up may leak in (a profile, a session token, other endpoints).
    for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|CDK_)/.test(k)) env[k] = v;
    Object.assign(env, {
      HOME: work,
      CI: "true",
      CDK_DISABLE_CLI_TELEMETRY: "true",
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_CONFIG_FILE: path.join(work, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: path.join(work, "no-aws-credentials"),
      AWS_ENDPOINT_URL: moto.url,
      ...extra,
    });
    return new Promise((resolve) => {
      // From a folder without cdk.json: nothing is synthesized again (bootstrap would synthesize the app).
      const options = { cwd: work, env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 };
      execFile(path.join(ROOT, "node_modules/.bin/cdk"), [...args, "--no-notices", "--no-color"], options, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, output: `${stdout}\n${stderr}` }),
      );
    });
  }
  const deploy = (dir: string, extra: Record<string, string> = {}) => cdk(["deploy", "--app", dir, "--require-approval", "never", STACK], extra);
  const cfn = (form: Record<string, string>) => motoCall(moto, "cloudformation", { form: { Version: "2010-05-15", ...form } });
  const stackStatus = async (): Promise<string | undefined> => {
    const xml = await cfn({ Action: "DescribeStacks" });
    const names = xmlValues(xml, "StackName");
    return xmlValues(xml, "StackStatus")[names.indexOf(STACK)];
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "sparkless-cdk-moto-"));
    assembly = path.join(work, "cdk.out");
    const synth = new Promise<void>((resolve, reject) => {
      execFile(
        path.join(ROOT, "node_modules/.bin/cdk"),
        ["synth", "--no-notices", "--quiet", "--output", assembly],
        {
          cwd: ROOT,
          env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true", CI: "true" },
          maxBuffer: 64 * 1024 * 1024,
          timeout: 240_000,
        },
        (error, stdout, stderr) => (error ? reject(new Error(`cdk synth failed: ${stderr}\n${stdout}`)) : resolve()),
      );
    });
    const started = startMoto();
    await Promise.all([synth, started]);
    moto = await started;
    template = JSON.parse(readFileSync(path.join(assembly, `${STACK}.template.json`), "utf8")) as Template;
  }, 300_000);

  afterAll(async () => {
    await moto?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("cdk bootstrap creates the CDKToolkit stack and its staging bucket", async () => {
    const r = await cdk(["bootstrap", `aws://${ACCOUNT}/${REGION}`]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Environment aws:\/\/123456789012\/us-east-1 bootstrapped/);
    const xml = await cfn({ Action: "DescribeStacks", StackName: "CDKToolkit" });
    expect(xmlValues(xml, "StackStatus")).toEqual(["CREATE_COMPLETE"]);
    const buckets = await new S3Client({ ...clientConfig(), forcePathStyle: true }).send(new ListBucketsCommand({}));
    expect(buckets.Buckets?.map((b) => b.Name)).toContain(STAGING_BUCKET);
  }, 300_000);

  it('cdk deploy publishes the assets, then the change set fails: moto reads the template URL\'s host, 127.0.0.1, as the bucket "127"', async () => {
    const r = await deploy(assembly);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(/creating CloudFormation changeset/);
    expect(r.output).toMatch(/The specified bucket does not exist/);
    // The template and both bundles did reach the staging bucket, under their hashes.
    type Assets = { files: Record<string, { destinations: Record<string, { objectKey: string }> }> };
    const assets = JSON.parse(readFileSync(path.join(assembly, `${STACK}.assets.json`), "utf8")) as Assets;
    const keys = Object.values(assets.files).flatMap((f) => Object.values(f.destinations).map((d) => d.objectKey));
    const listed = await new S3Client({ ...clientConfig(), forcePathStyle: true }).send(new ListObjectsV2Command({ Bucket: STAGING_BUCKET }));
    expect(keys.length).toBe(3);
    expect(listed.Contents?.map((o) => o.Key)).toEqual(expect.arrayContaining(keys));
    expect(await stackStatus()).toBeUndefined();
  }, 300_000);

  it("with AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION=http://localhost:PORT the change set is created; executing it stops at the alarm references", async () => {
    const r = await deploy(assembly, { AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION: `http://localhost:${moto.port}` });
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).not.toMatch(/The specified bucket does not exist/);
    expect(r.output).toMatch(/Fn::GetAtt references undefined resource App\w*Alarm[0-9A-F]{8}/);
    // The failed execution leaves the stack in REVIEW_IN_PROGRESS, which the next deploy cannot take over.
    expect(await stackStatus()).toBe("REVIEW_IN_PROGRESS");
    await cfn({ Action: "DeleteStack", StackName: STACK });
    expect(await stackStatus()).toBeUndefined();
  }, 300_000);

  describe("with the dashboard's alarm ARNs written out, the stack deploys", () => {
    let deployed: CliResult;
    /** Logical id → [type, physical id] of what moto created. */
    const created = new Map<string, [string, string]>();
    const physical = (pattern: RegExp): string => {
      const hit = [...created.entries()].find(([id]) => pattern.test(id));
      if (!hit) throw new Error(`no created resource matches ${pattern}: ${[...created.keys()].join(", ")}`);
      return hit[1][1];
    };

    beforeAll(async () => {
      const patched = path.join(work, "cdk.out.moto");
      cpSync(assembly, patched, { recursive: true });
      const t = JSON.parse(readFileSync(path.join(patched, `${STACK}.template.json`), "utf8")) as Template;
      const alarms = new Set(
        Object.entries(t.Resources)
          .filter(([, r]) => r.Type === "AWS::CloudWatch::Alarm")
          .map(([id]) => id),
      );
      const literal = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(literal);
        if (v === null || typeof v !== "object") return v;
        const getAtt = (v as { "Fn::GetAtt"?: [string, string] })["Fn::GetAtt"];
        if (getAtt && alarms.has(getAtt[0])) return `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${getAtt[0]}`;
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, literal(x)]));
      };
      const dashboards = Object.entries(t.Resources).filter(([, r]) => r.Type === "AWS::CloudWatch::Dashboard");
      expect(dashboards).toHaveLength(1);
      for (const [id, r] of dashboards) t.Resources[id] = literal(r) as Resource;
      // Only the dashboard referenced an alarm: nothing else changes.
      expect(JSON.stringify(t)).not.toMatch(/"Fn::GetAtt":\["App\w*Alarm/);
      const text = JSON.stringify(t);
      writeFileSync(path.join(patched, `${STACK}.template.json`), text);
      // The template is an asset named by its hash: a new hash, or the CLI finds the first template
      // already in the staging bucket and deploys that one.
      const assetsFile = path.join(patched, `${STACK}.assets.json`);
      const assets = JSON.parse(readFileSync(assetsFile, "utf8")) as { files: Record<string, { source: { path: string } }> };
      const oldHash = Object.entries(assets.files).find(([, f]) => f.source.path === `${STACK}.template.json`)![0];
      const newHash = createHash("sha256").update(text).digest("hex");
      for (const file of [assetsFile, path.join(patched, "manifest.json")])
        writeFileSync(file, readFileSync(file, "utf8").replaceAll(oldHash, newHash));
      deployed = await deploy(patched, { AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION: `http://localhost:${moto.port}` });
      if (deployed.code === 0) {
        const xml = await cfn({ Action: "ListStackResources", StackName: STACK });
        const ids = xmlValues(xml, "LogicalResourceId");
        const types = xmlValues(xml, "ResourceType");
        const physicals = xmlValues(xml, "PhysicalResourceId");
        ids.forEach((id, i) => created.set(id, [types[i]!, physicals[i]!]));
      }
    }, 300_000);

    it("cdk deploy completes and the stack is CREATE_COMPLETE (moto gives a stack made from a change set no outputs)", async () => {
      expect(deployed.code, deployed.output).toBe(0);
      expect(deployed.output).toMatch(/✅ +Sparkless-wordcount/);
      expect(await stackStatus()).toBe("CREATE_COMPLETE");
      // moto computes Outputs only for CreateStack, not for a stack made by executing a change set (so the
      // CLI also reports "Unable to find BootstrapVersion output in the toolkit stack"). The template has them.
      expect(Object.keys(template.Outputs)).toEqual(expect.arrayContaining(["MetaTable", "Bucket", "InputStreams"]));
      expect(xmlValues(await cfn({ Action: "DescribeStacks", StackName: STACK }), "OutputKey")).toEqual([]);
    });

    it("creates every resource of the template whose type moto supports, and only those are missing", () => {
      const expected = Object.entries(template.Resources).filter(([, r]) => !UNSUPPORTED_BY_MOTO.includes(r.Type));
      const missing = Object.entries(template.Resources).filter(([, r]) => UNSUPPORTED_BY_MOTO.includes(r.Type));
      expect([...created.keys()].sort()).toEqual(expected.map(([id]) => id).sort());
      for (const [id, r] of expected) expect(created.get(id)?.[0], id).toBe(r.Type);
      // What moto skipped, so the docs can say it: 9 alarms, the schedule, 4 queue and 2 bucket policies.
      const count = (type: string) => missing.filter(([, r]) => r.Type === type).length;
      const skipped = ["AWS::CloudWatch::Alarm", "AWS::Scheduler::Schedule", "AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy"].map(count);
      expect(skipped).toEqual([9, 1, 4, 2]);
    });

    it("the Kinesis stream, both tables and the queues are there, as the template sets them", async () => {
      const stream = await new KinesisClient(clientConfig()).send(new DescribeStreamSummaryCommand({ StreamName: "words" }));
      expect(stream.StreamDescriptionSummary).toMatchObject({ StreamStatus: "ACTIVE", OpenShardCount: 1 });
      const dynamodb = new DynamoDBClient(clientConfig());
      for (const id of [/^AppMetaTable[0-9A-F]{8}$/, /^AppStateTable[0-9A-F]{8}$/]) {
        const t = (await dynamodb.send(new DescribeTableCommand({ TableName: physical(id) }))).Table!;
        expect(t.TableStatus).toBe("ACTIVE");
        expect(t.KeySchema).toEqual([
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ]);
        expect(t.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
      }
      const sqs = new SQSClient(clientConfig());
      const attributes = async (id: RegExp) =>
        (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: physical(id), AttributeNames: ["All"] }))).Attributes!;
      const tasks = await attributes(/^AppTaskQueue[0-9A-F]{8}$/);
      const taskDlq = await attributes(/^AppTaskDeadLetterQueue[0-9A-F]{8}$/);
      const taskQueue = Object.entries(template.Resources).find(([id]) => /^AppTaskQueue[0-9A-F]{8}$/.test(id))![1];
      expect(tasks.VisibilityTimeout).toBe(String(taskQueue.Properties!.VisibilityTimeout));
      const maxReceiveCount = taskQueue.Properties!.RedrivePolicy.maxReceiveCount as number;
      expect(JSON.parse(tasks.RedrivePolicy!)).toEqual({ deadLetterTargetArn: taskDlq.QueueArn, maxReceiveCount });
      const results = await attributes(/^AppResultQueue[0-9A-F]{8}$/);
      const resultDlq = await attributes(/^AppResultDeadLetterQueue[0-9A-F]{8}$/);
      expect(JSON.parse(results.RedrivePolicy!)).toEqual({ deadLetterTargetArn: resultDlq.QueueArn, maxReceiveCount: 5 });
      const buckets = (await new S3Client({ ...clientConfig(), forcePathStyle: true }).send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name);
      expect(buckets).toEqual(expect.arrayContaining([physical(/^AppBucket[0-9A-F]{8}$/), physical(/^AppAccessLogsBucket[0-9A-F]{8}$/)]));
    });

    it("both functions exist with their bundles and their environment resolved to the created resources; the worker is mapped to the task queue", async () => {
      interface Fn {
        FunctionName: string;
        Runtime: string;
        Handler: string;
        CodeSize: number;
        MemorySize: number;
        Timeout: number;
        Environment: { Variables: Record<string, string> };
      }
      const fns = (JSON.parse(await motoCall(moto, "lambda", { path: "/2015-03-31/functions/" })) as { Functions: Fn[] }).Functions;
      const coordinator = fns.find((f) => f.FunctionName === physical(/^AppCoordinator[0-9A-F]{8}$/));
      const worker = fns.find((f) => f.FunctionName === physical(/^AppWorker[0-9A-F]{8}$/));
      expect(fns).toHaveLength(2);
      for (const [fn, id] of [
        [coordinator, /^AppCoordinator[0-9A-F]{8}$/],
        [worker, /^AppWorker[0-9A-F]{8}$/],
      ] as const) {
        const props = Object.entries(template.Resources).find(([k]) => id.test(k))![1].Properties!;
        expect(fn).toMatchObject({ Runtime: props.Runtime, Handler: props.Handler, MemorySize: props.MemorySize, Timeout: props.Timeout });
        // The bundle cdk synth wrote, zipped and published: hundreds of kilobytes, not an empty placeholder.
        expect(fn!.CodeSize).toBeGreaterThan(100_000);
        const vars = fn!.Environment.Variables;
        expect(vars).toMatchObject({
          SPARKLESS_APP: "wordcount",
          SPARKLESS_META_TABLE: physical(/^AppMetaTable[0-9A-F]{8}$/),
          SPARKLESS_STATE_TABLE: physical(/^AppStateTable[0-9A-F]{8}$/),
          SPARKLESS_BUCKET: physical(/^AppBucket[0-9A-F]{8}$/),
          SPARKLESS_TASK_QUEUE_URL: physical(/^AppTaskQueue[0-9A-F]{8}$/),
          SPARKLESS_RESULT_QUEUE_URL: physical(/^AppResultQueue[0-9A-F]{8}$/),
        });
      }
      interface Mapping {
        EventSourceArn: string;
        FunctionArn: string;
        BatchSize: number;
        FunctionResponseTypes: string[];
        ScalingConfig?: { MaximumConcurrency: number };
      }
      const listed = await motoCall(moto, "lambda", { path: "/2015-03-31/event-source-mappings/" });
      const mappings = (JSON.parse(listed) as { EventSourceMappings: Mapping[] }).EventSourceMappings;
      expect(mappings).toHaveLength(1);
      const queueName = physical(/^AppTaskQueue[0-9A-F]{8}$/)
        .split("/")
        .pop();
      expect(mappings[0]).toMatchObject({
        EventSourceArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${queueName}`,
        BatchSize: 10,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: 10 },
      });
      expect(mappings[0]!.FunctionArn).toMatch(new RegExp(`:function:${worker!.FunctionName}$`));
    });
  });
});
