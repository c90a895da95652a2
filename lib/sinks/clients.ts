/**
 * What both sinks share: the function `rdd.foreachPartition` takes, the batch time from what
 * `foreachRDD` passes, and the client configuration built from the environment when none is given.
 */
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { Time } from "../core/duration.js";
import { LOCAL_CREDENTIALS } from "../local/engines/client-config.js";

/** The partition function a `foreachPartition` call takes. */
export type PartitionWriter<T> = (items: readonly T[], partitionIndex: number) => Promise<void>;

/** A Time's milliseconds (also from another copy of the package, by its shape), or the number given. */
export function batchTimeOf(time: unknown): unknown {
  if (time instanceof Time) return time.milliseconds;
  if (time !== null && typeof time === "object" && typeof (time as { milliseconds?: unknown }).milliseconds === "number")
    return (time as Time).milliseconds;
  return time;
}

/** The configuration of a sink's env-built client (see dynamoDbClientConfigFromEnv for the rules). */
export function clientConfigFromEnv(service: "DYNAMODB" | "KINESIS", env: NodeJS.ProcessEnv, maxAttempts: number) {
  const endpoint = env[`SPARKLESS_${service}_ENDPOINT`] || env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? "us-east-1" : undefined);
  const loopback = endpoint !== undefined && /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/i.test(endpoint);
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(loopback && !env.AWS_ACCESS_KEY_ID ? { credentials: { ...LOCAL_CREDENTIALS } } : {}),
    maxAttempts,
    // HTTP/1.1: the Kinesis client's HTTP/2 default fails against local engines, and PutRecords needs no HTTP/2.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
  };
}
