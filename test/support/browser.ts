/**
 * The Chromium the browser tests drive, found without apt: `npm install` alone must bring one. Looked up
 * in this order:
 *
 *  1. SPARKLESS_CHROMIUM, the path of a Chromium or Chrome executable, when set;
 *  2. @sparticuz/chromium (a devDependency), which carries a headless Chromium inside its npm tarball
 *     (no install script): `executablePath()` unpacks it into the temp folder once, launched with its flags;
 *  3. a system Chromium on PATH or in /usr/bin (Debian's `apt-get install chromium`), for machines where
 *     the packaged one cannot run (another CPU architecture, a libc it does not support).
 */
import { existsSync } from "node:fs";
import path from "node:path";

export interface Chromium {
  readonly executablePath: string;
  readonly args: readonly string[];
  /** Which of the three it is, for messages. */
  readonly source: string;
}

/** Flags for a closed network (see the machine notes): no background connections, no sandbox as root. */
const CLOSED_NETWORK_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

const SYSTEM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

function systemChromium(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean), "/usr/bin", "/snap/bin"];
  for (const dir of dirs) {
    for (const name of SYSTEM_NAMES) {
      const file = path.join(dir, name);
      if (existsSync(file)) return file;
    }
  }
  return undefined;
}

export async function findChromium(): Promise<Chromium> {
  const given = process.env.SPARKLESS_CHROMIUM;
  if (given) {
    if (!existsSync(given))
      throw new Error(`SPARKLESS_CHROMIUM is ${given}, which does not exist: set it to a Chromium or Chrome executable, or unset it.`);
    return { executablePath: given, args: CLOSED_NETWORK_ARGS, source: `SPARKLESS_CHROMIUM (${given})` };
  }
  let packaged: string;
  try {
    const { default: chromium } = await import("@sparticuz/chromium");
    const executablePath = await chromium.executablePath();
    return { executablePath, args: [...new Set([...chromium.args, ...CLOSED_NETWORK_ARGS])], source: `@sparticuz/chromium (${executablePath})` };
  } catch (e) {
    packaged = (e as Error).message;
  }
  const system = systemChromium();
  if (system) return { executablePath: system, args: CLOSED_NETWORK_ARGS, source: `the system's ${system}` };
  throw new Error(
    `No Chromium for the browser tests. @sparticuz/chromium (a devDependency, brought by \`npm install\`) failed: ${packaged}. ` +
      `Set SPARKLESS_CHROMIUM to a Chromium executable, or install one (\`apt-get install chromium\` on Debian).`,
  );
}
