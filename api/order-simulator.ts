// Places generated orders through the API at a steady rate: demo traffic for `eventfleet simulate orders`.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { PlaceOrderRequest } from "./order-request.ts";

export interface OrderSimulatorOptions {
  apiUrl: string;
  count: number;
  /** Orders per second. */
  rate: number;
  /** Sent as X-Api-Key when set. */
  apiKey?: string | undefined;
  /** Sent as `Authorization: Bearer` when set. */
  bearerToken?: string | undefined;
  /** SKUs the orders draw from. */
  skus?: string[];
  /** Most requests in flight at once (a slow API must not make the simulator open thousands of sockets). */
  maxInFlight?: number;
  /** Called after every answer with the running totals. */
  onProgress?: (progress: SimulationProgress) => void;
  signal?: AbortSignal;
}

export interface SimulationProgress {
  sent: number;
  accepted: number;
  /** 4xx answers by status. */
  refused: Record<number, number>;
  /** What the API said for each refused status (the first problem details' title and detail). */
  refusedBecause: Record<number, string>;
  /** 5xx answers and network errors. */
  failed: number;
  /** Each kind of failure ("HTTP 501 Not Implemented: …", "ECONNREFUSED: …") and how often it happened. */
  failures: Record<string, number>;
  elapsedMs: number;
  /** Latencies of answered requests in ms, for percentiles. */
  latenciesMs: number[];
  orderIds: string[];
}

export const DEFAULT_SKUS = ["SKU-APPLE", "SKU-BANANA", "SKU-CHERRY", "SKU-DATE", "SKU-ELDER"];

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

export function generateOrder(skus: readonly string[] = DEFAULT_SKUS): PlaceOrderRequest {
  const lines = 1 + Math.floor(Math.random() * 3);
  const chosen = [...new Set(Array.from({ length: lines }, () => pick(skus)))];
  return {
    customerId: `cust-${randomUUID().slice(0, 8)}`,
    items: chosen.map((sku) => ({
      sku,
      quantity: 1 + Math.floor(Math.random() * 3),
      unitPriceCents: 100 + Math.floor(Math.random() * 5000),
    })),
    currency: "EUR",
    shippingAddress: {
      name: pick(["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra"]),
      line1: `${1 + Math.floor(Math.random() * 200)} Example Street`,
      city: pick(["Berlin", "Lisbon", "Oslo", "Dublin"]),
      postalCode: String(10000 + Math.floor(Math.random() * 89999)),
      country: pick(["DE", "PT", "NO", "IE"]),
    },
    contact: { email: `customer+${randomUUID().slice(0, 6)}@example.com` },
  };
}

/** The parts of an answer the simulator reads: the order id, or RFC 9457 problem details. */
interface AnswerBody {
  id?: string;
  title?: string;
  detail?: string;
}

/** "Too Many Requests: this client sends …" from problem details, else the status text. */
function problemText(response: Response, body: AnswerBody): string {
  const title = typeof body.title === "string" ? body.title : response.statusText;
  return typeof body.detail === "string" ? `${title}: ${body.detail}` : title;
}

/** Why a request got no answer: fetch hides the socket error (ECONNREFUSED …) in `cause`. */
function requestFailure(error: unknown): string {
  if (error instanceof Error && error.name === "AbortError") return "interrupted (Ctrl-C)";
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code) return `no answer: ${cause.code} (${cause.message})`;
  return `no answer: ${error instanceof Error ? error.message : String(error)}`;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Places `count` orders at `rate` per second; resolves with the totals once every answer is in. */
export async function simulateOrders(options: OrderSimulatorOptions): Promise<SimulationProgress> {
  const maxInFlight = options.maxInFlight ?? 64;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.apiKey) headers["x-api-key"] = options.apiKey;
  if (options.bearerToken) headers.authorization = `Bearer ${options.bearerToken}`;
  const progress: SimulationProgress = {
    sent: 0,
    accepted: 0,
    refused: {},
    refusedBecause: {},
    failed: 0,
    failures: {},
    elapsedMs: 0,
    latenciesMs: [],
    orderIds: [],
  };
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();

  const fail = (what: string) => {
    progress.failed += 1;
    progress.failures[what] = (progress.failures[what] ?? 0) + 1;
  };

  const placeOne = async () => {
    const t0 = performance.now();
    try {
      const response = await fetch(new URL("/v1/orders", options.apiUrl), {
        method: "POST",
        headers: { ...headers, "idempotency-key": randomUUID() },
        body: JSON.stringify(generateOrder(options.skus)),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const body = (await response.json().catch(() => ({}))) as AnswerBody;
      progress.latenciesMs.push(performance.now() - t0);
      if (response.status === 202) {
        progress.accepted += 1;
        if (body.id) progress.orderIds.push(body.id);
      } else if (response.status < 500) {
        progress.refused[response.status] = (progress.refused[response.status] ?? 0) + 1;
        progress.refusedBecause[response.status] ??= problemText(response, body);
      } else {
        fail(`HTTP ${response.status} ${problemText(response, body)}`);
      }
    } catch (error) {
      fail(requestFailure(error));
    }
    progress.elapsedMs = Date.now() - started;
    options.onProgress?.(progress);
  };

  for (let i = 0; i < options.count && !options.signal?.aborted; i++) {
    // Schedule by the clock, so a slow answer does not lower the rate (up to maxInFlight).
    const due = started + (i * 1000) / options.rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    progress.sent += 1;
    const request = placeOne().finally(() => inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  progress.elapsedMs = Date.now() - started;
  return progress;
}
