/**
 * `sparkless/cdk`: the SparklessApp construct for a CDK app of your own, its props, and what it reads
 * from an app module. aws-cdk-lib, constructs and esbuild are optional peer dependencies of the package:
 * install them beside it to use this entry point (`npm install --save-dev aws-cdk-lib constructs esbuild`).
 *
 * ```ts
 * import { App, Stack } from "aws-cdk-lib";
 * import { readAppModule, SparklessApp } from "sparkless/cdk";
 *
 * const app = new App();
 * const info = await readAppModule("app.ts");
 * new SparklessApp(new Stack(app, "Wordcount"), "App", {
 *   entry: info.entry, appName: info.appName, batchInterval: info.batchInterval,
 *   inputStreams: info.kinesisStreams.map((streamName) => ({ streamName })),
 * });
 * ```
 */
export * from "./sparkless-app.js";
export { readAppModule, readAppModuleSync, type AppModuleInfo } from "./app-module.js";
export { deriveSizing, DEFAULTS, METRIC_DIMENSION, METRIC_NAMESPACE, METRICS, type Sizing } from "./defaults.js";
