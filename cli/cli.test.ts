import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildProgram } from "./main.ts";

const bin = resolve(import.meta.dirname, "../bin/eventfleet.js");
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

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
