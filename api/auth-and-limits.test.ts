import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { waitFor } from "../test/support/wait.ts";
import { ConfigError } from "../shared/config.ts";
import { freePort } from "../test/support/ports.ts";
import { createAuthenticator, sha256Hex } from "./auth.ts";
import { startInProcessApi, type InProcessApi } from "../test/support/in-process-api.ts";
import { startLocalRedis, type LocalRedis } from "../test/support/local-redis.ts";
import { validOrder } from "../test/support/sample-order.ts";

async function status(api: InProcessApi, method: string, path: string, headers: Record<string, string> = {}) {
  const body =
    method === "GET"
      ? undefined
      : JSON.stringify(path.includes("inventory") ? { available: 1 } : validOrder());
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...(body ? { "content-type": "application/json" } : {}), ...headers },
    ...(body ? { body } : {}),
  });
  await response.arrayBuffer();
  return { status: response.status, headers: response.headers };
}

void describe("auth and rate limiting", () => {
  let redis: LocalRedis;
  before(async () => {
    redis = await startLocalRedis();
  });
  after(async () => {
    await redis.stop();
  });

  void test("AUTH_MODE=none lets everyone do everything", async () => {
    const api = await startInProcessApi({ redisUrl: redis.url, auth: { mode: "none" } });
    try {
      assert.equal((await status(api, "POST", "/v1/orders")).status, 202);
      assert.equal((await status(api, "PUT", "/v1/inventory/S1")).status, 200);
    } finally {
      await api.close();
    }
  });

  void test("AUTH_MODE=apikey: 401 without or with a wrong key, 403 without the scope, keys from env or file", async () => {
    const shopKey = randomUUID();
    const adminKey = randomUUID();
    const keys = JSON.stringify([
      { name: "shop", sha256: sha256Hex(shopKey), scopes: ["orders:write", "orders:read"] },
      { name: "ops", sha256: sha256Hex(adminKey), scopes: ["inventory:admin"] },
    ]);
    const file = join(mkdtempSync(join(tmpdir(), "ef-keys-")), "keys.json");
    writeFileSync(file, keys);
    for (const auth of [
      { mode: "apikey" as const, apiKeys: keys },
      { mode: "apikey" as const, apiKeysFile: file },
    ]) {
      const api = await startInProcessApi({ redisUrl: redis.url, auth });
      try {
        const missing = await status(api, "POST", "/v1/orders");
        assert.equal(missing.status, 401);
        assert.ok(missing.headers.get("www-authenticate"));
        assert.equal((await status(api, "POST", "/v1/orders", { "x-api-key": "wrong" })).status, 401);
        assert.equal((await status(api, "POST", "/v1/orders", { "x-api-key": shopKey })).status, 202);
        assert.equal((await status(api, "PUT", "/v1/inventory/S1", { "x-api-key": shopKey })).status, 403);
        assert.equal((await status(api, "PUT", "/v1/inventory/S1", { "x-api-key": adminKey })).status, 200);
        assert.equal((await status(api, "POST", "/v1/orders", { "x-api-key": adminKey })).status, 403);
        assert.equal(
          (await status(api, "GET", "/openapi.json")).status,
          200,
          "the API description is public",
        );
      } finally {
        await api.close();
      }
    }
  });

  void describe("AUTH_MODE=jwt with a JWKS served on 127.0.0.1", () => {
    let jwksServer: Server;
    let jwksUrl: string;
    let privateKey: CryptoKey;
    let otherKey: CryptoKey;
    before(async () => {
      const pair = await generateKeyPair("ES256");
      privateKey = pair.privateKey;
      otherKey = (await generateKeyPair("ES256")).privateKey;
      const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
      jwksServer = createServer((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", () => resolve()));
      jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
    });
    after(() => {
      jwksServer.close();
    });

    const token = (
      claims: Record<string, unknown>,
      options: { key?: CryptoKey; issuer?: string; expires?: string } = {},
    ) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setSubject("user-1")
        .setIssuer(options.issuer ?? "https://issuer.test")
        .setAudience("eventfleet")
        .setIssuedAt()
        .setExpirationTime(options.expires ?? "5m")
        .sign(options.key ?? privateKey);

    void test("401 for missing, forged, expired or foreign tokens; 403 without the scope; scopes from the claim", async () => {
      const api = await startInProcessApi({
        redisUrl: redis.url,
        auth: {
          mode: "jwt",
          jwt: { jwksUrl, issuer: "https://issuer.test", audience: "eventfleet", scopeClaim: "scope" },
        },
      });
      try {
        const bearer = async (claims: Record<string, unknown>, options = {}) => ({
          authorization: `Bearer ${await token(claims, options)}`,
        });
        assert.equal((await status(api, "POST", "/v1/orders")).status, 401);
        assert.equal(
          (await status(api, "POST", "/v1/orders", { authorization: "Bearer nonsense" })).status,
          401,
        );
        assert.equal(
          (
            await status(
              api,
              "POST",
              "/v1/orders",
              await bearer({ scope: "orders:write" }, { key: otherKey }),
            )
          ).status,
          401,
        );
        assert.equal(
          (
            await status(
              api,
              "POST",
              "/v1/orders",
              await bearer({ scope: "orders:write" }, { issuer: "https://evil" }),
            )
          ).status,
          401,
        );
        assert.equal(
          (
            await status(
              api,
              "POST",
              "/v1/orders",
              await bearer({ scope: "orders:write" }, { expires: "-1m" }),
            )
          ).status,
          401,
        );
        assert.equal(
          (await status(api, "POST", "/v1/orders", await bearer({ scope: "orders:read" }))).status,
          403,
        );
        assert.equal(
          (await status(api, "POST", "/v1/orders", await bearer({ scope: "orders:read orders:write" })))
            .status,
          202,
        );
        const asArray = await bearer({ scope: ["inventory:admin"] });
        assert.equal((await status(api, "PUT", "/v1/inventory/S1", asArray)).status, 200);
      } finally {
        await api.close();
      }
    });

    const jwtApi = (
      extra: { subjectClaim?: string; rateLimit?: { perSecond: number; burst: number } } = {},
    ) =>
      startInProcessApi({
        redisUrl: redis.url,
        auth: {
          mode: "jwt",
          jwt: {
            jwksUrl,
            issuer: "https://issuer.test",
            audience: "eventfleet",
            scopeClaim: "scope",
            ...(extra.subjectClaim ? { subjectClaim: extra.subjectClaim } : {}),
          },
        },
        ...(extra.rateLimit ? { rateLimit: extra.rateLimit } : {}),
      });

    /** A token with exactly `claims` (plus iss and aud): no sub or exp unless given. */
    const bare = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setIssuer("https://issuer.test")
        .setAudience("eventfleet")
        .setIssuedAt()
        .sign(privateKey);
    const inFiveMinutes = () => Math.floor(Date.now() / 1000) + 300;

    void test("a token without exp, or without a subject, is refused; the scheme is case-insensitive", async () => {
      const api = await jwtApi();
      try {
        const as = (token: string, scheme = "Bearer") => ({ authorization: `${scheme} ${token}` });
        const noExp = await bare({ sub: "tenant-a", scope: "orders:write" });
        assert.equal(
          (await status(api, "POST", "/v1/orders", as(noExp))).status,
          401,
          "no exp: valid for ever",
        );
        const noSub = await bare({ exp: inFiveMinutes(), scope: "orders:write" });
        assert.equal((await status(api, "POST", "/v1/orders", as(noSub))).status, 401, "no sub: nobody");
        const emptySub = await bare({ sub: "", exp: inFiveMinutes(), scope: "orders:write" });
        assert.equal((await status(api, "POST", "/v1/orders", as(emptySub))).status, 401, "empty sub");
        const good = await bare({ sub: "tenant-a", exp: inFiveMinutes(), scope: "orders:write" });
        for (const scheme of ["Bearer", "bearer", "BEARER"]) {
          assert.equal((await status(api, "POST", "/v1/orders", as(good, scheme))).status, 202, scheme);
        }
      } finally {
        await api.close();
      }
    });

    void test("JWT_SUBJECT_CLAIM names the principal: without that claim a token is refused", async () => {
      const api = await jwtApi({ subjectClaim: "client_id" });
      try {
        const withSub = await bare({ sub: "x", exp: inFiveMinutes(), scope: "orders:write" });
        assert.equal(
          (await status(api, "POST", "/v1/orders", { authorization: `Bearer ${withSub}` })).status,
          401,
        );
        const withClientId = await bare({ client_id: "shop-7", exp: inFiveMinutes(), scope: "orders:write" });
        assert.equal(
          (await status(api, "POST", "/v1/orders", { authorization: `Bearer ${withClientId}` })).status,
          202,
        );
      } finally {
        await api.close();
      }
    });

    void test("two tenants: the same Idempotency-Key gives each its own order, and each has its own rate-limit bucket", async () => {
      const api = await jwtApi({ rateLimit: { perSecond: 0.01, burst: 2 } });
      try {
        const tenant = async (sub: string) => ({
          authorization: `Bearer ${await bare({ sub, exp: inFiveMinutes(), scope: "orders:write" })}`,
        });
        const place = async (sub: string, key: string) => {
          const response = await fetch(`${api.url}/v1/orders`, {
            method: "POST",
            headers: { ...(await tenant(sub)), "content-type": "application/json", "idempotency-key": key },
            body: JSON.stringify(validOrder()),
          });
          const body = (await response.json()) as { id?: string };
          return {
            status: response.status,
            id: body.id,
            replayed: response.headers.get("idempotent-replayed"),
          };
        };
        // Subjects and keys that would build the same Redis key if the subject were used as it is.
        const a = await place("tenant", "b:same-key");
        const b = await place("tenant:b", "same-key");
        assert.equal(a.status, 202);
        assert.equal(b.status, 202);
        assert.notEqual(b.id, a.id, "tenant B did not get tenant A's order back");
        assert.equal(b.replayed, null);
        // Tenant A's second request (its burst is 2) uses A's bucket; A is now limited, B is not.
        assert.equal((await place("tenant", "other-key")).status, 202);
        assert.equal((await place("tenant", "third-key")).status, 429, "tenant A is limited");
        assert.equal((await place("tenant:b", "other-key")).status, 202, "tenant B has its own bucket");
      } finally {
        await api.close();
      }
    });
  });

  void test("a JWKS that cannot be fetched is a 503, not a 401; a bad key setting is a ConfigError naming it", async () => {
    const closedPort = await freePort();
    const api = await startInProcessApi({
      redisUrl: redis.url,
      auth: {
        mode: "jwt",
        jwt: {
          jwksUrl: `http://127.0.0.1:${closedPort}/jwks`,
          issuer: "i",
          audience: "a",
          scopeClaim: "scope",
        },
      },
    });
    try {
      const header = { authorization: "Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln" };
      const answer = await status(api, "POST", "/v1/orders", header);
      assert.equal(answer.status, 503);
      assert.ok(answer.headers.get("retry-after"));
    } finally {
      await api.close();
    }
    assert.throws(
      () => createAuthenticator({ mode: "apikey" }),
      (e: Error) => e instanceof ConfigError && /API_KEYS/.test(e.message),
    );
    assert.throws(
      () =>
        createAuthenticator({
          mode: "apikey",
          apiKeys: '[{"name":"x","sha256":"nothex","scopes":["orders:read"]}]',
        }),
      (e: Error) => e instanceof ConfigError && /API_KEYS: 0.sha256/.test(e.message),
    );
    assert.throws(
      () => createAuthenticator({ mode: "jwt" }),
      (e: Error) => e instanceof ConfigError && /JWT_JWKS_URL/.test(e.message),
    );
  });

  void test("rate limit: 429 with Retry-After past the burst, per principal, and recovers", async () => {
    const [busy, quiet] = [randomUUID(), randomUUID()];
    const apiKeys = JSON.stringify(
      [busy, quiet].map((key, i) => ({ name: `p${i}`, sha256: sha256Hex(key), scopes: ["inventory:admin"] })),
    );
    const api = await startInProcessApi({
      redisUrl: redis.url,
      auth: { mode: "apikey", apiKeys },
      rateLimit: { perSecond: 2, burst: 3 },
    });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 6; i++) {
        const answer = await status(api, "GET", "/v1/inventory/S1", { "x-api-key": busy });
        statuses.push(answer.status);
        if (answer.status === 429) retryAfter = answer.headers.get("retry-after");
      }
      assert.ok(
        statuses.slice(0, 3).every((s) => s === 200),
        `burst allowed: ${statuses.join(",")}`,
      );
      assert.ok(statuses.includes(429), `limited: ${statuses.join(",")}`);
      assert.ok(Number(retryAfter) >= 1, "Retry-After in seconds");
      assert.equal(
        (await status(api, "GET", "/v1/inventory/S1", { "x-api-key": quiet })).status,
        200,
        "another principal is not limited",
      );
      await waitFor(
        async () => (await status(api, "GET", "/v1/inventory/S1", { "x-api-key": busy })).status === 200,
        {
          timeoutMs: 10_000,
          intervalMs: 250,
          description: "requests allowed again after the bucket refills",
        },
      );
    } finally {
      await api.close();
    }
  });

  void test("behind a trusted proxy each X-Forwarded-For client has its own bucket; otherwise the header is ignored", async () => {
    const limited = { perSecond: 0.01, burst: 1 };
    const behindProxy = await startInProcessApi({
      redisUrl: redis.url,
      rateLimit: limited,
      trustProxy: "loopback",
    });
    const direct = await startInProcessApi({ redisUrl: redis.url, rateLimit: limited });
    try {
      const from = (api: InProcessApi, client: string) =>
        status(api, "GET", "/v1/inventory/S1", { "x-forwarded-for": client });
      // This test's requests come from 127.0.0.1, the trusted proxy: the header names the client.
      assert.equal((await from(behindProxy, "203.0.113.7")).status, 200);
      assert.equal((await from(behindProxy, "203.0.113.7")).status, 429);
      assert.equal((await from(behindProxy, "198.51.100.9")).status, 200, "another client, another bucket");
      // Untrusted: a client cannot escape its bucket by making up the header.
      assert.equal((await from(direct, "203.0.113.7")).status, 200);
      assert.equal((await from(direct, "198.51.100.9")).status, 429);
    } finally {
      await Promise.all([behindProxy.close(), direct.close()]);
    }
  });
  void test("failed authentication, /openapi.json and unknown routes are rate limited per client address", async () => {
    const apiKeys = JSON.stringify([
      { name: "shop", sha256: sha256Hex(randomUUID()), scopes: ["orders:write"] },
    ]);
    const limited = { perSecond: 0.01, burst: 3 };
    for (const [what, path, headers, expected] of [
      ["wrong API keys", "/v1/orders", { "x-api-key": "guess" }, 401],
      ["the API description", "/openapi.json", {}, 200],
      ["an unknown route", "/v1/nothing", {}, 404],
      ["a wrong method", "/openapi.json", {}, 405],
    ] as const) {
      const api = await startInProcessApi({
        redisUrl: redis.url,
        auth: { mode: "apikey", apiKeys },
        rateLimit: limited,
      });
      try {
        const method = what === "a wrong method" ? "DELETE" : path === "/v1/orders" ? "POST" : "GET";
        const statuses: number[] = [];
        let last;
        for (let i = 0; i < 5; i++) {
          last = await status(api, method, path, headers);
          statuses.push(last.status);
        }
        assert.deepEqual(statuses, [expected, expected, expected, 429, 429], what);
        assert.ok(
          Number(last?.headers.get("retry-after")) >= 90,
          `${what}: Retry-After is the real wait (~100 s)`,
        );
      } finally {
        await api.close();
      }
    }
  });

  void test("every answer carries RateLimit-Policy and RateLimit; a 429's Retry-After is the time to the next token", async () => {
    const key = randomUUID();
    const apiKeys = JSON.stringify([{ name: "p", sha256: sha256Hex(key), scopes: ["inventory:admin"] }]);
    const api = await startInProcessApi({
      redisUrl: redis.url,
      auth: { mode: "apikey", apiKeys },
      rateLimit: { perSecond: 0.1, burst: 2 },
    });
    try {
      // A token every 10 s; a slow machine may take a second or two between the requests, hence the ranges.
      const get = () => status(api, "GET", "/v1/inventory/S1", { "x-api-key": key });
      const first = await get();
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("ratelimit-policy"), '"per-principal";q=2;w=20');
      assert.match(first.headers.get("ratelimit") ?? "", /^"per-principal";r=1;t=(9|10)$/);
      const second = await get();
      assert.match(second.headers.get("ratelimit") ?? "", /^"per-principal";r=0;t=(1[89]|20)$/);
      const third = await get();
      assert.equal(third.status, 429);
      assert.equal(third.headers.get("ratelimit-policy"), '"per-principal";q=2;w=20');
      assert.match(third.headers.get("ratelimit") ?? "", /^"per-principal";r=0;t=(1[89]|20)$/);
      const retryAfter = Number(third.headers.get("retry-after"));
      assert.ok(retryAfter >= 8 && retryAfter <= 10, `Retry-After ${retryAfter}: the time to the next token`);
    } finally {
      await api.close();
    }
  });
});
