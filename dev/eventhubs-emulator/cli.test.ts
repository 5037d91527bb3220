// The `eventfleet emulator eventhubs` command: flags and config merged, connection strings printed, clean stop.
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventHubProducerClient } from "@azure/event-hubs";
import { waitFor } from "../../test/support/wait.ts";
import { optionsFromCli } from "./cli.ts";
import { Resources } from "./sdk-fixture.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

/** Runs the command as the root CLI will, from a commander program of its own. */
function runCommand(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
} {
  const script = [
    `import { Command } from "commander";`,
    `import { registerEventHubsEmulatorCommand } from ${JSON.stringify(join(import.meta.dirname, "cli.ts"))};`,
    `const program = new Command("eventfleet");`,
    `registerEventHubsEmulatorCommand(program.command("emulator"));`,
    `await program.parseAsync(process.argv.slice(1), { from: "user" });`,
  ].join("\n");
  const child = spawn(
    process.execPath,
    ["--input-type=module", "-e", script, "emulator", "eventhubs", ...args],
    {
      cwd: join(import.meta.dirname, "../.."),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  resources.add({
    close: async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exit;
    },
  });
  return { child, output: () => output, exit };
}

void describe("eventfleet emulator eventhubs", () => {
  void test("merges the config file with flags: --hub adds hubs, --consumer-group reaches every hub", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eventhubs-cli-"));
    resources.add({ close: () => rm(dir, { recursive: true, force: true }) });
    const config = join(dir, "eventhubs.json");
    await writeFile(
      config,
      JSON.stringify({
        hubs: [{ name: "audit", partitions: 2, consumerGroups: ["x"] }],
        retention: { maxEvents: 9 },
      }),
    );
    const options = await optionsFromCli({
      hub: ["telemetry:4"],
      consumerGroup: ["device-ingest"],
      config,
      port: 0,
      retentionMs: 1000,
    });
    assert.deepEqual(options.hubs, [
      { name: "audit", partitions: 2, consumerGroups: ["x", "device-ingest"] },
      { name: "telemetry", partitions: 4, consumerGroups: ["device-ingest"] },
    ]);
    assert.deepEqual(options.retention, { maxEvents: 9, maxAgeMs: 1000 });
    assert.equal(options.port, 0);
    await assert.rejects(
      optionsFromCli({ hub: ["telemetry"], consumerGroup: [] }),
      /expected <name>:<partitions>/,
    );
    await assert.rejects(optionsFromCli({ hub: [], consumerGroup: [] }), /no hub configured/);
  });

  void test("prints a connection string per hub that the SDK can use, and exits 0 on SIGTERM", async () => {
    const run = runCommand([
      "--hub",
      "telemetry:4",
      "--hub",
      "audit:2",
      "--consumer-group",
      "device-ingest",
      "--port",
      "0",
    ]);
    const connectionString = await waitFor(() => /telemetry: (Endpoint=\S+)/.exec(run.output())?.[1], {
      description: "the connection string",
      timeoutMs: 30_000,
    });
    assert.match(
      run.output(),
      /audit: Endpoint=sb:\/\/127\.0\.0\.1:\d+;.*EntityPath=audit;UseDevelopmentEmulator=true/,
    );
    const producer = resources.add(new EventHubProducerClient(connectionString));
    assert.deepEqual((await producer.getEventHubProperties()).partitionIds, ["0", "1", "2", "3"]);
    await producer.sendBatch([{ body: "via the CLI" }]);
    await producer.close();
    run.child.kill("SIGTERM");
    assert.equal(await run.exit, 0);
  });

  void test("--help describes the options; a bad --hub exits 2 with the reason", async () => {
    const help = runCommand(["--help"]);
    assert.equal(await help.exit, 0);
    for (const flag of [
      "--hub",
      "--consumer-group",
      "--port",
      "--config",
      "--data-dir",
      "--verify-sas",
      "--retention-events",
      "--retention-ms",
    ]) {
      assert.ok(help.output().includes(flag), `${flag} in --help`);
    }
    const bad = runCommand(["--hub", "telemetry", "--port", "0"]);
    assert.equal(await bad.exit, 2);
    assert.match(bad.output(), /--hub telemetry: expected <name>:<partitions>/);
  });
});
