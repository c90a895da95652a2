import { describe, expect, it } from "vitest";
import { decode, encode } from "../../lib/core/codec.js";
import { InvalidArgumentError } from "../../lib/index.js";

describe("codec", () => {
  it("round-trips what JSON loses", () => {
    const v = [
      ["k", [1, undefined]],
      { a: undefined, b: NaN, c: -0, d: Infinity, e: -Infinity },
      10n,
      new Date(5),
      new Map([[["t", 1], new Set([1, 2])]]),
    ];
    const back = decode<typeof v>(encode(v));
    expect(back).toEqual(v);
    expect(Object.is((back[1] as { c: number }).c, -0)).toBe(true);
    expect(Object.prototype.hasOwnProperty.call(back[1], "a")).toBe(true);
  });
  it("keeps plain objects that happen to use the tag key", () => {
    expect(decode(encode({ $sl: "u", x: 1 }))).toEqual({ $sl: "u", x: 1 });
  });
  it("refuses functions with the path and the fix", () => {
    expect(() => encode({ f: () => 1 })).toThrow(InvalidArgumentError);
    expect(() => encode([1, { f: () => 1 }])).toThrow(/value\[1\]\.f/);
  });
  it("carries class instances as their fields, as structuredClone does, and bytes as bytes", () => {
    class Point {
      x = 1;
      y = [2];
    }
    expect(decode(encode(new Point()))).toEqual({ x: 1, y: [2] });
    expect(decode(encode(structuredClone(new Point())))).toEqual(structuredClone(new Point()));
    expect(decode(encode(new Uint8Array([1, 2, 255])))).toEqual(new Uint8Array([1, 2, 255]));
  });
});
