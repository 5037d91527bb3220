import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { Registry } from "prom-client";
import { ConfigError, parseEnv, processEnv } from "../../shared/config.ts";
import { composeDeviceIngest } from "./compose.ts";
import { deviceIngestEnv } from "./config.ts";
import { resolveDeviceIngestOptions } from "./device-ingest-options.ts";

describe("resolveDeviceIngestOptions", () => {
  test("fills in the documented defaults", () => {
    const options = resolveDeviceIngestOptions({ consumerGroup: "device-ingest" });
    assert.equal(options.maxBatchSize, 500);
    assert.equal(options.startPosition, "earliest");
    assert.equal(options.loadBalancing, "balanced");
    assert.equal(options.ownershipExpiryMs, 60_000);
    assert.equal(options.writeMode, "bulk");
  });

  test("an ownership expiry that live replicas could miss is refused, naming the option", () => {
    assert.throws(
      () =>
        resolveDeviceIngestOptions({
          consumerGroup: "g",
          loadBalancingIntervalMs: 10_000,
          ownershipExpiryMs: 15_000,
        }),
      /ownershipExpiryMs must be at least twice loadBalancingIntervalMs/,
    );
  });

  test("a wrong option is reported with the variable that set it, every problem at once", () => {
    const config = parseEnv(
      { ...processEnv, ...deviceIngestEnv },
      {
        COSMOS_ENDPOINT: "https://127.0.0.1:1/",
        EVENTHUB_CONNECTION_STRING: "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=x",
        STORAGE_CONNECTION_STRING: "AccountName=a;AccountKey=b",
        DEVICE_INGEST_RETRY_MAX_MS: "100",
        DEVICE_INGEST_LB_INTERVAL_MS: "40000",
      },
    );
    assert.throws(
      () => composeDeviceIngest(config, { logger: pino({ level: "silent" }), registry: new Registry() }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.variable, "DEVICE_INGEST_OWNERSHIP_EXPIRY_MS");
        const lines = error.message.split("\n");
        assert.equal(lines.length, 2, error.message);
        assert.match(
          lines[0]!,
          /^DEVICE_INGEST_OWNERSHIP_EXPIRY_MS: must be at least twice loadBalancingIntervalMs/,
        );
        assert.match(lines[1]!, /^DEVICE_INGEST_RETRY_MAX_MS: must be at least retryBaseMs \(200 ms\)/);
        return true;
      },
    );
  });
});
