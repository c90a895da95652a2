/**
 * Logs for every part of Sparkless. In Lambda they are Powertools' structured
 * JSON lines (one object a line, with the app, and the batch time and task id
 * on every line a task writes); locally they are readable lines on stderr.
 * One level (`--log-level`, SPARKLESS_LOG_LEVEL, or Powertools' own
 * POWERTOOLS_LOG_LEVEL) controls both.
 */
import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { InvalidArgumentError } from "../core/errors.js";

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface SparklessLogger {
  readonly level: LogLevel;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. batchTime, taskId) to every line. */
  child(fields: LogFields): SparklessLogger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === "string" && (LOG_LEVELS as readonly string[]).includes(v.toLowerCase());
}

/** Parses a level given by a user; throws with the accepted values. */
export function parseLogLevel(v: string): LogLevel {
  const l = v.toLowerCase();
  if (!isLogLevel(l)) throw new InvalidArgumentError(`Unknown log level "${v}": use one of ${LOG_LEVELS.join(", ")} (e.g. --log-level debug).`);
  return l;
}

/** The level in force: the explicit one, else SPARKLESS_LOG_LEVEL, else POWERTOOLS_LOG_LEVEL, else info. */
export function resolveLogLevel(explicit?: string, env: NodeJS.ProcessEnv = process.env): LogLevel {
  for (const v of [explicit, env.SPARKLESS_LOG_LEVEL, env.POWERTOOLS_LOG_LEVEL, env.AWS_LAMBDA_LOG_LEVEL]) {
    if (v && isLogLevel(v)) return v.toLowerCase() as LogLevel;
  }
  return "info";
}

/** True inside a Lambda function. */
export function inLambda(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env.AWS_LAMBDA_FUNCTION_NAME;
}

export interface LoggerOptions {
  app?: string;
  level?: LogLevel | string;
  /** "json": Powertools' structured lines (the default in Lambda); "text": readable lines (the default elsewhere). */
  format?: "json" | "text";
  /** Where text lines go. @default stderr */
  write?: (line: string) => void;
  /** Clock for text lines. */
  now?: () => Date;
}

export function createLogger(options: LoggerOptions = {}): SparklessLogger {
  const level = resolveLogLevel(typeof options.level === "string" ? options.level : undefined);
  const format = options.format ?? (inLambda() ? "json" : "text");
  const base: LogFields = options.app ? { app: options.app } : {};
  if (format === "json")
    return new PowertoolsAdapter(
      new PowertoolsLogger({ serviceName: "sparkless", logLevel: level.toUpperCase() as "INFO", persistentKeys: base }),
      level,
    );
  return new TextLogger(level, base, options.write ?? ((l) => process.stderr.write(l + "\n")), options.now ?? (() => new Date()));
}

class PowertoolsAdapter implements SparklessLogger {
  constructor(
    private readonly logger: PowertoolsLogger,
    readonly level: LogLevel,
  ) {}
  debug(message: string, fields: LogFields = {}) {
    this.logger.debug(message, fields);
  }
  info(message: string, fields: LogFields = {}) {
    this.logger.info(message, fields);
  }
  warn(message: string, fields: LogFields = {}) {
    this.logger.warn(message, fields);
  }
  error(message: string, fields: LogFields = {}) {
    this.logger.error(message, fields);
  }
  child(fields: LogFields): SparklessLogger {
    return new PowertoolsAdapter(this.logger.createChild({ persistentKeys: fields }), this.level);
  }
}

const pad2 = (n: number) => String(n).padStart(2, "0");
const clockTime = (d: Date) =>
  `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;

/** Formats a field value for a readable line: strings bare unless they hold spaces. */
function fieldText(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

class TextLogger implements SparklessLogger {
  constructor(
    readonly level: LogLevel,
    private readonly fields: LogFields,
    private readonly write: (line: string) => void,
    private readonly now: () => Date,
  ) {}
  private emit(l: Exclude<LogLevel, "silent">, message: string, extra: LogFields = {}) {
    if (RANK[l] < RANK[this.level]) return;
    const all = { ...this.fields, ...extra };
    const { app, batchTime, taskId, ...rest } = all;
    const where = [
      app ? String(app) : "",
      batchTime !== undefined ? `batch ${clockTime(new Date(Number(batchTime)))}` : "",
      taskId !== undefined ? `task ${String(taskId)}` : "",
    ]
      .filter(Boolean)
      .join(" ");
    const tail = Object.entries(rest)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${fieldText(v)}`)
      .join(" ");
    this.write(`${clockTime(this.now())} ${l.toUpperCase().padEnd(5)} ${where ? `[${where}] ` : ""}${message}${tail ? `  ${tail}` : ""}`);
  }
  debug(message: string, fields?: LogFields) {
    this.emit("debug", message, fields);
  }
  info(message: string, fields?: LogFields) {
    this.emit("info", message, fields);
  }
  warn(message: string, fields?: LogFields) {
    this.emit("warn", message, fields);
  }
  error(message: string, fields?: LogFields) {
    this.emit("error", message, fields);
  }
  child(fields: LogFields): SparklessLogger {
    return new TextLogger(this.level, { ...this.fields, ...fields }, this.write, this.now);
  }
}
