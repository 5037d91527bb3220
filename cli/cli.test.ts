import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { inventoryEnv } from "../workers/inventory/main.ts";
import { buildRoleProgram } from "./main.ts";
import { buildProgram } from "./program.ts";

const bin = resolve(import.meta.dirname, "../bin/eventfleet.js");
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
/** Runs with nothing of the caller's environment but PATH, as on a machine where nothing is configured yet. */
const runBare = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", MANAGEMENT_PORT: "0" },
    timeout: 60_000,
  });

describe("eventfleet CLI", () => {
  test("--help lists every subcommand of ARCHITECTURE.md §3", () => {
    const help = run("--help");
    assert.equal(help.status, 0);
    for (const command of [
      "api",
      "relay",
      "worker",
      "infra",
      "dlq",
      "deadletter",
      "simulate",
      "dev",
      "emulator",
      "schema",
    ]) {
      assert.match(help.stdout, new RegExp(`^  ${command}\\b`, "m"), `${command} missing from --help`);
    }
  });

  test("every command at every level has --help", () => {
    const walk = (command: ReturnType<typeof buildProgram>, path: string[]): string[][] => [
      path,
      ...command.commands.flatMap((c) => walk(c, [...path, c.name()])),
    ];
    for (const path of walk(buildProgram(), []).slice(1)) {
      const result = run(...path, "--help");
      assert.equal(result.status, 0, `${path.join(" ")} --help: ${result.stderr}`);
      assert.match(result.stdout, /^Usage: eventfleet /m);
    }
  });

  test("a role's process registers the role commands alone, with the same options and help as the full CLI", () => {
    const roles = buildRoleProgram();
    const all = buildProgram();
    assert.deepEqual(
      roles.commands.map((c) => c.name()),
      ["api", "relay", "worker"],
    );
    for (const command of roles.commands) {
      const full = all.commands.find((c) => c.name() === command.name());
      assert.equal(command.helpInformation(), full?.helpInformation());
    }
    // Run from the command line, a role's usage errors and help are unchanged.
    assert.equal(run("api", "--relay", "maybe").status, 2);
    assert.match(run("worker", "--help").stdout, /device-ingest/);
  });

  test("--version prints the package version", () => {
    assert.match(run("--version").stdout.trim(), /^\d+\.\d+\.\d+$/);
  });

  test("an unknown command or worker is a usage error (exit 2) that says what is allowed", () => {
    const unknown = run("deploy");
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command 'deploy'/);
    const worker = run("worker", "billing");
    assert.equal(worker.status, 2);
    assert.match(worker.stderr, /Allowed choices are inventory, shipment, notification, device-ingest/);
  });

  test("schema export to a file instead of a directory is one line naming the problem, no stack", () => {
    const dir = mkdtempSync(join(tmpdir(), "eventfleet-schema-"));
    const file = join(dir, "passwd");
    writeFileSync(file, "root:x:0:0::/root:/bin/bash\n");
    for (const target of [file, join(file, "schemas")]) {
      const result = run("schema", "export", target);
      assert.equal(result.status, 1);
      assert.equal(result.stdout, "");
      const lines = result.stderr.trim().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, /^eventfleet schema export: .*passwd.* is a file, not a directory/);
    }
  });

  test("dlq peek and deadletter peek take the same -n/--count option", () => {
    for (const group of ["dlq", "deadletter"]) {
      assert.match(run(group, "peek", "--help").stdout, /-n, --count <n>/, `${group} peek --help`);
    }
  });

  test("eventfleet api without ORDERS_TOPIC_ARN says that --relay=off runs the API without it", () => {
    const result = runBare("api");
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /configuration error: ORDERS_TOPIC_ARN: got nothing \(unset\).*--relay=off/);
  });

  test("worker <name> --help lists the variables that worker reads, the required ones first", () => {
    const help = run("worker", "inventory", "--help");
    assert.equal(help.status, 0);
    assert.match(help.stdout, /worker inventory\n +required: INVENTORY_QUEUE_URL, INVENTORY_DLQ_URL\n/);
    for (const name of Object.keys(inventoryEnv)) assert.match(help.stdout, new RegExp(`\\b${name}\\b`));
    assert.doesNotMatch(help.stdout, /SHIPMENT_QUEUE_URL/);
    const every = run("worker", "--help").stdout;
    for (const name of ["inventory", "shipment", "notification", "device-ingest"]) {
      assert.match(every, new RegExp(`^  worker ${name}$`, "m"));
    }
  });

  test("api --help names ORDERS_TOPIC_ARN as the relay's, which --relay=off leaves out", () => {
    assert.match(
      run("api", "--help").stdout,
      /relay \(in the API process unless --relay=off\)\n +required: ORDERS_TOPIC_ARN/,
    );
  });

  test("the launcher refuses an old Node with a clear message", () => {
    const old = spawnSync(
      process.execPath,
      [
        "-e",
        `Object.defineProperty(process.versions, "node", { value: "20.1.0" }); await import(${JSON.stringify(bin)})`,
      ],
      {
        encoding: "utf8",
      },
    );
    assert.equal(old.status, 2);
    assert.match(old.stderr, /needs Node\.js 22\.18 or newer.*npx eventfleet/s);
  });
});
