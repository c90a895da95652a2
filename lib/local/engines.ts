/**
 * Embedded AWS engines for local runs and tests: Kinesis, DynamoDB, SQS and
 * S3 on 127.0.0.1, with no Docker and no network. See docs/local-engines.md
 * for why these engines. One role per file under engines/:
 *
 *  - embedded.ts        startEmbeddedEngines: all of them in parallel, one watchdog, an optional data folder
 *  - kinesalite.ts      Kinesis (default; node child process; in memory or LevelDB)
 *  - kinesis-mock.ts    Kinesis on kinesis-local (devDependency, for cross-checks; ~25x slower on PutRecords)
 *  - dynamodb-local.ts  DynamoDB Local, the jar inside amplify-dynamodb-simulator (java child process)
 *  - fauxqs.ts          SQS and S3 on fauxqs 1.9.x (in process); fauxqs-s3-files.ts keeps S3 in files
 *  - supervision.ts     child processes, process groups, the watchdog: no engine outlives its parent
 *  - readiness.ts       ready = answered a real API call; free ports and their retry
 *  - data-dir.ts        the data folder's layout and its claim
 *  - client-config.ts   SDK clients for local endpoints
 *
 * This module is the facade the rest of the code imports.
 */
export { awsClientConfig, LOCAL_CREDENTIALS } from "./engines/client-config.js";
export { JAVA_MISSING_MESSAGE } from "./engines/dynamodb-local.js";
export {
  startEmbeddedEngines,
  type EmbeddedEngines,
  type EngineEndpoints,
  type EngineName,
  type KinesisEngine,
  type StartEmbeddedEnginesOptions,
} from "./engines/embedded.js";
export { dataDirLayout, type DataDirLayout } from "./engines/data-dir.js";
export { findFreePort } from "./engines/readiness.js";
export { EngineStartError } from "./errors.js";
