// Starting each local emulator as its own process (like a pod), with the endpoint the stack hands to the roles.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { AMQP_PORT, freeLoopbackHost } from "../eventhubs-emulator/loopback-endpoint.ts";
import { ManagedProcess } from "./managed-process.ts";
import { choosePort } from "./ports.ts";

export const STANDARD_PORTS = {
  redis: 6379,
  fauxqs: 4566,
  blob: 10000,
  queue: 10001,
  table: 10002,
  cosmos: 8081,
};

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/** The Cosmos emulator's well-known key (the local server accepts any key). */
export const COSMOS_EMULATOR_KEY =
  "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

export interface EmulatorContext {
  root: string;
  logDir: string;
  /** Prefer the standard ports (`make dev`) or take any free ones (tests). */
  standardPorts: boolean;
}

export interface RunningEmulator {
  name: string;
  process: ManagedProcess;
  /** Environment variables (ARCHITECTURE.md §3 names) that point a role at this emulator. */
  env: Record<string, string>;
  /** A short line for the summary. */
  where: string;
}

const pick = (ctx: EmulatorContext, standard: number) => choosePort(ctx.standardPorts ? standard : undefined);
const nodeBin = process.execPath;
const READY_MS = 30_000;

export async function startRedis(
  ctx: EmulatorContext,
  options: { appendOnly?: boolean; dataDir?: string } = {},
): Promise<RunningEmulator> {
  const port = await pick(ctx, STANDARD_PORTS.redis);
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    options.appendOnly ? "yes" : "no",
  ];
  if (options.dataDir) args.push("--dir", options.dataDir);
  const process = new ManagedProcess({
    name: "redis",
    command: "redis-server",
    args,
    logFile: join(ctx.logDir, "redis.log"),
  });
  await process.waitForPort(port, READY_MS);
  return {
    name: "redis",
    process,
    env: { REDIS_URL: `redis://127.0.0.1:${port}` },
    where: `redis://127.0.0.1:${port}`,
  };
}

export async function startFauxqs(ctx: EmulatorContext, region: string): Promise<RunningEmulator> {
  const port = await pick(ctx, STANDARD_PORTS.fauxqs);
  const process = new ManagedProcess({
    name: "fauxqs",
    command: nodeBin,
    args: [join(ctx.root, "dev/stack/emulator-main.ts"), "fauxqs", String(port)],
    env: { ...globalThis.process.env, FAUXQS_DEFAULT_REGION: region },
    logFile: join(ctx.logDir, "fauxqs.log"),
  });
  await process.waitForReadyLine(READY_MS);
  const url = `http://127.0.0.1:${port}`;
  return {
    name: "fauxqs (SNS+SQS)",
    process,
    env: { AWS_ENDPOINT_URL: url, AWS_REGION: region },
    where: url,
  };
}

export async function startAzurite(ctx: EmulatorContext): Promise<RunningEmulator> {
  const [blob, queue, table] = [
    await pick(ctx, STANDARD_PORTS.blob),
    await pick(ctx, STANDARD_PORTS.queue),
    await pick(ctx, STANDARD_PORTS.table),
  ];
  const process = new ManagedProcess({
    name: "azurite",
    command: nodeBin,
    args: [
      join(ctx.root, "node_modules/azurite/dist/src/azurite.js"),
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(blob),
      "--queueHost",
      "127.0.0.1",
      "--queuePort",
      String(queue),
      "--tableHost",
      "127.0.0.1",
      "--tablePort",
      String(table),
      "--inMemoryPersistence",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--loose",
      "--silent",
    ],
    // In memory, so nothing to store; its working directory only receives the debug log if enabled.
    cwd: ctx.logDir,
    logFile: join(ctx.logDir, "azurite.log"),
  });
  await process.waitForPort(blob, READY_MS);
  await process.waitForPort(queue, READY_MS);
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${blob}/${AZURITE_ACCOUNT};QueueEndpoint=http://127.0.0.1:${queue}/${AZURITE_ACCOUNT};`;
  return {
    name: "azurite (Blob+Queue)",
    process,
    env: { STORAGE_CONNECTION_STRING: connectionString },
    where: `blob http://127.0.0.1:${blob}, queue http://127.0.0.1:${queue}`,
  };
}

export async function startCosmos(ctx: EmulatorContext): Promise<RunningEmulator> {
  const port = await pick(ctx, STANDARD_PORTS.cosmos);
  const process = new ManagedProcess({
    name: "cosmos",
    command: nodeBin,
    args: [join(ctx.root, "dev/stack/emulator-main.ts"), "cosmos", String(port)],
    logFile: join(ctx.logDir, "cosmos.log"),
  });
  await process.waitForReadyLine(READY_MS);
  const url = `https://127.0.0.1:${port}/`;
  return {
    name: "cosmos (@vercel/cosmosdb-server)",
    process,
    env: { COSMOS_ENDPOINT: url, COSMOS_KEY: COSMOS_EMULATOR_KEY },
    where: url,
  };
}

/** Our Event Hubs emulator (dev/eventhubs-emulator), when it is present in this checkout. */
export function eventHubsEmulatorAvailable(root: string): boolean {
  return existsSync(join(root, "dev/eventhubs-emulator/cli.ts"));
}

export async function startEventHubs(
  ctx: EmulatorContext,
  hub = "telemetry",
  partitions = 4,
): Promise<RunningEmulator> {
  // On the AMQP port of its own loopback address, the endpoint names no port and every SDK (JS, Python, Go) names
  // the namespace alike, so their checkpoints meet (dev/eventhubs-emulator/loopback-endpoint.ts).
  const host = await freeLoopbackHost(ctx.standardPorts ? ["127.0.0.1"] : []);
  // A fresh key per stack, and the emulator checks it: a wrong key fails here as it would in Azure.
  const key = randomBytes(32).toString("base64");
  const process = new ManagedProcess({
    name: "eventhubs",
    command: nodeBin,
    args: [
      join(ctx.root, "bin/eventfleet.js"),
      "emulator",
      "eventhubs",
      "--hub",
      `${hub}:${partitions}`,
      "--consumer-group",
      "device-ingest",
      "--host",
      host,
      "--port",
      String(AMQP_PORT),
      "--verify-sas",
      key,
    ],
    logFile: join(ctx.logDir, "eventhubs.log"),
  });
  await process.waitForPort(AMQP_PORT, READY_MS, host);
  const connectionString =
    `Endpoint=sb://${host};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${key};` +
    `EntityPath=${hub};UseDevelopmentEmulator=true`;
  return {
    name: "eventhubs (dev/eventhubs-emulator)",
    process,
    env: { EVENTHUB_CONNECTION_STRING: connectionString, EVENTHUB_NAME: hub },
    where: `amqp://${host}:${AMQP_PORT} hub ${hub} (${partitions} partitions, SAS key verified)`,
  };
}
