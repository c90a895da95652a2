/**
 * The embedded engines in a process of their own (lib/local/engines.ts:
 * kinesalite, DynamoDB Local and fauxqs for SQS and S3), so that nothing but
 * the coordinator runs in the bench's process and its CPU time can be read
 * with process.cpuUsage. Ready with the endpoints once every engine answers;
 * stops them when the bench goes away.
 */
import "../../lib/local/quiet.js";
import { startEmbeddedEngines } from "../../lib/local/engines.js";
import { serveBench } from "./children.js";

const engines = await startEmbeddedEngines({});
serveBench({}, { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs, s3: engines.s3 }, () => engines.stop());
