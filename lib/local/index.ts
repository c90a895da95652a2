/**
 * `sparkless/local`: the local runtime as a library, what `sparkless local` runs. `runLocal` runs an app
 * module on the embedded engines (or on `endpoint`, such as LocalStack) with worker processes, as the CLI
 * does; `prepareLocal` and `startEmbeddedEngines` give the engines and the app's tables, queues and bucket
 * to drive yourself. The embedded engines are optional peer dependencies: add them with
 * LOCAL_INSTALL_COMMAND, or a MissingPackageError names what is missing.
 */
export { runLocal, prepareLocal, kinesisStreamsOf, type LocalRunOptions, type LocalEnvironment, type PrepareOptions } from "./runtime.js";
export { startEmbeddedEngines, EngineStartError, type EmbeddedEngines, type StartEmbeddedEnginesOptions } from "./engines.js";
export { LOCAL_INSTALL_COMMAND, MissingPackageError, type OptionalPackage } from "./optional.js";
