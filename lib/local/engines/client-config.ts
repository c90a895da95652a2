/**
 * How SDK v3 clients talk to the embedded engines: dummy credentials the
 * engines accept, and an HTTP/1.1 handler (the Kinesis client's default
 * HTTP/2 handler fails against local engines with ERR_HTTP2_ERROR).
 */
import { NodeHttpHandler } from "@smithy/node-http-handler";

export const DEFAULT_REGION = "us-east-1";

// DynamoDB Local (1.2x) rejects an access key id with anything but letters and digits
// (UnrecognizedClientException), so no dashes here.
export const LOCAL_CREDENTIALS = { accessKeyId: "sparklesslocal", secretAccessKey: "sparklesslocal" } as const;

/** SDK v3 client configuration for a local endpoint: dummy credentials, HTTP/1.1, 3 attempts. */
export function awsClientConfig(
  endpoint: string,
  region: string,
): {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  requestHandler: NodeHttpHandler;
  maxAttempts?: number;
} {
  return {
    endpoint,
    region,
    credentials: { ...LOCAL_CREDENTIALS },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    maxAttempts: 3,
  };
}

/** A probe's configuration: one attempt, short timeouts, so a readiness loop polls quickly. */
export function probeConfig(endpoint: string, region: string) {
  return {
    endpoint,
    region,
    credentials: { ...LOCAL_CREDENTIALS },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 5_000 }),
    maxAttempts: 1,
  };
}
