/**
 * The CDK app that deploys the demo (or any app module): `npx cdk deploy` from the repository root.
 *
 *   -c app=path/to/app.ts                 the app module (default examples/wordcount-app.ts)
 *   -c config='{"batchInterval":"5s"}'    pipeline settings, passed to the functions as SPARKLESS_CONFIG
 *                                         (or set SPARKLESS_CONFIG in the environment)
 *   -c retain=true                        keep tables, stream, queues, buckets and logs on `cdk destroy`
 *                                         (and turn the tables' deletion protection on)
 *   -c alarmEmail=ops@example.com         email the alarms to this address (an SNS topic is created)
 *
 * Synthesis needs no AWS account: the stack is environment-agnostic and makes no lookups. cdk-nag's
 * AwsSolutions checks run on every synth; an unacknowledged finding fails it.
 */
import { App, Aspects, CfnOutput, RemovalPolicy, Stack, Tags } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { readAppModule } from "./app-module.js";
import { SparklessApp, type SparklessConfig } from "./sparkless-app.js";

function contextConfig(app: App): SparklessConfig {
  const raw: unknown = app.node.tryGetContext("config") ?? process.env.SPARKLESS_CONFIG;
  if (raw === undefined || raw === "") return {};
  if (typeof raw === "object") return raw as SparklessConfig;
  try {
    return JSON.parse(String(raw)) as SparklessConfig;
  } catch (e) {
    throw new Error(
      `The context value \`config\` is not JSON (${(e as Error).message}): got ${String(raw).slice(0, 80)}. Pass -c config='{"batchInterval":"5s"}'.`,
    );
  }
}

const app = new App();
const entry = String(app.node.tryGetContext("app") ?? "examples/wordcount-app.ts");
const config = contextConfig(app);
const retain = String(app.node.tryGetContext("retain") ?? "false") === "true";
const alarmEmail: string | undefined = app.node.tryGetContext("alarmEmail");
// What the module itself declares (its name and interval go to the construct as they are; `config`
// overrides them for both the construct and the functions). The construct checks them against the module.
const info = await readAppModule(entry);
const appName = config.name ?? info.appName;

const stack = new Stack(app, `Sparkless-${appName}`, {
  description: `Sparkless app ${appName} (${entry}): Kinesis, SQS, DynamoDB, S3 and two Lambda functions`,
});
Tags.of(stack).add("sparkless:app", appName);
const sparkless = new SparklessApp(stack, "App", {
  entry: info.entry,
  appName: info.appName,
  batchInterval: info.batchInterval,
  config,
  inputStreams: info.kinesisStreams.map((streamName) => ({ streamName })),
  // A demo: `cdk destroy` leaves nothing behind that bills (empty the two buckets first: CloudFormation
  // deletes only empty buckets). Real apps keep the construct's RETAIN default and deletion protection.
  removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  tableDeletionProtection: retain,
  ...(alarmEmail ? { alarmEmail } : {}),
});
new CfnOutput(stack, "InputStreams", { value: info.kinesisStreams.join(","), description: "Kinesis streams the app reads" });
new CfnOutput(stack, "WorkerLogGroup", { value: sparkless.workerLogGroup.logGroupName, description: "print() output and task logs" });
new CfnOutput(stack, "CoordinatorLogGroup", { value: sparkless.coordinatorLogGroup.logGroupName, description: "batch generation logs" });
new CfnOutput(stack, "Bucket", { value: sparkless.bucket.bucketName, description: "shuffle data and S3 checkpoints, under <app>/" });
if (sparkless.accessLogsBucket)
  new CfnOutput(stack, "AccessLogsBucket", { value: sparkless.accessLogsBucket.bucketName, description: "the bucket's server access logs" });
new CfnOutput(stack, "Dashboard", { value: sparkless.dashboard.dashboardName, description: "CloudWatch dashboard" });
new CfnOutput(stack, "MetaTable", {
  value: sparkless.metaTable.tableName,
  description: "for sparkless status, retry and quarantine: --aws --meta-table",
});
if (sparkless.alarmTopic) new CfnOutput(stack, "AlarmTopic", { value: sparkless.alarmTopic.topicArn, description: "the alarms notify this topic" });
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
app.synth();
