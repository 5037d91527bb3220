// A TCP proxy between one worker process and Redis that kills the worker at a saga step's script: right after the
// script went to Redis (it runs; the worker never hears back nor acknowledges the message), or instead of sending
// it. Those are the crash points a saga step has: its per-SKU scripts and its order-side script
// (shared/orders/saga-steps.ts), each one write.
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { expandLuaSource } from "../../shared/lua-scripts.ts";

export type CrashMoment = "after-step" | "before-step";

interface Armed {
  remaining: number;
  moment: CrashMoment;
  onCrash: () => void;
}

/** SHA-1 of every saga step script (order side, saga-*.lua, and per SKU, sku-*.lua), as ioredis computes it. */
function sagaStepShas(): Set<string> {
  const folder = new URL("../../shared/orders/", import.meta.url);
  return new Set(
    readdirSync(folder)
      .filter((file) => /^(saga|sku)-.*\.lua$/.test(file))
      .map((file) =>
        createHash("sha1")
          .update(expandLuaSource(new URL(file, folder)))
          .digest("hex"),
      ),
  );
}

/** One RESP request (an array of bulk strings, as ioredis writes every command) at `offset`, if complete. */
function parseCommand(buffer: Buffer, offset: number): { end: number; args: Buffer[] } | undefined {
  const line = (from: number) => {
    const end = buffer.indexOf("\r\n", from);
    return end < 0 ? undefined : { text: buffer.toString("latin1", from + 1, end), next: end + 2 };
  };
  const header = line(offset);
  if (!header) return undefined;
  const args: Buffer[] = [];
  let at = header.next;
  for (let i = 0; i < Number(header.text); i++) {
    const length = line(at);
    if (!length) return undefined;
    const end = length.next + Number(length.text);
    if (buffer.length < end + 2) return undefined;
    args.push(buffer.subarray(length.next, end));
    at = end + 2;
  }
  return { end: at, args };
}

export class SagaCrashProxy {
  readonly #targetPort: number;
  readonly #shas = sagaStepShas();
  readonly #connections = new Set<Socket>();
  #server: Server | undefined;
  #armed: Armed | undefined;
  /** Set from a crash until resume(): nothing of the dying process reaches Redis or comes back. */
  #frozen = false;
  port = 0;
  crashes = 0;
  /** Step commands seen (every worker process behind this proxy). */
  steps = 0;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const server = createServer({ noDelay: true }, (client) => this.#connection(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** After `count` more step commands, `onCrash` runs (it SIGKILLs the worker) at `moment`. */
  arm(count: number, moment: CrashMoment, onCrash: () => void): void {
    this.#armed = { remaining: count, moment, onCrash };
  }

  disarm(): void {
    this.#armed = undefined;
  }

  /** The crashed process is gone: let its successor through. */
  resume(): void {
    for (const socket of this.#connections) socket.destroy();
    this.#frozen = false;
  }

  async close(): Promise<void> {
    for (const socket of this.#connections) socket.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #isStep(args: Buffer[]): boolean {
    const name = args[0]?.toString("latin1").toLowerCase();
    if (name === "evalsha") return this.#shas.has(args[1]?.toString("latin1") ?? "");
    if (name === "eval")
      return this.#shas.has(
        createHash("sha1")
          .update(args[1] ?? "")
          .digest("hex"),
      );
    return false;
  }

  #connection(client: Socket): void {
    const upstream = connect({ port: this.#targetPort, host: "127.0.0.1", noDelay: true });
    for (const socket of [client, upstream]) {
      this.#connections.add(socket);
      socket.on("close", () => this.#connections.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    // The dying worker's side closes: what was sent to Redis still runs, and the connection goes.
    client.on("close", () => upstream.end());
    upstream.on("close", () => client.destroy());
    upstream.on("data", (chunk: Buffer) => {
      if (!this.#frozen) client.write(chunk);
    });
    let pending: Buffer = Buffer.alloc(0);
    client.on("data", (chunk: Buffer) => {
      if (this.#frozen) return;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      for (;;) {
        const command = parseCommand(pending, offset);
        if (!command) break;
        const bytes = pending.subarray(offset, command.end);
        offset = command.end;
        if (this.#isStep(command.args)) {
          this.steps += 1;
          const armed = this.#armed;
          if (armed && --armed.remaining === 0) {
            this.#armed = undefined;
            this.#frozen = true;
            this.crashes += 1;
            if (armed.moment === "after-step") upstream.write(bytes);
            armed.onCrash();
            client.destroy();
            return;
          }
        }
        upstream.write(bytes);
      }
      pending = pending.subarray(offset);
    });
  }
}
