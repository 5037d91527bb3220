// `eventfleet dlq stats | peek <worker> | redrive <worker>`: the SQS workers' dead-letter queues.
import { Argument, type Command } from "commander";
import { positiveInt } from "./option-parsers.ts";

import { SQS_WORKERS as WORKERS, type SqsWorker as Worker } from "../shared/topology/topology.ts";

async function loadTools() {
  const [{ ConfigError }, { readDlqConfig }, { createSqsClient }, tools] = await Promise.all([
    import("../shared/config.ts"),
    import("./dlq-config.ts"),
    import("../shared/aws-clients.ts"),
    import("../workers/sqs-runtime/dead-letter-tools.ts"),
  ]);
  /** Reads AWS settings and the queue URLs of `workers`; a missing one stops with the variable named (exit 2). */
  const configure = (workers: readonly Worker[]) => {
    try {
      const { aws, queues } = readDlqConfig(workers);
      return { sqs: createSqsClient(aws), queues };
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`eventfleet: configuration error: ${error.message}\n`);
        process.exit(2);
      }
      throw error;
    }
  };
  return { configure, ...tools };
}

const workerArgument = () => new Argument("<worker>", "which worker's DLQ").choices(WORKERS);

export function registerDlqCommands(program: Command): void {
  const dlq = program
    .command("dlq")
    .description(
      "SQS dead-letter queues of the order workers (needs <WORKER>_QUEUE_URL and <WORKER>_DLQ_URL)",
    );

  dlq
    .command("stats")
    .description("depth of every DLQ (and of its source queue)")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const { configure, dlqStats } = await loadTools();
      const { sqs, queues } = configure(WORKERS);
      const rows = await dlqStats(sqs, queues);
      sqs.destroy();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const header = ["worker", "dlq", "dead", "dead in flight", "queue", "queue in flight"];
      const lines = rows.map((r) => [
        r.worker,
        r.dlq,
        String(r.dead.visible),
        String(r.dead.inFlight),
        String(r.source.visible),
        String(r.source.inFlight),
      ]);
      const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
      for (const line of [header, ...lines]) {
        process.stdout.write(`${line.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")}\n`);
      }
    });

  dlq
    .command("peek")
    .description(
      "show dead letters of one worker (body, reason, error, attributes, receive count); they stay",
    )
    .addArgument(workerArgument())
    .option("-n, --count <n>", "how many", positiveInt, 10)
    .option("--json", "print JSON")
    .action(async (worker: Worker, options: { count: number; json?: boolean }) => {
      const { configure, peekDeadLetters } = await loadTools();
      const { sqs, queues } = configure([worker]);
      const letters = await peekDeadLetters(sqs, queues[0]!.dlqUrl, options.count);
      sqs.destroy();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(letters, null, 2)}\n`);
        return;
      }
      if (letters.length === 0) process.stdout.write(`no dead letters for ${worker}\n`);
      for (const letter of letters) {
        process.stdout.write(
          [
            `message ${letter.messageId}  received ${letter.receiveCount}x  sent ${letter.sentAt ?? "?"}`,
            `  reason: ${letter.reason ?? "(none: moved by SQS after maxReceiveCount)"}`,
            `  error:  ${letter.error ?? "-"}`,
            `  attributes: ${JSON.stringify(letter.attributes)}`,
            `  body: ${letter.body.length > 2000 ? `${letter.body.slice(0, 2000)}…` : letter.body}`,
            "",
          ].join("\n"),
        );
      }
    });

  dlq
    .command("redrive")
    .description("move one worker's dead letters back to its queue (bodies and attributes unchanged)")
    .addArgument(workerArgument())
    .option("--max <n>", "move at most this many", positiveInt)
    .option("--dry-run", "only count what would move")
    .action(async (worker: Worker, options: { max?: number; dryRun?: boolean }) => {
      const [{ configure, redriveDeadLetters }, { default: cliProgress }] = await Promise.all([
        loadTools(),
        import("cli-progress"),
      ]);
      const { sqs, queues } = configure([worker]);
      // Ctrl-C finishes the current batch (sent, then deleted); a second Ctrl-C exits at once (at most a duplicate).
      const interrupt = new AbortController();
      const onSignal = () => {
        if (interrupt.signal.aborted) process.exit(130);
        process.stderr.write("\nstopping after the current batch (Ctrl-C again to exit now)\n");
        interrupt.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const bar = new cliProgress.SingleBar(
        { format: `${worker} dlq [{bar}] {value}/{total}`, stream: process.stderr, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      let started = false;
      const result = await redriveDeadLetters(sqs, queues[0]!, {
        ...(options.max !== undefined ? { max: options.max } : {}),
        dryRun: options.dryRun ?? false,
        signal: interrupt.signal,
        onProgress: (done, total) => {
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.update(done);
        },
      });
      if (started) bar.stop();
      sqs.destroy();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      const summary = options.dryRun
        ? `dry run: ${result.wouldMove} of ${result.total} dead letters would move to ${worker}'s queue`
        : `moved ${result.moved} of ${result.total} dead letters to ${worker}'s queue` +
          (result.failed ? `; ${result.failed} refused by SQS (still in the DLQ)` : "") +
          (result.interrupted ? "; interrupted (run again to move the rest)" : "");
      process.stdout.write(`${summary}\n`);
      if (result.failed > 0) process.exitCode = 1;
    });
}
