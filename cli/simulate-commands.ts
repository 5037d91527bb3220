// `eventfleet simulate orders|devices`: load and demo traffic.
import { Option, type Command } from "commander";
import { registerSimulateDevicesCommand } from "./simulate-devices-commands.ts";
import type { SimulationProgress } from "../api/order-simulator.ts";
import { nonNegativeNumber, positiveInt, positiveNumber } from "./option-parsers.ts";
import { followOrders, outcomeLines, type ApiCall } from "./order-outcome.ts";
import {
  answered,
  progressLine,
  summaryLine,
  troubleLines,
  type ReportContext,
} from "./order-simulation-report.ts";

interface SimulateOrdersOptions {
  count: number;
  rate: number;
  apiUrl: string;
  apiKey?: string;
  token?: string;
  seedStock?: number;
  outcomeWait: number;
}

/** Most orders whose outcome is followed after a run (the last ones placed). */
const OUTCOME_SAMPLE = 20;

/** A live progress line on `stream` (cli-progress): redrawn in place on a terminal, fitted to its width. */
export async function orderProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  context: ReportContext,
) {
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      stream,
      // cli-progress hands the terminal's width (stream.columns) to the formatter as maxWidth ...
      format: (options, params, payload: { progress: SimulationProgress }) =>
        progressLine(
          payload.progress,
          context,
          (width) => cliProgress.Format.BarFormat(params.progress, { ...options, barsize: width }),
          params.maxWidth,
        ),
      barsize: 30,
      // ... and, as a last resort, cuts what it writes to that width: the line never wraps and scrolls.
      linewrap: true,
      clearOnComplete: true,
      noTTYOutput: !stream.isTTY,
      notTTYSchedule: 1000,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(progress: SimulationProgress) {
      const done = answered(progress);
      if (!started) {
        bar.start(context.count, done, { progress });
        started = true;
      } else bar.update(done, { progress });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** The API did not answer at all: say what the socket said (ECONNREFUSED …) and stop (exit 1). */
function unreachable(apiUrl: string, error: unknown): never {
  const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
  const why = cause?.code ? `${cause.code} (${cause.message})` : String(error);
  process.stderr.write(
    `eventfleet: cannot reach the API at ${apiUrl}: ${why}; is it running? ` +
      "(start it with `make dev`, or point --api-url / API_URL at it)\n",
  );
  process.exit(1);
}

/** Says why the run cannot work before it starts: no API to talk to (exit 1), or no stock (every order REJECTED). */
async function preflight(call: ApiCall, skus: readonly string[]): Promise<void> {
  let levels;
  try {
    levels = await Promise.all(
      skus.map(async (sku) => {
        const response = await fetch(new URL(`/v1/inventory/${sku}`, call.apiUrl), { headers: call.headers });
        return response.ok ? ((await response.json()) as { sku: string; available: number }) : undefined;
      }),
    );
  } catch (error) {
    unreachable(call.apiUrl, error);
  }
  // Without the inventory scope the levels are unknown: say nothing rather than guess.
  if (levels.some((level) => level === undefined)) return;
  const empty = levels.filter((level) => level!.available === 0).map((level) => level!.sku);
  if (empty.length === 0) return;
  process.stderr.write(
    `warning: no stock of ${empty.join(", ")}: the inventory worker will REJECT the orders that need them ` +
      "(add --seed-stock 1000 to set stock first)\n",
  );
}

async function simulateOrdersCommand(options: SimulateOrdersOptions): Promise<void> {
  const { simulateOrders, percentile, DEFAULT_SKUS } = await import("../api/order-simulator.ts");
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.apiKey) headers["x-api-key"] = options.apiKey;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const call = { apiUrl: options.apiUrl, headers };
  if (options.seedStock !== undefined) {
    for (const sku of DEFAULT_SKUS) {
      const response = await fetch(new URL(`/v1/inventory/${sku}`, options.apiUrl), {
        method: "PUT",
        headers,
        body: JSON.stringify({ available: options.seedStock }),
      }).catch((error: unknown) => unreachable(options.apiUrl, error));
      if (!response.ok) {
        process.stderr.write(
          `eventfleet: seeding stock of ${sku} failed: HTTP ${response.status} ${await response.text()}\n`,
        );
        process.exit(1);
      }
    }
    process.stderr.write(`seeded ${options.seedStock} units of ${DEFAULT_SKUS.join(", ")}\n`);
  } else {
    await preflight(call, DEFAULT_SKUS);
  }

  const context: ReportContext = {
    count: options.count,
    rate: options.rate,
    apiUrl: options.apiUrl,
    percentile,
  };
  const progress = await orderProgress(process.stderr, context);
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const result = await simulateOrders({
    apiUrl: options.apiUrl,
    count: options.count,
    rate: options.rate,
    apiKey: options.apiKey,
    bearerToken: options.token,
    signal: controller.signal,
    onProgress: (p) => progress.update(p),
  });
  progress.stop();
  process.stdout.write(`${summaryLine(result, context)}\n`);
  for (const line of troubleLines(result, context)) process.stdout.write(`${line}\n`);
  if (result.orderIds.length > 0 && options.outcomeWait > 0) {
    const outcome = await followOrders(
      call,
      result.orderIds.slice(-OUTCOME_SAMPLE),
      options.outcomeWait * 1000,
    );
    for (const line of outcomeLines(outcome)) process.stdout.write(`${line}\n`);
  }
  if (result.orderIds.length > 0) {
    process.stdout.write(
      `last order: curl -s ${new URL(`/v1/orders/${result.orderIds.at(-1)}`, options.apiUrl).href}\n`,
    );
  }
  if (result.accepted === 0) process.exitCode = 1;
}

export function registerSimulateCommands(program: Command): void {
  const simulate = program.command("simulate").description("load and demo traffic");
  simulate
    .command("orders")
    .description("place generated orders through the API at a steady rate, with a live progress line")
    .addOption(new Option("--count <n>", "how many orders").argParser(positiveInt).default(100))
    .addOption(new Option("--rate <per-second>", "orders per second").argParser(positiveNumber).default(10))
    .addOption(new Option("--api-url <url>", "the order API").env("API_URL").default("http://127.0.0.1:8080"))
    .addOption(new Option("--api-key <key>", "API key (AUTH_MODE=apikey)").env("EVENTFLEET_API_KEY"))
    .addOption(new Option("--token <jwt>", "bearer token (AUTH_MODE=jwt)").env("EVENTFLEET_TOKEN"))
    .addOption(
      new Option(
        "--seed-stock <units>",
        "first set this many units available for every simulated SKU",
      ).argParser(positiveInt),
    )
    .addOption(
      new Option(
        "--outcome-wait <seconds>",
        `afterwards, follow the last ${OUTCOME_SAMPLE} orders this long (until final) and say where they ended and why (0: skip)`,
      )
        .argParser(nonNegativeNumber)
        .default(5),
    )
    .action(simulateOrdersCommand);
  registerSimulateDevicesCommand(simulate);
}
