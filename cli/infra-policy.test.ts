// `eventfleet infra policy`: flags (and the endpoint variables) fill every name, so the output can be applied as is.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { RolePolicy } from "../shared/topology/infra-policy.ts";

const bin = resolve(import.meta.dirname, "../bin/eventfleet.js");
const azureEndpoints = {
  STORAGE_ACCOUNT_URL: "https://efprodstore.blob.core.windows.net",
  COSMOS_ENDPOINT: "https://efprod.documents.azure.com:443/",
  EVENTHUB_NAMESPACE: "efprod-telemetry.servicebus.windows.net",
};
const policy = (env: Record<string, string>, ...args: string[]) => {
  const result = spawnSync(process.execPath, [bin, "infra", "policy", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", EVENTFLEET_ENV: "prod", AWS_REGION: "eu-west-1", ...env },
  });
  assert.equal(result.status, 0, result.stderr);
  return {
    policies: JSON.parse(result.stdout) as RolePolicy[],
    stdout: result.stdout,
    stderr: result.stderr,
  };
};
const SUBSCRIPTION = "11111111-2222-3333-4444-555555555555";

describe("eventfleet infra policy", () => {
  test("with the flags and the Azure endpoints, every ARN and scope is complete", () => {
    const { policies, stdout, stderr } = policy(
      azureEndpoints,
      ...[
        "--aws-account",
        "123456789012",
        "--subscription",
        SUBSCRIPTION,
        "--resource-group",
        "rg-eventfleet",
      ],
    );
    assert.doesNotMatch(stdout, /<[a-z-]+>/, "no placeholder left");
    assert.equal(stderr, "");
    const inventory = policies.find((p) => p.role === "worker inventory")!;
    assert.ok(
      inventory.aws!.Statement[0]!.Resource.includes("arn:aws:sqs:eu-west-1:123456789012:prod-inventory"),
    );
    const ingest = policies.find((p) => p.role === "worker device-ingest")!;
    const group = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-eventfleet/providers`;
    const scopes = ingest.azure!.map((a) => a.scope);
    assert.ok(scopes.includes(`${group}/Microsoft.EventHub/namespaces/efprod-telemetry/eventhubs/telemetry`));
    assert.ok(
      scopes.includes(
        `${group}/Microsoft.Storage/storageAccounts/efprodstore/blobServices/default/containers/prod-checkpoints`,
      ),
    );
    assert.ok(scopes.includes(`${group}/Microsoft.DocumentDB/databaseAccounts/efprod/dbs/prod-eventfleet`));
  });

  test("flags win over the endpoint variables, and the old --account-id still works", () => {
    const { stdout } = policy(
      azureEndpoints,
      ...["--account-id", "210987654321", "--storage-account", "other", "--cosmos-account", "othercosmos"],
      ...["--eventhubs-namespace", "otherns"],
    );
    assert.match(stdout, /arn:aws:sns:eu-west-1:210987654321:prod-orders/);
    assert.match(stdout, /storageAccounts\/other\//);
    assert.match(stdout, /databaseAccounts\/othercosmos\//);
    assert.match(stdout, /namespaces\/otherns\//);
  });

  test("what stays unknown is named on stderr with the flag that fills it", () => {
    const { stdout, stderr } = policy({});
    assert.match(stdout, /<subscription-id>/);
    for (const flag of ["--aws-account", "--subscription", "--resource-group", "--storage-account"]) {
      assert.match(stderr, new RegExp(`\\(set ${flag}\\)`));
    }
    const awsOnly = policy({}, "--role", "worker inventory", "--aws-account", "123456789012");
    assert.equal(awsOnly.stderr, "", "a role without Azure scopes needs no Azure names");
  });
});
