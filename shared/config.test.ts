import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { ConfigError, envVar, parseEnv, processEnv, redisEnv } from "./config.ts";

describe("parseEnv", () => {
  test("applies defaults and coerces numbers", () => {
    const config = parseEnv({ ...processEnv, ...redisEnv }, {});
    assert.equal(config.MANAGEMENT_PORT, 9464);
    assert.equal(config.SHUTDOWN_TIMEOUT_MS, 25_000);
    assert.equal(config.REDIS_URL, "redis://127.0.0.1:6379");
  });

  test("an empty value counts as unset and falls back to the default", () => {
    assert.equal(parseEnv(processEnv, { LOG_LEVEL: "" }).LOG_LEVEL, "info");
  });

  test("a bad value names the variable, what it got and what it expects, in one line", () => {
    assert.throws(
      () => parseEnv(redisEnv, { REDIS_URL: "http://example" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.variable, "REDIS_URL");
        assert.equal(
          error.message,
          'REDIS_URL: got "http://example", expected a redis:// or rediss:// URL, such as redis://127.0.0.1:6379',
        );
        assert.ok(!error.message.includes("\n"));
        return true;
      },
    );
  });

  test("a missing required value says to set it", () => {
    const spec = { QUEUE: envVar(z.string().min(1), { expects: "a queue URL", description: "x" }) };
    assert.throws(
      () => parseEnv(spec, {}),
      /QUEUE: got nothing \(unset\), expected a queue URL \(set QUEUE\)/,
    );
  });

  test("a secret's value is never echoed", () => {
    const spec = {
      KEY: envVar(z.string().min(10), { expects: "a long key", description: "x", secret: true }),
    };
    assert.throws(
      () => parseEnv(spec, { KEY: "hunter2" }),
      (error: unknown) =>
        error instanceof Error && !error.message.includes("hunter2") && /hidden/.test(error.message),
    );
  });

  test("ports out of range and non-numbers are refused", () => {
    assert.throws(() => parseEnv(processEnv, { MANAGEMENT_PORT: "70000" }), /MANAGEMENT_PORT: got "70000"/);
    assert.throws(() => parseEnv(processEnv, { SHUTDOWN_TIMEOUT_MS: "soon" }), /SHUTDOWN_TIMEOUT_MS/);
  });

  test("every wrong variable is reported at once, one line each", () => {
    assert.throws(
      () => parseEnv(processEnv, { MANAGEMENT_PORT: "70000", SHUTDOWN_TIMEOUT_MS: "soon" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.variable, "MANAGEMENT_PORT");
        const lines = error.message.split("\n");
        assert.equal(lines.length, 2);
        assert.match(lines[0]!, /^MANAGEMENT_PORT: got "70000"/);
        assert.match(lines[1]!, /^SHUTDOWN_TIMEOUT_MS: got "soon"/);
        return true;
      },
    );
  });
});
