// `eventfleet simulate orders|devices`: load and demo traffic.
import { Option, type Command } from "commander";
import { registerSimulateDevicesCommand } from "./simulate-devices-commands.ts";
import { positiveInt, positiveNumber } from "./option-parsers.ts";

interface SimulateOrdersOptions {
  count: number;
  rate: number;
  apiUrl: string;
  apiKey?: string;
  token?: string;
  seedStock?: number;
}

async function simulateOrdersCommand(options: SimulateOrdersOptions): Promise<void> {
  const { simulateOrders, percentile, DEFAULT_SKUS } = await import("../api/order-simulator.ts");
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.apiKey) headers["x-api-key"] = options.apiKey;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.seedStock !== undefined) {
    for (const sku of DEFAULT_SKUS) {
      const response = await fetch(new URL(`/v1/inventory/${sku}`, options.apiUrl), {
        method: "PUT",
        headers,
        body: JSON.stringify({ available: options.seedStock }),
      }).catch((error: unknown) => {
        process.stderr.write(
          `eventfleet: cannot reach the API at ${options.apiUrl}: ${String(error)} (set --api-url or API_URL)\n`,
        );
        process.exit(1);
      });
      if (!response.ok) {
        process.stderr.write(`eventfleet: seeding stock of ${sku} failed: HTTP ${response.status}\n`);
        process.exit(1);
      }
    }
    process.stderr.write(`seeded ${options.seedStock} units of ${DEFAULT_SKUS.join(", ")}\n`);
  }

  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const line = (p: Awaited<ReturnType<typeof simulateOrders>>) => {
    const answered = p.accepted + p.failed + Object.values(p.refused).reduce((a, b) => a + b, 0);
    const rate = p.elapsedMs > 0 ? (answered * 1000) / p.elapsedMs : 0;
    const refused = Object.entries(p.refused)
      .map(([status, n]) => `${status}×${n}`)
      .join(" ");
    const sorted = [...p.latenciesMs].sort((a, b) => a - b);
    return (
      `orders ${answered}/${options.count} · accepted ${p.accepted} · refused ${refused || 0} · failed ${p.failed}` +
      ` · ${rate.toFixed(1)}/s · p50 ${percentile(sorted, 50).toFixed(1)} ms · p99 ${percentile(sorted, 99).toFixed(1)} ms`
    );
  };
  const result = await simulateOrders({
    apiUrl: options.apiUrl,
    count: options.count,
    rate: options.rate,
    apiKey: options.apiKey,
    bearerToken: options.token,
    signal: controller.signal,
    onProgress: (p) => {
      if (tty) {
        if (Date.now() - lastLine > 100) {
          process.stderr.write(`\r\x1b[2K${line(p)}`);
          lastLine = Date.now();
        }
      } else if (Date.now() - lastLine > 1000) {
        process.stderr.write(`${line(p)}\n`);
        lastLine = Date.now();
      }
    },
  });
  process.stderr.write(tty ? `\r\x1b[2K` : "");
  process.stdout.write(`${line(result)}\n`);
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
    .action(simulateOrdersCommand);
  registerSimulateDevicesCommand(simulate);
}
