// After `simulate orders`: where the last orders ended up, and why the REJECTED ones were (from their history).
import { setTimeout as sleep } from "node:timers/promises";

/** How the simulator talks to the API: its URL and the headers that authenticate it. */
export interface ApiCall {
  apiUrl: string;
  headers: Record<string, string>;
}

const FINAL = new Set(["REJECTED", "SHIPPED", "CANCELLED"]);

interface OrderView {
  status: string;
  history?: { status?: string; detail?: { missing?: { sku?: string }[] } }[];
}

export interface OrderOutcome {
  /** Orders looked at (the last ones placed). */
  sampled: number;
  /** How many ended (or stayed) in each status; `unknown` when the API would not say. */
  statuses: Record<string, number>;
  /** SKUs the inventory worker found short, from the REJECTED orders' history. */
  missingSkus: string[];
  waitedMs: number;
}

async function readOrder(call: ApiCall, id: string): Promise<OrderView | undefined> {
  try {
    const response = await fetch(new URL(`/v1/orders/${id}`, call.apiUrl), { headers: call.headers });
    return response.ok ? ((await response.json()) as OrderView) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads `ids` until every one is final or `waitMs` passed; a working stack ships an order in well under a second. */
export async function followOrders(
  call: ApiCall,
  ids: readonly string[],
  waitMs: number,
): Promise<OrderOutcome> {
  const started = Date.now();
  const read = () => Promise.all(ids.map((id) => readOrder(call, id)));
  let views = await read();
  while (!views.every((v) => v && FINAL.has(v.status)) && Date.now() - started < waitMs) {
    await sleep(200);
    views = await read();
  }
  const statuses: Record<string, number> = {};
  const missing = new Set<string>();
  for (const view of views) {
    const status = view?.status ?? "unknown";
    statuses[status] = (statuses[status] ?? 0) + 1;
    for (const entry of view?.history ?? []) {
      if (entry.status !== "REJECTED") continue;
      for (const line of entry.detail?.missing ?? []) if (line.sku) missing.add(line.sku);
    }
  }
  return { sampled: ids.length, statuses, missingSkus: [...missing].sort(), waitedMs: Date.now() - started };
}

/** What the outcome means for the person running the simulation, a line per finding. */
export function outcomeLines(outcome: OrderOutcome): string[] {
  const seconds = (outcome.waitedMs / 1000).toFixed(1);
  const tally = Object.entries(outcome.statuses)
    .map(([status, n]) => `${status} ${n}`)
    .join(" · ");
  const lines = [`outcome of the last ${outcome.sampled} orders after ${seconds} s: ${tally}`];
  const { REJECTED: rejected, ACKNOWLEDGED: waiting, INVENTORY_RESERVED: reserved } = outcome.statuses;
  if (rejected) {
    const skus = outcome.missingSkus.length > 0 ? ` of ${outcome.missingSkus.join(", ")}` : "";
    lines.push(
      `REJECTED ${rejected}: not enough stock${skus} (the inventory worker reserves every line of an order or none); ` +
        "add --seed-stock 1000, or set stock with PUT /v1/inventory/<sku>",
    );
  }
  if (waiting) {
    lines.push(
      `still ACKNOWLEDGED ${waiting}: no inventory worker has taken them yet; is it running (make dev starts every ` +
        "worker), and is the relay (inside `eventfleet api` unless --relay=off) publishing?",
    );
  }
  if (reserved) {
    lines.push(
      `still INVENTORY_RESERVED ${reserved}: no shipment worker has shipped them yet; is it running?`,
    );
  }
  return lines;
}
