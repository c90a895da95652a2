/**
 * The CDK app that deploys the demo (or any app module): `npx cdk deploy` from the repository root.
 *
 *   -c app=path/to/app.ts                 the app module (default examples/wordcount-app.ts)
 *   -c config='{"batchInterval":"5s"}'    pipeline settings, passed to the functions as SPARKLESS_CONFIG
 *                                         (or set SPARKLESS_CONFIG in the environment)
 *   -c retain=true                        keep tables, stream, queues and logs on `cdk destroy`
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
    throw new Error(`The context value \`config\` is not JSON (${(e as Error).message}): got ${String(raw).slice(0, 80)}. Pass -c config='{"batchInterval":"5s"}'.`);
  }
}

const app = new App();
const entry = String(app.node.tryGetContext("app") ?? "examples/wordcount-app.ts");
const config = contextConfig(app);
const retain = String(app.node.tryGetContext("retain") ?? "false") === "true";
const info = await readAppModule(entry, config);

const stack = new Stack(app, `Sparkless-${info.appName}`, {
  description: `Sparkless app ${info.appName} (${entry}): Kinesis, SQS, DynamoDB and two Lambda functions`,
});
Tags.of(stack).add("sparkless:app", info.appName);
const sparkless = new SparklessApp(stack, "App", {
  entry: info.entry,
  appName: info.appName,
  batchInterval: info.batchInterval,
  maxTaskAttempts: info.maxTaskAttempts,
  config,
  inputStreams: info.kinesisStreams.map((streamName) => ({ streamName })),
  // A demo: `cdk destroy` leaves nothing behind that bills. Real apps keep the construct's RETAIN default.
  removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
});
new CfnOutput(stack, "InputStreams", { value: info.kinesisStreams.join(","), description: "Kinesis streams the app reads" });
new CfnOutput(stack, "WorkerLogGroup", { value: sparkless.workerLogGroup.logGroupName, description: "print() output and task logs" });
new CfnOutput(stack, "CoordinatorLogGroup", { value: sparkless.coordinatorLogGroup.logGroupName, description: "batch generation logs" });
new CfnOutput(stack, "Dashboard", { value: sparkless.dashboard.dashboardName, description: "CloudWatch dashboard" });
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
app.synth();
