// The per-environment values that `make deploy ENV=<env>` installs render, and every object they produce is valid.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { helmMissingReason, parseManifests, ROOT, template } from "./support/chart.ts";
import { validateStrict, type TypedObject } from "./support/strict-schema.ts";

const skip = helmMissingReason();
const files = readdirSync(join(ROOT, "deploy")).filter((f) => f.endsWith(".yaml"));

describe("deploy/<env>.yaml", { skip }, () => {
  test("there are values for the environments the pipelines and guides deploy to", () => {
    for (const wanted of ["local.yaml", "prod.yaml", "prod-aks.yaml", "staging.yaml"])
      assert.ok(files.includes(wanted), wanted);
  });
  test("local.yaml: KEDA authenticates with the Secret's keys and polls the SQS endpoint the roles use", async () => {
    const objects = parseManifests(await template(undefined, [], ["-f", join(ROOT, "deploy/local.yaml")]));
    const auths = objects.filter((o) => o.kind === "TriggerAuthentication");
    const refs = auths.flatMap(
      (a) => (a.spec as { secretTargetRef?: { parameter: string; key: string }[] }).secretTargetRef ?? [],
    );
    assert.equal(auths.length, 2);
    assert.ok(
      auths.every((a) => !(a.spec as Record<string, unknown>).podIdentity),
      "no pod identity on a local cluster",
    );
    assert.deepEqual(refs.map((r) => `${r.parameter}=${r.key}`).sort(), [
      "awsAccessKeyID=AWS_ACCESS_KEY_ID",
      "awsSecretAccessKey=AWS_SECRET_ACCESS_KEY",
      "connection=EVENTHUB_CONNECTION_STRING",
      "storageConnection=STORAGE_CONNECTION_STRING",
    ]);
    const sqsTriggers = objects
      .filter((o) => o.kind === "ScaledObject")
      .flatMap(
        (o) =>
          (o.spec as { triggers: { type: string; name?: string; metadata: Record<string, string> }[] })
            .triggers,
      )
      .filter((t) => t.type === "aws-sqs-queue");
    // Each SQS worker: its scaling trigger and its dead-letter observer (keda.watchDeadLetters).
    assert.equal(sqsTriggers.filter((t) => t.name !== "dead-letters").length, 3);
    assert.equal(sqsTriggers.filter((t) => t.name === "dead-letters").length, 3);
    const workerEnv = objects
      .filter((o) => o.kind === "Deployment")
      .flatMap(
        (o) =>
          (o.spec as { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } })
            .template.spec.containers[0]!.env ?? [],
      )
      .filter((e) => e.name === "AWS_ENDPOINT_URL");
    for (const t of sqsTriggers) assert.equal(t.metadata.awsEndpoint, "http://127.0.0.1:4566");
    assert.ok(
      workerEnv.length >= 4 && workerEnv.every((e) => e.value === "http://127.0.0.1:4566"),
      "the roles use the same endpoint",
    );
  });
  test("aws.auth=secret without existingSecret fails the render naming both", async () => {
    await assert.rejects(
      template(undefined, [
        "aws.accountId=000000000000",
        "redis.url=redis://r:6379",
        "aws.auth=secret",
        "keda.capabilityCheck=false",
      ]),
      /aws\.auth=secret needs existingSecret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
  });
  for (const file of files) {
    test(`${file} renders objects that pass strict schema validation`, async () => {
      const objects = parseManifests(await template(undefined, [], ["-f", join(ROOT, "deploy", file)]));
      assert.ok(objects.some((o) => o.kind === "Deployment"));
      assert.ok(objects.some((o) => o.kind === "ScaledObject"));
      const problems = objects.flatMap((o) =>
        validateStrict(o as TypedObject).map((p) => `${o.kind}/${o.metadata?.name}: ${p}`),
      );
      assert.deepEqual(problems, []);
    });
  }
});
