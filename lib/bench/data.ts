/**
 * The bench's input: deterministic text lines (a seeded generator, Zipf-like
 * word frequencies over a fixed vocabulary), the same for every contender.
 */

/** mulberry32: a small seeded PRNG, so every run and every contender sees the same records. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "va", "shu", "gen", "tor", "bel", "an", "ix"];

/** A vocabulary of `size` distinct lowercase words. */
export function vocabulary(size: number): string[] {
  const words: string[] = [];
  for (let i = 0; words.length < size; i++) {
    let n = i;
    let w = "";
    do { w += SYLLABLES[n % SYLLABLES.length]; n = Math.floor(n / SYLLABLES.length); } while (n > 0);
    words.push(w);
  }
  return words;
}

export interface LineOptions { records: number; wordsPerLine?: number; vocabulary?: number; seed?: number }

/** `records` lines of `wordsPerLine` space-separated words, word ranks drawn from a Zipf-like (1/r) law. */
export function generateLines(options: LineOptions): string[] {
  const vocab = vocabulary(options.vocabulary ?? 10_000);
  const perLine = options.wordsPerLine ?? 8;
  const random = rng(options.seed ?? 42);
  // Inverse-CDF sampling of a 1/r law over the vocabulary.
  const cdf = new Float64Array(vocab.length);
  let sum = 0;
  for (let r = 0; r < vocab.length; r++) { sum += 1 / (r + 1); cdf[r] = sum; }
  const pick = (): string => {
    const u = random() * sum;
    let lo = 0, hi = vocab.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid]! < u) lo = mid + 1; else hi = mid; }
    return vocab[lo]!;
  };
  const lines = new Array<string>(options.records);
  for (let i = 0; i < options.records; i++) {
    let line = pick();
    for (let k = 1; k < perLine; k++) line += " " + pick();
    lines[i] = line;
  }
  return lines;
}

/** Cuts `lines` into consecutive batches of `size` records. */
export function batchesOf<T>(lines: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < lines.length; i += size) out.push(lines.slice(i, i + size));
  return out;
}

/** Median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The p-th percentile (0–100), nearest-rank. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}
