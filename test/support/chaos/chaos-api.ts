// API chaos: fuzzed requests (fast-check) against an `eventfleet api` process: never a 5xx, healthy afterwards.
import { randomUUID } from "node:crypto";
import { request, Agent } from "node:http";
import fc from "fast-check";
import { anyFreePort } from "../../../dev/stack/ports.ts";
import { createTestEnv } from "../stack.ts";
import type { ChaosResult, InvariantResult } from "./chaos-report.ts";
import { RoleRunner } from "../role-runner.ts";
import { jsonArbitrary, mutatedOrder, nastyKeys } from "../fuzz-arbitraries.ts";
import { validOrder } from "../sample-order.ts";

export interface ApiFuzzOptions {
  requests: number;
  /** Requests in flight at once. */
  concurrency: number;
  seed: number;
  progress?: (line: string) => void;
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** The body every mutation starts from: the tests' valid order, under the fuzzing customer. */
export function validOrderBody(): Record<string, unknown> {
  return { ...validOrder(), customerId: "cust-fuzz" };
}

const json = jsonArbitrary({
  keys: nastyKeys(
    ["__proto__", "constructor", "prototype", "toString", "items", "customerId", "quantity"],
    12,
  ),
  extraNumbers: [-1],
  maxStringLength: 40,
});

/** A valid order with one field (deep paths included) replaced by something arbitrary. */
const mutated = mutatedOrder(validOrderBody, json).map((order) => JSON.stringify(order));

const printable = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

const body = fc.oneof(
  mutated,
  mutated.map((o) => o.replace(/^\{/, '{"__proto__":{"polluted":true},')),
  json.map((v) => JSON.stringify(v) ?? "null"),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.constantFrom("", "{", "[]", "null", '{"items":[]}', "x".repeat(2_000_000)),
  fc.constant(undefined),
);

const uuid = fc.uuid().map(String);
const path = fc.oneof(
  fc.constant("/v1/orders"),
  uuid.map((id) => `/v1/orders/${id}`),
  uuid.map((id) => `/v1/orders/${id}/cancel`),
  printable(40).map((s) => `/v1/orders/${encodeURIComponent(s)}`),
  printable(40).map((s) => `/v1/orders/${encodeURIComponent(s)}/cancel`),
  printable(60).map((s) => `/v1/inventory/${encodeURIComponent(s)}`),
  fc.constantFrom(
    "/openapi.json",
    "/",
    "/v1",
    "/v1/orders/%E0%A4%A",
    "/v1/inventory/%",
    "/v1//orders",
    "/v1/orders?x=%ZZ",
  ),
  printable(60).map((s) => `/${s.replaceAll("#", "")}`),
);
const headerValue = fc.oneof(
  printable(200),
  fc.constantFrom(
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-00000000000000000000000000000000-0000000000000000-00",
    "application/json",
    "application/json; charset=latin1",
    "application/json; charset=utf-16",
    "text/plain",
    "",
  ),
);
const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.record({
  method: fc.constantFrom("GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
  path,
  headers: fc.record(
    {
      "content-type": headerValue,
      "idempotency-key": headerValue,
      "x-request-id": headerValue,
      traceparent: headerValue,
      "x-api-key": headerValue,
      authorization: headerValue,
      accept: headerValue,
    },
    { requiredKeys: [] },
  ),
  body,
});

interface Answer {
  status: number;
  text: string;
}

function send(port: number, agent: Agent, r: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body !== undefined) headers["content-length"] = Buffer.byteLength(r.body);
    const req = request(
      { host: "127.0.0.1", port, method: r.method, path: r.path, headers, agent, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", reject);
    req.end(r.body);
  });
}

export async function runApiFuzz(options: ApiFuzzOptions): Promise<ChaosResult> {
  const say = options.progress ?? (() => undefined);
  const started = performance.now();
  const env = await createTestEnv({ aws: false });
  const apiPort = await anyFreePort();
  const api = new RoleRunner({
    name: "api",
    args: ["api", "--relay=off"],
    env: { ...env, API_PORT: String(apiPort), RATE_LIMIT_PER_SECOND: "0" },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const counts: Record<string, number> = {};
  const serverErrors: string[] = [];
  const transportErrors: string[] = [];
  const leaks: string[] = [];
  let unsendable = 0;
  try {
    await api.start();
    await api.waitReady();
    const rssBefore = api.rssBytes();
    const cases = fc.sample(fuzzRequest, { numRuns: options.requests, seed: options.seed });
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < cases.length) {
        const index = next++;
        const r = cases[index]!;
        let answer: Answer;
        try {
          answer = await send(apiPort, agent, r);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          // Node's client refuses some header values before sending: nothing reached the server.
          if (code === "ERR_INVALID_CHAR" || code === "ERR_INVALID_HTTP_TOKEN") unsendable += 1;
          else transportErrors.push(`#${index} ${r.method} ${r.path}: ${(error as Error).message}`);
          continue;
        } finally {
          done += 1;
          if (done % 1000 === 0) say(`api: ${done}/${cases.length} fuzzed requests`);
        }
        counts[`status ${answer.status}`] = (counts[`status ${answer.status}`] ?? 0) + 1;
        if (answer.status >= 500)
          serverErrors.push(
            `#${index} ${r.method} ${r.path} → ${answer.status} (body ${JSON.stringify(r.body?.slice(0, 80))}): ${answer.text.slice(0, 200)}`,
          );
        if (answer.text.includes("    at "))
          leaks.push(`#${index} ${r.method} ${r.path}: stack trace in the answer`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));

    const health = await fetch(`${api.managementUrl}/healthz`);
    const ready = await fetch(`${api.managementUrl}/readyz`);
    const order = await fetch(`http://127.0.0.1:${apiPort}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
      body: JSON.stringify(validOrderBody()),
    });
    const healthViolations = [
      ...(api.running ? [] : ["the API process exited"]),
      ...(health.status === 200 ? [] : [`/healthz ${health.status}`]),
      ...(ready.status === 200 ? [] : [`/readyz ${ready.status}`]),
      ...(order.status === 202 ? [] : [`a valid order got ${order.status}`]),
    ];
    const invariants: InvariantResult[] = [
      { name: "no 5xx answer", checked: cases.length - unsendable, violations: serverErrors },
      {
        name: "every request answered (no reset or hang)",
        checked: cases.length - unsendable,
        violations: transportErrors,
      },
      { name: "no stack trace in an answer", checked: cases.length - unsendable, violations: leaks },
      {
        name: "process healthy after (healthz, readyz, a valid order accepted)",
        checked: 3,
        violations: healthViolations,
      },
    ];
    return {
      scenario: "API fuzzing",
      parameters: { requests: options.requests, concurrency: options.concurrency, seed: options.seed },
      durationMs: performance.now() - started,
      faults: [],
      counts: {
        ...Object.fromEntries(Object.entries(counts).sort()),
        "not sendable (refused by the HTTP client)": unsendable,
        "RSS before (MiB)": Math.round(rssBefore / 2 ** 20),
        "RSS after (MiB)": Math.round(api.rssBytes() / 2 ** 20),
      },
      invariants,
    };
  } finally {
    agent.destroy();
    await api.stop("SIGTERM", 15_000);
  }
}
