/**
 * `sparkless feed` is byte-exact: each input format sends exactly the bytes it documents, bytes that
 * are not UTF-8 included (the line reader used to turn them into U+FFFD), and records of 0 bytes where
 * the format can carry them. Checked by reading the stream back, byte for byte, from embedded Kinesis
 * (kinesalite).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from "@aws-sdk/client-kinesis";
import { feedCommand, FEED_HELP } from "../../lib/cli/feed.js";
import { awsClientConfig, startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { ensureStream } from "../../lib/local/runtime.js";
import { FeedError } from "../../lib/producer/feed.js";
import { readRecords } from "../../lib/producer/lines.js";
import type { CliIo } from "../../lib/cli/target.js";

let engines: EmbeddedEngines;
let admin: KinesisClient;
let n = 0;
const dir = mkdtempSync(path.join(tmpdir(), "sparkless-feed-"));

beforeAll(async () => {
  engines = await startEmbeddedEngines({ dynamodb: false, sqs: false });
  admin = new KinesisClient({ ...awsClientConfig(engines.kinesis, engines.region) });
});
afterAll(async () => {
  admin?.destroy();
  await engines?.stop();
});

/** A new stream of one shard, so records read back in the order they were sent. */
async function newStream(): Promise<string> {
  const name = `feedfmt-${process.pid}-${++n}`;
  await ensureStream(admin, name, 1);
  return name;
}

/** Every record's bytes, in order. */
async function readBack(stream: string): Promise<Buffer[]> {
  let it = (await admin.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: "shardId-000000000000", ShardIteratorType: "TRIM_HORIZON" })))
    .ShardIterator;
  const out: Buffer[] = [];
  for (;;) {
    const r = await admin.send(new GetRecordsCommand({ ShardIterator: it!, Limit: 10_000 }));
    for (const rec of r.Records ?? []) out.push(Buffer.from(rec.Data ?? new Uint8Array()));
    it = r.NextShardIterator;
    if (!r.Records?.length) break;
  }
  return out;
}

function captureIo(stdin = new PassThrough()) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (s: string) => out.push(s), isTTY: false },
    stderr: { write: (s: string) => err.push(s), isTTY: false, columns: 100 },
    stdin,
    env: {},
    cwd: dir,
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

const file = (name: string, bytes: Buffer) => {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
const frame = (b: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(b.length);
  return Buffer.concat([h, b]);
};
const hex = (bs: Buffer[]) => bs.map((b) => b.toString("hex"));
/** Bytes that are not UTF-8: a lone continuation byte, FF FE, a cut-short sequence, an encoded surrogate, NUL. */
const notUtf8 = Buffer.from([0x80, 0xff, 0xfe, 0x20, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x00]);

describe("sparkless feed --format lines (the default)", () => {
  it("sends each line's bytes exactly, text or not, without its line end; blank lines are skipped", async () => {
    const stream = await newStream();
    const input = file(
      "lines.txt",
      Buffer.concat([
        Buffer.from("café\n"),
        notUtf8,
        Buffer.from("\r\n"),
        Buffer.from("\n   \n"),
        Buffer.from("\ufeffbom line\n"),
        Buffer.from([0x74, 0x61, 0x69, 0x6c, 0xc3]),
      ]),
    );
    const c = captureIo();
    expect(await feedCommand(["--stream", stream, "--endpoint", engines.kinesis, input], c.io)).toBe(0);
    expect(hex(await readBack(stream))).toEqual(
      hex([Buffer.from("café"), notUtf8, Buffer.from("\ufeffbom line"), Buffer.from([0x74, 0x61, 0x69, 0x6c, 0xc3])]),
    );
    expect(c.out()).toMatch(/sent 4 records .*2 blank lines ignored/);
  });

  it("with --json, a line that is not UTF-8 is reported as not JSON and skipped", async () => {
    const stream = await newStream();
    const input = file("json.txt", Buffer.concat([Buffer.from('{"a":1}\n'), Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), Buffer.from('{"a":"é"}\n')]));
    const c = captureIo();
    expect(await feedCommand(["--stream", stream, "--endpoint", engines.kinesis, "--json", input], c.io)).toBe(0);
    expect((await readBack(stream)).map((b) => b.toString())).toEqual(['{"a":1}', '{"a":"é"}']);
    expect(c.err()).toBe("line 2: skipped: not JSON (not valid UTF-8)\n");
  });
});

