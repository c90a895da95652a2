#!/usr/bin/env node
// The `sparkless` executable: registers the TypeScript loader (so app modules can be .ts), then runs the CLI.
import { register } from "tsx/esm/api";

register();
await import("../local/quiet.ts");
await import("./main.ts");
