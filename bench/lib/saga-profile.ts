// CPU profiles (node --cpu-prof) of the order roles while orders flow, to show where the time goes.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Redis } from "ioredis";
import { simulateOrders } from "../../api/order-simulator.ts";
import { anyFreePort } from "../../dev/stack/ports.ts";
import { FINAL_STATUSES, OrderStore } from "../../shared/orders/order-store.ts";
import { createTestEnv } from "../../test/support/stack.ts";
import { summarizeProfile, type ProfileSummary } from "./cpu-profile.ts";
import { ROOT, RoleRunner } from "../../test/support/role-runner.ts";

export interface RoleProfile {
  role: string;
  summary: ProfileSummary;
}

/** Runs api (+relay) and the three workers with --cpu-prof while `orders` orders go through at `rate`/s. */
export async function profileOrderRoles(orders: number, rate: number): Promise<RoleProfile[]> {
  const env = await createTestEnv({ aws: true });
  const apiPort = await anyFreePort();
  const dirs = new Map<string, string>();
  const role = (name: string, args: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), `eventfleet-prof-${name}-`));
    dirs.set(name, dir);
    return new RoleRunner({
      name,
      args,
      env: { ...env, API_PORT: String(apiPort), RATE_LIMIT_PER_SECOND: "0" },
      nodeArgs: ["--cpu-prof", "--cpu-prof-dir", dir],
    });
  };
  const roles = [
    role("api", ["api"]),
    role("inventory", ["worker", "inventory"]),
    role("shipment", ["worker", "shipment"]),
    role("notification", ["worker", "notification"]),
  ];
  const redis = new Redis(env.REDIS_URL!);
  const store = new OrderStore(redis, { env: env.EVENTFLEET_ENV! });
  try {
    for (const r of roles) await r.start();
    await Promise.all(roles.map((r) => r.waitReady()));
    const skus = Array.from({ length: 20 }, (_, i) => `PROF-${i}`);
    for (const sku of skus) await store.setAvailable(sku, 1_000_000);
    const result = await simulateOrders({ apiUrl: `http://127.0.0.1:${apiPort}`, count: orders, rate, skus });
    const deadline = Date.now() + 120_000;
    let open = [...result.orderIds];
    while (open.length > 0 && Date.now() < deadline) {
      const statuses = await Promise.all(open.map((id) => store.getOrder(id)));
      open = open.filter((_, i) => !FINAL_STATUSES.includes(statuses[i]?.status ?? "ACKNOWLEDGED"));
      await delay(500);
    }
  } finally {
    // A clean exit writes the profile.
    await Promise.all(roles.map((r) => r.stop("SIGTERM", 30_000)));
    redis.disconnect();
  }
  const out: RoleProfile[] = [];
  for (const [name, dir] of dirs) {
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (file) out.push({ role: name, summary: summarizeProfile(join(dir, file), ROOT) });
  }
  return out;
}
