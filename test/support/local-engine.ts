// Setup for the "local-engine" project: every runBatches call in a file goes through Kinesis, SQS,
// the workers and DynamoDB on embedded engines started once for the file, and stopped after it.
import { afterAll } from "vitest";
import { stopSharedEngines } from "../../lib/local/run-batches-local.js";

afterAll(() => stopSharedEngines(), 60_000);
