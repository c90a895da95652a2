/**
 * DynamoDB on DynamoDB Local, AWS's own (the jar inside the npm package
 * amplify-dynamodb-simulator): a `java` child process. In memory by default;
 * with a data folder, in its SQLite file there (`-dbPath`), which every write
 * reaches before it is acknowledged, so a SIGKILL loses nothing acknowledged.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { findFreePort, readyChildEngine, type RunningEngine } from "./readiness.js";
import { packageDir, startChild, type Watchdog } from "./supervision.js";
import { probeConfig } from "./client-config.js";

export const JAVA_MISSING_MESSAGE = "DynamoDB Local needs Java 17+: install a JDK (apt-get install openjdk-17-jre-headless)";

export interface DynamoDbLocalOptions {
  region: string;
  log: ((line: string) => void) | undefined;
  watchdog: Watchdog;
  timeoutMs: number;
  /** The folder of its database file; absent: in memory. */
  dataDir?: string;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<RunningEngine> {
  const dir = path.join(packageDir("amplify-dynamodb-simulator"), "emulator");
  const port = await findFreePort();
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  // DynamoDB Local has no bind-address option: it listens on every interface; clients use 127.0.0.1.
  // -disableTelemetry: there is no network here, and tests must not talk to anything but 127.0.0.1.
  // -sharedDb: one database whatever the credentials and region of the client.
  const args = [
    "-Xms64m",
    "-XX:+UseSerialGC",
    // C1 only: faster start-up, and on 2 cores no slower for short runs (measured, docs/local-engines.md)
    "-XX:TieredStopAtLevel=1",
    "-Djava.library.path=./DynamoDBLocal_lib",
    "-jar",
    "DynamoDBLocal.jar",
    ...(options.dataDir ? ["-dbPath", options.dataDir] : ["-inMemory"]),
    "-sharedDb",
    "-disableTelemetry",
    "-port",
    String(port),
  ];
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, "bin", "java") : "java";
  // The JVM cannot watch its parent: the watchdog kills it when this process dies (see supervision.ts).
  const managed = startChild("dynamodb-local", java, args, { cwd: dir, log: options.log, watchdog: options.watchdog });
  const endpoint = `http://127.0.0.1:${port}`;
  const { DynamoDBClient, ListTablesCommand } = await import("@aws-sdk/client-dynamodb");
  const client = new DynamoDBClient(probeConfig(endpoint, options.region));
  const probe = { call: () => client.send(new ListTablesCommand({})), close: () => client.destroy() };
  return readyChildEngine("dynamodb", managed, endpoint, probe, options.timeoutMs, (output, spawnError) => {
    if (spawnError?.code === "ENOENT") return JAVA_MISSING_MESSAGE;
    if (/UnsupportedClassVersionError|has been compiled by a more recent version/.test(output)) {
      return `${JAVA_MISSING_MESSAGE} (the java on PATH is too old)`;
    }
    return undefined;
  });
}