describe("sparkless feed --format base64", () => {
  it("sends each line's decoded bytes; an empty line is a record of 0 bytes; a line that is not base64 is reported by its number", async () => {
    const stream = await newStream();
    const noise = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131 + 7) & 0xff));
    const lines = [
      notUtf8.toString("base64"),
      "",
      Buffer.from("hi").toString("base64").replace(/=+$/, ""),
      "not base64!",
      "QQ=B",
      noise.toString("base64") + " \r",
    ];
    const c = captureIo();
    expect(
      await feedCommand(
        ["--stream", stream, "--endpoint", engines.kinesis, "--format", "base64", file("b64.txt", Buffer.from(lines.join("\n") + "\n"))],
        c.io,
      ),
    ).toBe(0);
    expect(hex(await readBack(stream))).toEqual(hex([notUtf8, Buffer.alloc(0), Buffer.from("hi"), noise]));
    expect(c.err()).toMatch(/^line 4: skipped: not base64 \("not base64!"\).*\nline 5: skipped: not base64 \("QQ=B"\)/);
    expect(c.out()).toMatch(/sent 4 records .*2 skipped/);
  });

  it("with --strict, stops at the first line that is not base64, everything before it sent", async () => {
    const stream = await newStream();
    const c = captureIo();
    const input = file("b64bad.txt", Buffer.from(["AP8=", "%%%", "AQI="].join("\n")));
    await expect(feedCommand(["--stream", stream, "--endpoint", engines.kinesis, "--format", "base64", "--strict", input], c.io)).rejects.toThrow(
      /^line 2: not base64 .*Every record before line 2 was sent, none from it on \(--strict/,
    );
    expect(hex(await readBack(stream))).toEqual(["00ff"]);
  });
});

describe("sparkless feed --format length-prefixed", () => {
  it("sends each record's bytes: empty, not UTF-8, line ends inside, and larger than a read", async () => {
    const stream = await newStream();
    const big = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 17) & 0xff));
    const records = [Buffer.alloc(0), notUtf8, Buffer.from("two\nlines\r\n"), big];
    const c = captureIo();
    expect(
      await feedCommand(
        ["--stream", stream, "--endpoint", engines.kinesis, "--format", "length-prefixed", file("framed.bin", Buffer.concat(records.map(frame)))],
        c.io,
      ),
    ).toBe(0);
    expect(hex(await readBack(stream))).toEqual(hex(records));
    expect(c.out()).toMatch(/^sent 4 records /);
  });

  it("reads standard input", async () => {
    const stream = await newStream();
    const stdin = new PassThrough();
    stdin.end(Buffer.concat([frame(notUtf8), frame(Buffer.from("x"))]));
    const c = captureIo(stdin);
    expect(await feedCommand(["--stream", stream, "--endpoint", engines.kinesis, "--format", "length-prefixed", "-"], c.io)).toBe(0);
    expect(hex(await readBack(stream))).toEqual(hex([notUtf8, Buffer.from("x")]));
  });

  it("input cut short inside a record, or a length over 10 MiB, stops the feed once every record before it is sent", async () => {
    const stream = await newStream();
    const cut = Buffer.concat([frame(Buffer.from("a")), frame(Buffer.from("bc")), frame(Buffer.from("defgh")).subarray(0, 6)]);
    await expect(
      feedCommand(["--stream", stream, "--endpoint", engines.kinesis, "--format", "length-prefixed", file("cut.bin", cut)], captureIo().io),
    ).rejects.toThrow(
      /^record 3 \(at byte 11\): the input ends 2 byte\(s\) into a record of 5 bytes: the input was cut short\. Every record before record 3 \(at byte 11\) was sent, none from it on\.$/,
    );
    expect((await readBack(stream)).map((b) => b.toString())).toEqual(["a", "bc"]);

    const other = await newStream();
    const text = Buffer.from("just some text, not framed\n");
    const error = await feedCommand(
      ["--stream", other, "--endpoint", engines.kinesis, "--format", "length-prefixed", file("text.bin", text)],
      captureIo().io,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FeedError);
    expect((error as Error).message).toMatch(
      /^record 1 \(at byte 0\): its length prefix .* says 1,786,082,164 bytes, over Kinesis' 10\.0 MiB maximum record: the input is not length-prefixed records/,
    );
    expect(await readBack(other)).toEqual([]);
  });
});

