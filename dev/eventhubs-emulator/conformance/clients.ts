// The conformance clients written with other people's AMQP stacks: how to install, run and read each.
import { execFile, spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../../..");
const HERE = import.meta.dirname;
/** A cold install (PyPI download, Go modules and compile) on a loaded 2-core machine takes minutes. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;
/** What one check command may take on a loaded machine (each waits 60 s at most for any one thing). */
const CHECK_TIMEOUT_MS = 240_000;

export interface Client {
  name: string;
  /** The program and the arguments before the subcommand. */
  command: string;
  args: string[];
}

/** The Python SDK (azure-eventhub + checkpointstoreblob), pinned, in a venv under .tools/python/. */
export async function pythonSdk(): Promise<Client> {
  const requirements = join(HERE, "python/requirements.txt");
  const { stdout } = await run("bash", [join(ROOT, "scripts/python-venv.sh"), requirements], {
    timeout: INSTALL_TIMEOUT_MS,
  });
  return { name: "Python SDK", command: stdout.trim(), args: [join(HERE, "python/conformance.py")] };
}

/** The Go SDK (azeventhubs v2, as KEDA uses it), built once per version into .tools/go/. */
export async function goSdk(): Promise<Client> {
  const { stdout } = await run(
    "bash",
    [join(ROOT, "scripts/go-build.sh"), join(HERE, "go"), "eventhubs-conformance"],
    { timeout: INSTALL_TIMEOUT_MS },
  );
  return { name: "Go SDK", command: stdout.trim(), args: [] };
}

/** Qpid Proton from Debian (python3-qpid-proton, scripts/system-deps.sh), on the system Python. */
export async function proton(): Promise<Client> {
  const python = "/usr/bin/python3";
  try {
    await run(python, ["-c", "import proton"]);
  } catch (error) {
    throw new Error("Qpid Proton is missing: run `make system-deps` (installs python3-qpid-proton)", {
      cause: error,
    });
  }
  return { name: "Qpid Proton", command: python, args: [join(HERE, "proton/conformance.py")] };
}

/** Runs one check command; resolves with the checks that did not pass (empty when all did). */
export async function failedChecks(
  client: Client,
  subcommand: string[],
): Promise<{ failed: Record<string, string>; passed: number }> {
  let stdout: string;
  try {
    ({ stdout } = await run(client.command, [...client.args, ...subcommand], {
      timeout: CHECK_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (error) {
    const { stdout: out = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `${client.name} ${subcommand[0]} failed: ${String(error)}\n${out.slice(-2000)}\n${stderr.slice(-4000)}`,
      { cause: error },
    );
  }
  const last = stdout.trim().split("\n").at(-1) ?? "";
  const { checks } = JSON.parse(last) as { checks: Record<string, string> };
  const failed = Object.fromEntries(Object.entries(checks).filter(([, verdict]) => verdict !== "ok"));
  return { failed, passed: Object.keys(checks).length - Object.keys(failed).length };
}

export interface BalancerRecord {
  event?: string;
  partition?: string | null;
  sequence?: number;
  own?: string;
  release?: string;
  error?: string;
}

/** A load-balanced consumer in another language: what it owns and processed, from its JSON lines. */
export class ForeignConsumer {
  readonly name: string;
  readonly owned = new Set<string>();
  readonly received: { body: string; partition: string; sequence: number }[] = [];
  readonly errors: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<number | null>;
  private stderr = "";

  constructor(client: Client, subcommand: string[]) {
    this.name = client.name;
    this.child = spawn(client.command, [...client.args, ...subcommand], { stdio: "pipe" });
    this.child.stderr.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8000);
    });
    this.exited = new Promise((done) => this.child.once("exit", (code) => done(code)));
    createInterface({ input: this.child.stdout }).on("line", (line) => this.onRecord(line));
  }

  private onRecord(line: string): void {
    let record: BalancerRecord;
    try {
      record = JSON.parse(line) as BalancerRecord;
    } catch {
      return;
    }
    if (record.own !== undefined) this.owned.add(record.own);
    if (record.release !== undefined) this.owned.delete(record.release);
    if (record.event !== undefined && record.partition && record.sequence !== undefined) {
      this.received.push({ body: record.event, partition: record.partition, sequence: record.sequence });
    }
    if (record.error !== undefined) this.errors.push(record.error);
  }

  /** The last of its standard error, for failure messages. */
  get log(): string {
    return this.stderr;
  }

  /** Closes its standard input (it stops and releases its partitions), then waits for it to exit. */
  async close(): Promise<void> {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGTERM"), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}
