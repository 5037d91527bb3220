// `eventfleet deadletter stats | peek | replay`: the device events that could not be ingested (Storage Queue).
import type { CosmosClient } from "@azure/cosmos";
import type { EventHubProducerClient } from "@azure/event-hubs";
import { Option, type Command } from "commander";
import { positiveInt } from "./option-parsers.ts";

/** Loads config and clients only when a command runs, so `--help` stays fast. */
async function connect() {
  const [{ parseEnv, processEnv, ConfigError }, clients, { buildTopology }, { deviceIngestEnv }] =
    await Promise.all([
      import("../shared/config.ts"),
      import("../shared/azure-clients.ts"),
      import("../shared/topology/topology.ts"),
      import("../workers/device-ingest/config.ts"),
    ]);
  let config;
  try {
    config = parseEnv({ EVENTFLEET_ENV: processEnv.EVENTFLEET_ENV, ...deviceIngestEnv });
    if (!config.STORAGE_CONNECTION_STRING && !config.STORAGE_ACCOUNT_URL) {
      throw new ConfigError(
        "STORAGE_CONNECTION_STRING",
        "STORAGE_CONNECTION_STRING: got nothing (unset), expected a connection string (or set STORAGE_ACCOUNT_URL)",
      );
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`eventfleet: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const topology = buildTopology({
    env: config.EVENTFLEET_ENV,
    ...(config.COSMOS_DATABASE ? { cosmosDatabase: config.COSMOS_DATABASE } : {}),
    eventHubName: config.EVENTHUB_NAME,
    consumerGroup: config.EVENTHUB_CONSUMER_GROUP,
  });
  const storage = clients.createStorageClients(config);
  return {
    config,
    clients,
    topology,
    queue: storage.queue.getQueueClient(topology.storageQueue),
    blobs: storage.blob.getContainerClient(topology.blobContainers.deadletter),
  };
}

async function statsCommand(options: { json?: boolean }): Promise<void> {
  const { queue, blobs, topology } = await connect();
  const { deadLetterStats } = await import("../workers/device-ingest/dead-letter-tools.ts");
  const stats = await deadLetterStats(queue, blobs);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ queue: topology.storageQueue, ...stats }, null, 2)}\n`);
    return;
  }
  const out = [
    `queue ${topology.storageQueue}: about ${stats.approximateMessages} dead letters`,
    `bodies in blob container ${topology.blobContainers.deadletter}: ${stats.bodiesInBlobs}`,
  ];
  if (stats.sampled > 0) {
    out.push(`reasons of the first ${stats.sampled}:`);
    for (const [reason, n] of Object.entries(stats.byReason).sort((a, b) => b[1] - a[1])) {
      out.push(`  ${String(n).padStart(5)}  ${reason}`);
    }
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

async function peekCommand(options: { count: number; number?: number; json?: boolean }): Promise<void> {
  const count = options.number ?? options.count;
  const { queue } = await connect();
  const { peekDeadLetters } = await import("../workers/device-ingest/dead-letter-tools.ts");
  const peeked = await peekDeadLetters(queue, count);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(peeked, null, 2)}\n`);
    return;
  }
  if (peeked.length === 0) process.stdout.write("no dead letters\n");
  for (const p of peeked) {
    const l = p.letter;
    process.stdout.write(
      l
        ? `${l.reason}  partition ${l.partitionId} seq ${l.sequenceNumber} offset ${l.offset} enqueued ${l.enqueuedTime}` +
            `  (dequeued ${p.dequeueCount}×)\n  error: ${l.error}\n  body:  ${p.bodyPreview}\n`
        : `unreadable message ${p.messageId}: ${p.unreadable}\n  text:  ${p.bodyPreview}\n`,
    );
  }
  if (count > 32) process.stderr.write("(a peek shows at most 32 messages)\n");
}

interface ReplayCommandOptions {
  max: number;
  to: "cosmos" | "eventhub";
  dryRun?: boolean;
}

async function replayCommand(options: ReplayCommandOptions): Promise<void> {
  const { config, clients, topology, queue, blobs } = await connect();
  const [
    { replayDeadLetters, DRY_RUN_LIMIT },
    { DeviceStore },
    { createIngestMetrics },
    { pino },
    { Registry },
    cliProgress,
  ] = await Promise.all([
    import("../workers/device-ingest/dead-letter-tools.ts"),
    import("../workers/device-ingest/device-store.ts"),
    import("../workers/device-ingest/ingest-metrics.ts"),
    import("pino"),
    import("prom-client"),
    import("cli-progress"),
  ]);
  const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" }, pino.destination(2));
  let cosmos: CosmosClient | undefined;
  let producer: EventHubProducerClient | undefined;
  let target: Parameters<typeof replayDeadLetters>[0]["target"];
  if (options.to === "cosmos") {
    if (!config.COSMOS_ENDPOINT) {
      process.stderr.write(
        "eventfleet: configuration error: COSMOS_ENDPOINT: got nothing (unset) (set COSMOS_ENDPOINT)\n",
      );
      process.exit(2);
    }
    cosmos = clients.createCosmosClient({
      COSMOS_ENDPOINT: config.COSMOS_ENDPOINT,
      COSMOS_KEY: config.COSMOS_KEY,
      COSMOS_EMULATOR: config.COSMOS_EMULATOR,
    });
    const database = cosmos.database(topology.cosmos.database);
    target = {
      to: "cosmos",
      store: new DeviceStore({
        telemetry: database.container("telemetry"),
        devices: database.container("devices"),
        mode: "bulk",
        backoff: { baseMs: 200, maxMs: config.DEVICE_INGEST_RETRY_MAX_MS },
        metrics: createIngestMetrics(new Registry()),
        logger,
      }),
    };
  } else {
    producer = clients.createEventHubProducer(config);
    target = { to: "eventhub", producer };
  }

  const queued = (await queue.getProperties()).approximateMessagesCount ?? 0;
  const limit = options.dryRun ? Math.min(options.max, DRY_RUN_LIMIT) : options.max;
  const total = Math.min(limit, queued);
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.dryRun ? "checking" : "replaying"} [{bar}] {value}/{total} · replayed {replayed} · kept {kept}`,
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 2000,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { replayed: 0, kept: 0 });
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\nstopping after the messages in hand (Ctrl-C again to quit at once)\n");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let result;
  try {
    result = await replayDeadLetters({
      queue,
      blobs,
      target,
      maxEventBytes: config.DEVICE_INGEST_MAX_EVENT_BYTES,
      max: options.max,
      dryRun: options.dryRun ?? false,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.seen > bar.getTotal()) bar.setTotal(p.seen);
        bar.update(p.seen, { replayed: p.replayed, kept: p.kept });
      },
    });
  } finally {
    bar.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cosmos?.dispose();
    await producer?.close();
  }
  const kept = Object.entries(result.keptReasons)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(", ");
  process.stdout.write(
    (options.dryRun
      ? `dry run: ${result.seen} looked at${queued > result.seen ? ` (the first ${result.seen} of about ${queued}: a dry run peeks, and a peek sees at most ${DRY_RUN_LIMIT})` : ""}, ` +
        `${result.wouldReplay} would be replayed to ${options.to}`
      : `${result.seen} looked at, ${result.replayed} replayed to ${options.to}`) +
      `, ${result.kept} kept in the queue${kept ? ` (${kept})` : ""}${controller.signal.aborted ? " (interrupted)" : ""}\n`,
  );
}

