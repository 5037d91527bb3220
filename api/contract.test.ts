// The contract test: every operation is called with valid and invalid requests, and every answer (status,
// headers, body) is checked against the /openapi.json the server itself serves; that document passes the Redocly
// OpenAPI linter (pinned in scripts/install-api-tools.sh) with no errors, in each AUTH_MODE.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { sha256Hex } from "./auth.ts";
import { ROUTES } from "./routes.ts";
import {
  startInProcessApi,
  type InProcessApi,
  type InProcessApiOptions,
} from "../test/support/in-process-api.ts";
import { startLocalRedis, type LocalRedis } from "../test/support/local-redis.ts";
import { OpenApiContract } from "../test/support/openapi-contract.ts";
import { validOrder } from "../test/support/sample-order.ts";

const REDOCLY = resolve(import.meta.dirname, "../.tools/redocly/node_modules/.bin/redocly");

interface Call {
  headers?: Record<string, string>;
  /** A value is sent as JSON; a string or Buffer as it is. */
  body?: unknown;
}

/** Calls the API and checks the answer against the served document; returns the answer for more assertions. */
async function exchange(
  api: InProcessApi,
  contract: OpenApiContract,
  method: string,
  path: string,
  call: Call = {},
) {
  const raw = typeof call.body === "string" || Buffer.isBuffer(call.body);
  const body =
    call.body === undefined ? undefined : raw ? (call.body as string | Buffer) : JSON.stringify(call.body);
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      ...(body !== undefined && !raw ? { "content-type": "application/json" } : {}),
      ...call.headers,
    },
    ...(body === undefined ? {} : { body }),
  });
  const answer = {
    method,
    path,
    status: response.status,
    headers: response.headers,
    text: await response.text(),
  };
  contract.check(answer);
  return { ...answer, json: answer.text ? (JSON.parse(answer.text) as Record<string, unknown>) : {} };
}

async function servedContract(api: InProcessApi): Promise<OpenApiContract> {
  const response = await fetch(`${api.url}/openapi.json`);
  assert.equal(response.status, 200);
  return new OpenApiContract((await response.json()) as Record<string, unknown>);
}

function lint(document: Record<string, unknown>): { errors: number; output: string } {
  assert.ok(existsSync(REDOCLY), `${REDOCLY} missing: run \`make api-tools\` (scripts/install-api-tools.sh)`);
  const file = join(mkdtempSync(join(tmpdir(), "ef-openapi-")), "openapi.json");
  writeFileSync(file, JSON.stringify(document));
  const result = spawnSync(REDOCLY, ["lint", file, "--format=json"], {
    encoding: "utf8",
    timeout: 120_000,
    // No telemetry and no update check: the linter talks to nothing but this machine.
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  });
  const output = `${result.stdout}${result.stderr}`;
  const report = JSON.parse(result.stdout) as { totals: { errors: number } };
  return { errors: report.totals.errors, output };
}

/** Every operation of the document answered at least one 2xx and one 4xx in the run. */
function assertCoverage(contract: OpenApiContract, operations: string[]): void {
  for (const operationId of operations) {
    const statuses = [...contract.seen]
      .filter((s) => s.startsWith(`${operationId} `))
      .map((s) => s.split(" ")[1]!);
    assert.ok(
      statuses.some((s) => s.startsWith("2")),
      `${operationId} answered a 2xx: ${statuses.join(",")}`,
    );
    if (operationId !== "getOpenApiDocument") {
      assert.ok(
        statuses.some((s) => s.startsWith("4")),
        `${operationId} answered a 4xx: ${statuses.join(",")}`,
      );
    }
  }
}

