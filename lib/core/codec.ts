/**
 * The wire form of records, state and task messages: JSON, with the values
 * JSON would lose tagged so they come back as they went in (undefined in
 * arrays and objects, NaN, ±Infinity, -0, bigint, Date, Map, Set).
 * Everything stored outside the process (DynamoDB, SQS) goes through it, so
 * the distributed engine sees exactly what the in-memory engine sees.
 * Class instances travel as plain objects of their own fields, as
 * `structuredClone` (the in-memory state store's copy) treats them.
 */
import { InvalidArgumentError } from "./errors.js";

const TAG = "$sl";

function toWire(v: unknown, path: string): unknown {
  if (v === undefined) return { [TAG]: "u" };
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { [TAG]: "nan" };
    if (v === Infinity) return { [TAG]: "inf" };
    if (v === -Infinity) return { [TAG]: "-inf" };
    if (Object.is(v, -0)) return { [TAG]: "-0" };
    return v;
  }
  if (typeof v === "bigint") return { [TAG]: "big", v: v.toString() };
  if (Array.isArray(v)) return v.map((x, i) => toWire(x, `${path}[${i}]`));
  if (v instanceof Date) return { [TAG]: "date", v: v.getTime() };
  if (v instanceof Map) return { [TAG]: "map", v: [...v].map(([k, x], i) => [toWire(k, `${path}.key${i}`), toWire(x, `${path}.value${i}`)]) };
  if (v instanceof Set) return { [TAG]: "set", v: [...v].map((x, i) => toWire(x, `${path}[${i}]`)) };
  if (typeof v === "object") {
    if (ArrayBuffer.isView(v)) return { [TAG]: "bytes", v: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
    // A class instance travels as its own fields, as structuredClone copies it: records and state are data.
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toWire(x, `${path}.${k}`);
    if (TAG in out) return { [TAG]: "obj", v: out };
    return out;
  }
  throw new InvalidArgumentError(`Cannot store a ${typeof v} at ${path}: functions and symbols are not data. Keep them out of records and state.`);
}

function fromWire(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(fromWire);
  const o = v as Record<string, unknown>;
  const tag = o[TAG];
  if (tag === undefined) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = fromWire(x);
    return out;
  }
  switch (tag) {
    case "u":
      return undefined;
    case "nan":
      return NaN;
    case "inf":
      return Infinity;
    case "-inf":
      return -Infinity;
    case "-0":
      return -0;
    case "big":
      return BigInt(o.v as string);
    case "date":
      return new Date(o.v as number);
    case "bytes":
      return new Uint8Array(Buffer.from(o.v as string, "base64"));
    case "map":
      return new Map((o.v as [unknown, unknown][]).map(([k, x]) => [fromWire(k), fromWire(x)]));
    case "set":
      return new Set((o.v as unknown[]).map(fromWire));
    case "obj": {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o.v as Record<string, unknown>)) out[k] = fromWire(x);
      return out;
    }
    default:
      return o;
  }
}

export function encode(value: unknown): string {
  return JSON.stringify(toWire(value, "value"));
}
export function decode<T = unknown>(text: string): T {
  return fromWire(JSON.parse(text)) as T;
}
