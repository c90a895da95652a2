// The `sparkless` command line, as a user runs it: exit codes, messages, and a real local run
// of the word count on embedded engines that leaves no process behind.
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = "lib/cli/bin.mjs";

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  descendants: Map<number, string>;
}

interface Proc {
  pid: number;
  ppid: number;
  args: string;
}
function processes(): Proc[] {
  const out = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
}

/** Runs the CLI; while it runs, records every process descended from it (engines, watchdog, workers). */
function cli(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const descendants = new Map<number, string>();
    const track = () => {
      if (child.pid === undefined) return;
      const all = processes();
      const family = new Set([child.pid, ...descendants.keys()]);
      let grew = true;
      while (grew) {
        grew = false;
        for (const p of all) {
          if (family.has(p.ppid) && !family.has(p.pid)) {
            family.add(p.pid);
            descendants.set(p.pid, p.args);
            grew = true;
          }
        }
      }
    };
    const poll = setInterval(() => {
      try {
        track();
      } catch {
        /* ps raced an exit */
      }
    }, 250);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sparkless ${args.join(" ")} did not exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      // let the pipes drain
      setTimeout(() => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0, descendants }), 100);
    });
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("sparkless CLI", () => {
  it("--help exits 0 and lists the local command and its options", async () => {
    const r = await cli(["--help"], 30_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s+sparkless local <app\.ts>/m);
    for (const option of ["--batch-interval", "--batches", "--feed", "--feed-rate", "--shards", "--endpoint"]) expect(r.stdout).toContain(option);
  });

  it("an unknown command exits 2 and says so", async () => {
    const r = await cli(["deploy-everything"], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "deploy-everything"');
    expect(r.stderr).toContain("--help");
    expect(r.stdout).toBe("");
  });

  it("local without an app module exits 2 and shows how to call it", async () => {
    const r = await cli(["local"], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing the app module");
    expect(r.stderr).toContain("sparkless local examples/wordcount-app.ts");
  });

  it("local with a bad option value exits non-zero with a message naming the option", async () => {
    const r = await cli(["local", "examples/wordcount-app.ts", "--batches", "zero"], 30_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--batches");
    expect(r.stderr).toContain("`zero`");
    expect(r.descendants.size).toBe(0); // refused before starting anything
  });

  it("local runs the word count for 2 batches on embedded engines, prints Spark's output and leaves no process behind", async () => {
    const before = new Set(processes().map((p) => p.pid));
    const r = await cli(
      ["local", "examples/wordcount-app.ts", "--batch-interval", "1s", "--batches", "2", "--feed", "examples/data/alice.txt", "--feed-rate", "50"],
      90_000,
    );
    expect(r.code, `stderr:\n${r.stderr}`).toBe(0);
    expect(r.ms).toBeLessThan(90_000);
    const lines = r.stdout.split("\n");
    const headers = lines.filter((l) => /^Time: \d+ ms$/.test(l));
    expect(headers.length).toBeGreaterThanOrEqual(2);
    // batch times are 1 s apart, on the batch clock
    const times = headers.map((l) => Number(/\d+/.exec(l)![0]));
    expect(times[1]! - times[0]!).toBe(1000);
    expect(times.every((t) => t % 1000 === 0)).toBe(true);
    const the = lines.map((l) => /^\(the,(\d+)\)$/.exec(l)).filter((m) => m !== null);
    expect(the.length).toBeGreaterThan(0);
    expect(Number(the[the.length - 1]![1])).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/2 batches completed/);

    // The engines (kinesalite, DynamoDB Local), the watchdog and the worker processes it started are all gone.
    const started = [...r.descendants.entries()].filter(([pid]) => !before.has(pid));
    expect(
      started.some(([, args]) => /kinesalite/i.test(args)),
      `descendants seen: ${[...r.descendants.values()].join(" | ")}`,
    ).toBe(true);
    expect(started.some(([, args]) => /DynamoDBLocal/i.test(args))).toBe(true);
    expect(started.some(([, args]) => /worker-process/.test(args))).toBe(true);
    let left: [number, string][] = [];
    for (let i = 0; i < 50; i++) {
      left = started.filter(([pid]) => alive(pid) && processes().some((p) => p.pid === pid && p.args === r.descendants.get(pid)));
      if (left.length === 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(left, `left running: ${left.map(([pid, args]) => `${pid} ${args.slice(0, 120)}`).join("\n")}`).toEqual([]);
  }, 180_000);
});
