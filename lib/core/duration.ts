/**
 * Durations and batch times, as Spark Streaming's `Duration` and `Time`.
 *
 * Both are whole milliseconds. A batch time is the end of the interval the
 * batch covers: with a zero time of 0 and a 1 s interval, batch i has time
 * `(i + 1) * 1000`. Window and slide checks are done with `isMultipleOf`.
 */
import { InvalidArgumentError } from "./errors.js";

export class Duration {
  constructor(readonly milliseconds: number) {
    if (!Number.isInteger(milliseconds) || milliseconds < 0) {
      throw new InvalidArgumentError(
        `Expected a duration to be a whole number of milliseconds >= 0, got \`${milliseconds}\`. Use Milliseconds(n), Seconds(n) or Minutes(n) with a whole number of milliseconds.`,
      );
    }
  }
  plus(other: Duration): Duration {
    return new Duration(this.milliseconds + other.milliseconds);
  }
  minus(other: Duration): Duration {
    return new Duration(this.milliseconds - other.milliseconds);
  }
  times(n: number): Duration {
    return new Duration(this.milliseconds * n);
  }
  /** How many times `other` fits into this duration (may be fractional). */
  div(other: Duration): number {
    return this.milliseconds / other.milliseconds;
  }
  isMultipleOf(other: Duration): boolean {
    return other.milliseconds > 0 && this.milliseconds % other.milliseconds === 0;
  }
  isZero(): boolean {
    return this.milliseconds === 0;
  }
  less(other: Duration): boolean {
    return this.milliseconds < other.milliseconds;
  }
  greater(other: Duration): boolean {
    return this.milliseconds > other.milliseconds;
  }
  max(other: Duration): Duration {
    return this.milliseconds >= other.milliseconds ? this : other;
  }
  equals(other: Duration): boolean {
    return this.milliseconds === other.milliseconds;
  }
  toString(): string {
    return `${this.milliseconds} ms`;
  }
}

export function Milliseconds(n: number): Duration {
  return new Duration(n);
}
export function Seconds(n: number): Duration {
  return new Duration(Math.round(n * 1000));
}
export function Minutes(n: number): Duration {
  return new Duration(Math.round(n * 60_000));
}

/** A batch time: milliseconds since the epoch (or since the manual clock's zero). */
export class Time {
  constructor(readonly milliseconds: number) {}
  plus(d: Duration): Time {
    return new Time(this.milliseconds + d.milliseconds);
  }
  minus(d: Duration): Time {
    return new Time(this.milliseconds - d.milliseconds);
  }
  /** The duration between two times. */
  since(t: Time): Duration {
    return new Duration(this.milliseconds - t.milliseconds);
  }
  less(t: Time): boolean {
    return this.milliseconds < t.milliseconds;
  }
  lessEq(t: Time): boolean {
    return this.milliseconds <= t.milliseconds;
  }
  greater(t: Time): boolean {
    return this.milliseconds > t.milliseconds;
  }
  greaterEq(t: Time): boolean {
    return this.milliseconds >= t.milliseconds;
  }
  equals(t: Time): boolean {
    return this.milliseconds === t.milliseconds;
  }
  /** Whether this time falls on a boundary of `d` counted from `zero`. */
  isMultipleOf(d: Duration, zero: Time = new Time(0)): boolean {
    return (this.milliseconds - zero.milliseconds) % d.milliseconds === 0;
  }
  /** The largest boundary of `d` (counted from 0) that is <= this time. */
  floor(d: Duration): Time {
    return new Time(Math.floor(this.milliseconds / d.milliseconds) * d.milliseconds);
  }
  toString(): string {
    return `${this.milliseconds} ms`;
  }
}

/** Parses "500ms", "2s", "1m", "1.5s" or a bare number of milliseconds. */
export function parseDuration(text: string | number): Duration {
  if (typeof text === "number") return new Duration(text);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(text);
  if (!m) {
    throw new InvalidArgumentError(`Expected a duration like \`500ms\`, \`2s\` or \`1m\`, got \`${text}\`.`);
  }
  const n = Number(m[1]);
  const unit = m[2] ?? "ms";
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "h" ? 3_600_000 : 60_000;
  return new Duration(Math.round(n * factor));
}
