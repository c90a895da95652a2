/**
 * Turns the errors an operator meets first (nothing listening at the
 * endpoint, a stream or table that does not exist, no credentials) into
 * messages that name the fix.
 */
import { SparklessError } from "../core/errors.js";

/** A failure an operator fixes: names the fix. */
export class OperatorError extends SparklessError {}

/** Nothing answers at an endpoint (connection refused, no such host): "nothing answers at URL: ...". */
export class EndpointUnreachableError extends OperatorError {
  constructor(
    message: string,
    readonly endpoint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ErrorContext {
  /** The endpoint used, if not AWS's. */
  endpoint?: string;
  stream?: string;
  table?: string;
  /** The command, for the hints ("sparkless feed"). */
  command?: string;
}

function codeOf(e: unknown): string | undefined {
  const x = e as { code?: string; name?: string; cause?: unknown; errors?: unknown[] } | undefined;
  if (!x) return undefined;
  if (typeof x.code === "string") return x.code;
  if (Array.isArray(x.errors))
    for (const inner of x.errors) {
      const c = codeOf(inner);
      if (c) return c;
    }
  if (x.cause && x.cause !== e) return codeOf(x.cause);
  return undefined;
}

/** An OperatorError naming the fix, or the error itself when it is none of the known kinds. */
export function explainAwsError(e: unknown, ctx: ErrorContext = {}): Error {
  if (e instanceof OperatorError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const name = err.name;
  const code = codeOf(err);
  const where = ctx.endpoint ?? "AWS";
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EHOSTUNREACH" || /ECONNREFUSED/.test(err.message)) {
    // `sparkless local --endpoint URL` is the one command for which starting `sparkless local` is no fix.
    const fix =
      ctx.command === "sparkless local"
        ? "start the engines there (LocalStack: `docker compose up -d`) or check --endpoint and AWS_ENDPOINT_URL; without them, `sparkless local` starts embedded engines itself."
        : "start `sparkless local` (it prints its endpoints) or check --endpoint.";
    return new EndpointUnreachableError(`nothing answers at ${where}: ${fix}`, where, { cause: err });
  }
  if (name === "ResourceNotFoundException") {
    if (ctx.stream && !/table/i.test(err.message)) {
      return new OperatorError(
        `stream ${ctx.stream} does not exist at ${where}: create it (\`sparkless local\` creates the app's streams) or check --stream.`,
        { cause: err },
      );
    }
    return new OperatorError(
      `table ${ctx.table ?? "(unknown)"} does not exist at ${where}: check --app (tables are named sparkless-APP-meta) or pass --meta-table; on AWS, deploy the app first.`,
      { cause: err },
    );
  }
  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(err.message)) {
    return new OperatorError(
      "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or run `aws sso login`); for local engines pass --endpoint URL.",
      { cause: err },
    );
  }
  if (name === "UnrecognizedClientException" || name === "InvalidSignatureException" || name === "ExpiredTokenException") {
    return new OperatorError(`the credentials were refused (${name}): refresh them (aws sso login, or new keys) or check the region with --region.`, {
      cause: err,
    });
  }
  if (name === "AccessDeniedException" || name === "AccessDenied") {
    return new OperatorError(`access denied: ${err.message} Grant the caller the permission named, or use another profile.`, { cause: err });
  }
  if (name === "TimeoutError" || code === "ETIMEDOUT") {
    return new OperatorError(`no answer from ${where} in time: check --endpoint and the network.`, { cause: err });
  }
  return err;
}

const RETRYABLE_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "LimitExceededException",
  "KMSThrottlingException",
  "InternalFailure",
  "InternalFailureException",
  "InternalServerError",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);
const RETRYABLE_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED"]);

/** An error name or a Kinesis record's ErrorCode that says the request was throttled. */
export const THROTTLED = /Throughput|Throttl|LimitExceeded/;

type AwsErrorLike = { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;

/**
 * Whether a request that failed with `e` may succeed if sent again: throttling, a service's internal
 * error or unavailability, a timeout, a dropped connection, anything the SDK marks retryable, and any
 * 5xx. `also` adds what one caller retries besides (error codes, HTTP statuses).
 */
export function isRetryableAwsError(e: unknown, also: { codes?: readonly string[]; statuses?: readonly number[] } = {}): boolean {
  const x = e as AwsErrorLike;
  const code = x?.code ?? "";
  if (RETRYABLE_NAMES.has(x?.name ?? "") || RETRYABLE_CODES.has(code) || also.codes?.includes(code) || x?.$retryable) return true;
  const status = x?.$metadata?.httpStatusCode;
  return typeof status === "number" && (status >= 500 || !!also.statuses?.includes(status));
}