describe("sparkless feed --dir", () => {
  it("sends each file's bytes as one record, in name order; an empty file is a record of 0 bytes; dot files and folders are left out", async () => {
    const stream = await newStream();
    const records = mkdtempSync(path.join(dir, "records-"));
    writeFileSync(path.join(records, "b.bin"), notUtf8);
    writeFileSync(path.join(records, "a.txt"), "first\n");
    writeFileSync(path.join(records, "c.empty"), "");
    writeFileSync(path.join(records, ".hidden"), "no");
    mkdirSync(path.join(records, "sub"));
    writeFileSync(path.join(records, "sub", "d"), "no");
    const c = captureIo();
    expect(await feedCommand(["--stream", stream, "--endpoint", engines.kinesis, "--dir", records], c.io)).toBe(0);
    expect(hex(await readBack(stream))).toEqual(hex([Buffer.from("first\n"), notUtf8, Buffer.alloc(0)]));
  });

  it("names the file of a bad record", async () => {
    const stream = await newStream();
    const records = mkdtempSync(path.join(dir, "records-"));
    writeFileSync(path.join(records, "ok.json"), '{"ok":true}');
    writeFileSync(path.join(records, "bad.json"), Buffer.from([0x7b, 0xff, 0x7d]));
    const c = captureIo();
    expect(await feedCommand(["--stream", stream, "--endpoint", engines.kinesis, "--dir", records, "--json"], c.io)).toBe(0);
    expect(c.err()).toBe("file bad.json: skipped: not JSON (not valid UTF-8)\n");
    expect((await readBack(stream)).map((b) => b.toString())).toEqual(['{"ok":true}']);
  });
});

describe("the formats in the help, and their usage errors", () => {
  it("the help says what each format sends", () => {
    for (const s of ["--format lines", "--format base64", "--format length-prefixed", "--dir DIR", "4-byte big-endian", "0 bytes", "not valid UTF-8"])
      expect(FEED_HELP).toContain(s);
  });

  it("rejects an unknown format, and --dir with a FILE or a --format", async () => {
    const c = captureIo();
    await expect(feedCommand(["--stream", "s", "--format", "csv", "x"], c.io)).rejects.toThrow(
      /--format is lines, base64, length-prefixed; got `csv`/,
    );
    await expect(feedCommand(["--stream", "s", "--dir", dir, "x"], c.io)).rejects.toThrow(/--dir and a FILE \(x\) both name the input/);
    await expect(feedCommand(["--stream", "s", "--dir", dir, "--format", "base64"], c.io)).rejects.toThrow(/--format does not apply/);
  });

  it("counts the input's bytes for the progress bar in every format", async () => {
    const bytes = Buffer.concat([frame(Buffer.from("abc")), frame(Buffer.alloc(0))]);
    const reader = readRecords(file("count.bin", bytes), "length-prefixed");
    const got: unknown[] = [];
    for await (const r of reader.records) got.push(r);
    expect(got).toEqual([Uint8Array.from(Buffer.from("abc")), new Uint8Array(0)]);
    expect(reader.bytesRead()).toBe(bytes.length);
    expect(reader.where(2)).toBe("record 2 (at byte 7)");
  });
});
