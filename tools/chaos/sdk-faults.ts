/**
 * Engine-call faults through an AWS SDK v3 middleware: with a seeded
 * probability per request, one of
 *
 * - `throughput`: HTTP 400 `ProvisionedThroughputExceededException` (DynamoDB, Kinesis);
 * - `throttling`: HTTP 400 `ThrottlingException`;
 * - `http500`: HTTP 500 `InternalFailure`;
 * - `reset-before`: the connection is reset before the request reaches the engine (ECONNRESET);
 * - `reset-after`: the engine handles the request, then the connection is reset before the
 *   response arrives (ECONNRESET): the SDK retries a request that already took effect, the
 *   hardest case for idempotency (a conditional write retried finds its own write).
 *
 * The middleware sits in the `deserialize` step, inside the SDK's retry loop: the fake responses
 * go through the client's real deserializer, so the errors have the names, status codes and
 * `$metadata` real ones have, and the standard retry strategy retries all of them (throttling
 * codes, 5xx, ECONNRESET) with backoff, up to the clients' `maxAttempts` (8).
 */
import { Readable } from "node:stream";
import type { DeserializeHandler, DeserializeHandlerArguments, DeserializeHandlerOutput, MetadataBearer, Pluggable } from "@smithy/types";

export type SdkFaultKind = "throughput" | "throttling" | "http500" | "reset-before" | "reset-after";
export const SDK_FAULT_KINDS: readonly SdkFaultKind[] = ["throughput", "throttling", "http500", "reset-before", "reset-after"];

export interface SdkFaultOptions {
  /** The service, for the error each fault takes and for the report. */
  service: "dynamodb" | "kinesis" | "sqs" | "s3";
  /** Probability that a request (each attempt, retries included) gets a fault. */
  p: number;
  random: () => number;
  kinds?: readonly SdkFaultKind[];
  onFault?: (service: string, kind: SdkFaultKind, operation: string) => void;
}

function fakeResponse(statusCode: number, type: string, message: string) {
  const body = Buffer.from(JSON.stringify({ __type: type, message }));
  return {
    statusCode,
    reason: statusCode === 500 ? "Internal Server Error" : "Bad Request",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "content-length": String(body.length),
      "x-amzn-requestid": "chaos",
      "x-amzn-errortype": type,
    },
    body: Readable.from([body]),
  };
}

function connectionReset(): Error {
  return Object.assign(new Error("read ECONNRESET (injected by the chaos suite)"), { code: "ECONNRESET", errno: -104, syscall: "read" });
}

/** The middleware, as a plugin for `client.middlewareStack.use(...)`. */
export function sdkFaults(options: SdkFaultOptions): Pluggable<any, MetadataBearer> {
  const kinds = (options.kinds ?? SDK_FAULT_KINDS).filter((k) => k !== "throughput" || options.service !== "sqs");
  return {
    applyToStack(stack) {
      stack.add(
        (next: DeserializeHandler<any, MetadataBearer>, context) =>
          async (args: DeserializeHandlerArguments<any>): Promise<DeserializeHandlerOutput<MetadataBearer>> => {
            if (kinds.length === 0 || options.random() >= options.p) return next(args);
            const kind = kinds[Math.floor(options.random() * kinds.length)]!;
            options.onFault?.(options.service, kind, String((context as { commandName?: string }).commandName ?? "?"));
            switch (kind) {
              case "throughput":
                return {
                  response: fakeResponse(400, "ProvisionedThroughputExceededException", "Rate exceeded (injected by the chaos suite)"),
                } as DeserializeHandlerOutput<MetadataBearer>;
              case "throttling":
                return {
                  response: fakeResponse(400, "ThrottlingException", "Rate exceeded (injected by the chaos suite)"),
                } as DeserializeHandlerOutput<MetadataBearer>;
              case "http500":
                return {
                  response: fakeResponse(500, "InternalFailure", "Internal failure (injected by the chaos suite)"),
                } as DeserializeHandlerOutput<MetadataBearer>;
              case "reset-before":
                throw connectionReset();
              case "reset-after": {
                const res = await next(args);
                // The response is lost: drop its body so the socket is not left half-read.
                (res.response as { body?: { destroy?: () => void } } | undefined)?.body?.destroy?.();
                throw connectionReset();
              }
            }
          },
        { step: "deserialize", priority: "low", name: "chaosSdkFaults", tags: ["CHAOS"] },
      );
    },
  };
}