void describe("the API against its own /openapi.json", () => {
  let redis: LocalRedis;
  before(async () => {
    redis = await startLocalRedis();
  });
  after(async () => {
    await redis.stop();
  });

  const start = (options: Omit<InProcessApiOptions, "redisUrl">) =>
    startInProcessApi({ redisUrl: redis.url, ...options });

  void test("the served document passes the Redocly linter with no errors in every AUTH_MODE", async () => {
    const modes: Omit<InProcessApiOptions, "redisUrl">[] = [
      { auth: { mode: "none" } },
      {
        auth: {
          mode: "apikey",
          apiKeys: JSON.stringify([{ name: "k", sha256: sha256Hex("k"), scopes: ["orders:read"] }]),
        },
      },
      {
        auth: {
          mode: "jwt",
          jwt: { jwksUrl: "http://127.0.0.1:9/jwks", issuer: "i", audience: "a", scopeClaim: "scope" },
        },
      },
    ];
    for (const options of modes) {
      const api = await start(options);
      try {
        const { document } = await servedContract(api);
        const { errors, output } = lint(document);
        assert.equal(errors, 0, `${options.auth?.mode}: ${output.slice(0, 4000)}`);
        const schemes = Object.keys((document.components as Record<string, unknown>).securitySchemes ?? {});
        assert.deepEqual(
          schemes,
          { none: [], apikey: ["apiKey"], jwt: ["bearer"] }[options.auth!.mode],
          "the document offers exactly the scheme the server accepts",
        );
        const paths = document.paths as Record<string, Record<string, { security?: unknown[] }>>;
        for (const route of ROUTES) {
          const security = paths[route.path.replace(/:([A-Za-z]+)/g, "{$1}")]![route.method]!.security!;
          if (options.auth!.mode === "none") assert.deepEqual(security, []);
          else
            assert.ok(
              security.length === 1 && Object.keys(security[0] as object).length === 1,
              "no anonymous access",
            );
        }
        assert.ok((document.info as { license?: unknown }).license, "license");
        assert.ok(Array.isArray(document.servers) && document.servers.length > 0, "servers");
      } finally {
        await api.close();
      }
    }
  });

  void test("AUTH_MODE=none: every operation, valid and invalid, answers as documented", async () => {
    const api = await start({ auth: { mode: "none" }, rateLimit: { perSecond: 1000, burst: 1000 } });
    try {
      const contract = await servedContract(api);
      const ex = (method: string, path: string, call?: Call) => exchange(api, contract, method, path, call);
      const json = { "content-type": "application/json" };

      // placeOrder
      const key = randomUUID();
      const placed = await ex("POST", "/v1/orders", {
        body: validOrder(),
        headers: { "idempotency-key": key },
      });
      assert.equal(placed.status, 202);
      const replay = await ex("POST", "/v1/orders", {
        body: validOrder(),
        headers: { "idempotency-key": key },
      });
      assert.equal(replay.headers.get("idempotent-replayed"), "true");
      assert.equal(
        (
          await ex("POST", "/v1/orders", {
            body: { ...validOrder(), currency: "USD" },
            headers: { "idempotency-key": key },
          })
        ).status,
        422,
      );
      assert.equal((await ex("POST", "/v1/orders", { body: { ...validOrder(), contact: {} } })).status, 400);
      assert.equal((await ex("POST", "/v1/orders", { body: "{nope", headers: json })).status, 400);
      assert.equal((await ex("POST", "/v1/orders")).status, 400);
      assert.equal(
        (await ex("POST", "/v1/orders", { body: "{}", headers: { "content-type": "text/plain" } })).status,
        415,
      );
      assert.equal(
        (
          await ex("POST", "/v1/orders", {
            body: JSON.stringify(validOrder()),
            headers: { "content-type": "application/json; charset=utf-16" },
          })
        ).status,
        415,
      );
      assert.equal(
        (
          await ex("POST", "/v1/orders", {
            body: JSON.stringify(validOrder()),
            headers: { ...json, "content-encoding": "gzip" },
          })
        ).status,
        400,
      );
      assert.equal(
        (
          await ex("POST", "/v1/orders", {
            body: gzipSync(JSON.stringify(validOrder())),
            headers: { ...json, "content-encoding": "gzip" },
          })
        ).status,
        202,
      );
      assert.equal(
        (await ex("POST", "/v1/orders", { body: { ...validOrder(), customerId: "x".repeat(70_000) } }))
          .status,
        413,
      );
      assert.equal(
        (await ex("POST", "/v1/orders", { body: validOrder(), headers: { "idempotency-key": "é" } })).status,
        400,
      );
      assert.equal((await ex("DELETE", "/v1/orders")).status, 405);

      // getOrder
      const id = String(placed.json.id);
      assert.equal((await ex("GET", `/v1/orders/${id}`)).status, 200);
      assert.equal((await ex("GET", `/v1/orders/${randomUUID()}`)).status, 404);
      assert.equal((await ex("GET", "/v1/orders/not-a-uuid")).status, 404);
      assert.equal((await ex("PATCH", `/v1/orders/${id}`)).status, 405);

      // cancelOrder
      assert.equal((await ex("POST", `/v1/orders/${id}/cancel`, { body: { reason: 5 } })).status, 400);
      assert.equal(
        (await ex("POST", `/v1/orders/${id}/cancel`, { body: { reason: "no longer needed" } })).status,
        202,
      );
      assert.equal((await ex("POST", `/v1/orders/${id}/cancel`)).status, 409);
      assert.equal((await ex("POST", `/v1/orders/${randomUUID()}/cancel`)).status, 404);

      // getStock, setStock
      const sku = `SKU-${randomUUID().slice(0, 8)}`;
      assert.equal((await ex("PUT", `/v1/inventory/${sku}`, { body: { available: 5 } })).status, 200);
      assert.equal((await ex("PUT", `/v1/inventory/${sku}`, { body: { available: -1 } })).status, 400);
      assert.equal(
        (await ex("PUT", `/v1/inventory/${sku}`, { body: "[]", headers: { "content-type": "text/csv" } }))
          .status,
        415,
      );
      assert.equal((await ex("GET", `/v1/inventory/${sku}`)).status, 200);
      assert.equal((await ex("GET", `/v1/inventory/${"x".repeat(65)}`)).status, 400);
      assert.equal((await ex("POST", `/v1/inventory/${sku}`)).status, 405);

      // getOpenApiDocument, unknown routes, oversized headers
      assert.equal((await ex("GET", "/openapi.json")).status, 200);
      assert.equal((await ex("GET", "/v1/nothing")).status, 404);
      assert.equal(
        (await ex("GET", `/v1/orders/${id}`, { headers: { "x-pad": "a".repeat(20_000) } })).status,
        431,
      );

      assertCoverage(contract, [...ROUTES.map((r) => r.operationId), "getOpenApiDocument"]);
    } finally {
      await api.close();
    }
  });

  void test("AUTH_MODE=apikey: 401, 403, ownership 404, 429 and 503 answer as documented", async () => {
    const keys = { shop: randomUUID(), other: randomUUID(), ops: randomUUID() };
    const apiKeys = JSON.stringify([
      { name: "shop", sha256: sha256Hex(keys.shop), scopes: ["orders:read", "orders:write"] },
      { name: "other", sha256: sha256Hex(keys.other), scopes: ["orders:read", "orders:write"] },
      {
        name: "ops",
        sha256: sha256Hex(keys.ops),
        scopes: ["inventory:admin", "orders:admin", "orders:read"],
      },
    ]);
    const ownRedis = await startLocalRedis();
    const api = await startInProcessApi({
      redisUrl: ownRedis.url,
      auth: { mode: "apikey", apiKeys },
      rateLimit: { perSecond: 0.01, burst: 4 },
    });
    try {
      const contract = await servedContract(api);
      const as = (who: keyof typeof keys | undefined, method: string, path: string, body?: unknown) =>
        exchange(api, contract, method, path, {
          headers: who ? { "x-api-key": keys[who] } : { "x-api-key": "wrong" },
          body,
        });

      assert.equal((await as(undefined, "POST", "/v1/orders", validOrder())).status, 401);
      const placed = await as("shop", "POST", "/v1/orders", validOrder());
      assert.equal(placed.status, 202);
      assert.ok(placed.headers.get("ratelimit"), "RateLimit on a success");
      const id = String(placed.json.id);
      assert.equal((await as("ops", "POST", "/v1/orders", validOrder())).status, 403);
      assert.equal((await as("other", "GET", `/v1/orders/${id}`)).status, 404);
      assert.equal((await as("ops", "GET", `/v1/orders/${id}`)).status, 200);
      assert.equal((await as("shop", "PUT", "/v1/inventory/S1", { available: 1 })).status, 403);
      assert.equal((await as("ops", "GET", "/v1/inventory/S1")).status, 200);
      // The shop has spent 1 of its 4 tokens (refused requests take none before their scope is checked).
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await as("shop", "GET", `/v1/orders/${id}`)).status);
      assert.equal(statuses.at(-1), 429, statuses.join(","));
      await ownRedis.kill();
      assert.equal((await as("ops", "GET", `/v1/orders/${id}`)).status, 503);
    } finally {
      await api.close();
      await ownRedis.stop();
    }
  });
});
