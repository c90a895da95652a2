// The optional peer dependencies (lib/local/optional.ts): found where Node would find them, and when
// missing, one typed error naming each and the one documented command that adds them.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SparklessError } from "../../lib/core/errors.js";
import {
  hasOptionalPackage,
  LOCAL_INSTALL_COMMAND,
  MissingPackageError,
  missingLocalRunPackages,
  optionalPackageDir,
  tsxImportArgs,
  type OptionalPackage,
} from "../../lib/local/optional.js";

describe("optional packages", () => {
  it("names every missing package, what it is for, and the one command", () => {
    const e = new MissingPackageError(["kinesalite", "fauxqs"], LOCAL_INSTALL_COMMAND);
    expect(e).toBeInstanceOf(SparklessError);
    expect(e.name).toBe("MissingPackageError");
    expect(e.message).toBe(
      'The npm packages "kinesalite" (the embedded Kinesis of `sparkless local`), "fauxqs" (the embedded SQS and S3 of `sparkless local`) ' +
        "are not installed. Add them with `npm install --save-dev tsx kinesalite amplify-dynamodb-simulator fauxqs@1.9`.",
    );
    expect(e.packages).toEqual(["kinesalite", "fauxqs"]);
  });

  it("says what could not be done first, and another way out after the command", () => {
    const e = new MissingPackageError(["tsx"], "npm install --save-dev tsx", { context: "Cannot load app.ts", alternative: "or compile it to .mjs" });
    expect(e.message).toBe(
      'Cannot load app.ts. The npm package "tsx" (loading an app module written in TypeScript) is not installed. Add it with `npm install --save-dev tsx`, or compile it to .mjs.',
    );
  });

  it("is the command the README documents", () => {
    expect(readFileSync(new URL("../../README.md", import.meta.url), "utf8")).toContain(LOCAL_INSTALL_COMMAND);
  });

  it("finds installed packages, fauxqs too, whose exports hide its package.json", () => {
    for (const p of ["kinesalite", "amplify-dynamodb-simulator", "fauxqs", "tsx"] as const) {
      expect(existsSync(path.join(optionalPackageDir(p), "package.json")), p).toBe(true);
    }
    expect(hasOptionalPackage("sparkless-no-such-package" as OptionalPackage)).toBe(false);
    expect(missingLocalRunPackages({ appPath: "app.ts" })).toBeUndefined();
  });

  it("gives child processes tsx's ES module loader only", () => {
    const [flag, url] = tsxImportArgs();
    expect(flag).toBe("--import");
    expect(url).toMatch(/^file:\/\/.*\/tsx\/dist\/esm\/index\.mjs$/);
  });
});