export function registerDeadletterCommands(program: Command): void {
  const deadletter = program
    .command("deadletter")
    .description("device events that could not be ingested (Storage Queue <env>-telemetry-deadletter)");
  deadletter
    .command("stats")
    .description("how many dead letters, and their reasons (of the first 32)")
    .option("--json", "print JSON")
    .action(statsCommand);
  deadletter
    .command("peek")
    .description("show dead letters without taking them off the queue")
    // -n/--count as in `dlq peek`; --number is the old spelling, still accepted.
    .addOption(new Option("-n, --count <n>", "how many (at most 32)").argParser(positiveInt).default(10))
    .addOption(new Option("--number <n>", "old name of --count").argParser(positiveInt).hideHelp())
    .option("--json", "print JSON")
    .action(peekCommand);
  deadletter
    .command("replay")
    .description(
      "re-validate dead letters and write the valid ones; a message is deleted only after its event was written " +
        "(safe to interrupt; still-invalid ones stay)",
    )
    .addOption(
      new Option("--max <n>", "look at most at this many messages").argParser(positiveInt).default(10_000),
    )
    .addOption(
      new Option(
        "--to <target>",
        "cosmos: write the documents directly (same ids as the worker); eventhub: send the events to the hub again",
      )
        .choices(["cosmos", "eventhub"])
        .default("cosmos"),
    )
    .option(
      "--dry-run",
      "only report what would be replayed, by peeking at the first 32 messages; changes nothing (not even dequeue counts)",
    )
    .action(replayCommand);
}
