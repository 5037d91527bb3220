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
    for (const wanted of ["prod.yaml", "prod-aks.yaml", "staging.yaml"])
      assert.ok(files.includes(wanted), wanted);
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
