// The deploy guides, followed literally and in order, install a working, authenticated, monitored release on
// a simulated cluster (our chart really rendered; KEDA and kube-prometheus-stack reduced to their effects), and
// every runbook command names objects that release has. A step out of order, a missing `helm repo add`, a
// missing Prometheus label or a runbook naming a non-existent object fails here (k8s-tests/guides/).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { clusterCommands, readGuide, type GuideCommand } from "./guides/extract.ts";
import { checkRunbooks, followGuide, GUIDES } from "./guides/follow.ts";
import { GuideStepError } from "./guides/interpret.ts";
import { helmMissingReason, ROOT } from "./support/chart.ts";

const skip = helmMissingReason();
const commandsOf = (guide: string) => clusterCommands(readGuide(join(ROOT, guide)));

async function failureOf(guide: string, commands: GuideCommand[]): Promise<string> {
  try {
    await followGuide(guide, commands);
  } catch (error) {
    assert.ok(error instanceof GuideStepError, String(error));
    return error.message;
  }
  assert.fail(`${guide} worked although it should not`);
}

const without = (commands: GuideCommand[], pattern: RegExp) => commands.filter((c) => !pattern.test(c.text));

void describe("deploy guides, followed in order", { skip }, () => {
  for (const guide of GUIDES) {
    void test(`${guide}: every cluster command works and the release is authenticated, scaled and monitored`, async () => {
      const { cluster } = await followGuide(guide);
      const ns = "eventfleet";
      assert.ok(cluster.find("ScaledObject", ns).length > 0, "KEDA scales the workers");
      assert.ok(cluster.find("PrometheusRule", ns).length === 1, "alerts are installed");
      const api = cluster
        .find("Deployment", ns)
        .find((d) => d.metadata.labels?.["app.kubernetes.io/component"] === "api");
      if (api) {
        const env = (
          api.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }
        ).template.spec.containers[0]!.env;
        assert.notEqual(env.find((e) => e.name === "AUTH_MODE")?.value, "none", "the API authenticates");
      }
    });

    void test(`${guide}: its values block is the deploy file it installs`, () => {
      const text = readGuide(join(ROOT, guide));
      const file = /`(deploy\/[a-z-]+\.yaml)`[^\n]*:\n\n```yaml\n([\s\S]*?)```/.exec(text);
      assert.ok(file, "the guide shows its values file");
      assert.deepEqual(parse(file[2]!), parse(readFileSync(join(ROOT, file[1]!), "utf8")), file[1]);
    });
  }

  void test("out of order fails: the chart's monitoring objects before kube-prometheus-stack", async () => {
    const commands = commandsOf("docs/deploy-eks.md");
    const stack = commands.filter((c) => /kube-prometheus-stack prometheus-community/.test(c.text));
    const reordered = [...without(commands, /kube-prometheus-stack prometheus-community/), ...stack];
    assert.match(await failureOf("docs/deploy-eks.md", reordered), /monitoring\.coreos\.com/);
  });

  void test("a chart repository used before `helm repo add` fails", async () => {
    const commands = without(commandsOf("docs/deploy-aks.md"), /helm repo add prometheus-community/);
    assert.match(await failureOf("docs/deploy-aks.md", commands), /repo prometheus-community not found/);
  });

  void test("monitoring objects without the label Prometheus selects fail", async () => {
    const commands = commandsOf("docs/deploy-aks.md").map((c) =>
      c.text.startsWith("make deploy")
        ? {
            ...c,
            text: "helm upgrade --install eventfleet helm/eventfleet -n eventfleet -f deploy/prod-aks.yaml --set-string monitoring.labels.release=other",
          }
        : c,
    );
    assert.match(
      await failureOf("docs/deploy-aks.md", commands),
      /lacks the label release: kube-prometheus-stack/,
    );
  });

  void test("KEDA installed without its metrics scraped fails (the dead-letter and KEDA alerts read them)", async () => {
    const commands = commandsOf("docs/deploy-eks.md").map((c) =>
      /kedacore\/keda/.test(c.text)
        ? { ...c, text: c.text.replace(/ --set prometheus\.operator\.\S+/g, "") }
        : c,
    );
    assert.match(
      await failureOf("docs/deploy-eks.md", commands),
      /no ServiceMonitor that Prometheus selects scrapes the KEDA operator/,
    );
  });

  void test("an install without the API keys Secret fails", async () => {
    const commands = without(commandsOf("docs/deploy-eks.md"), /create secret generic eventfleet-api-keys/);
    assert.match(
      await failureOf("docs/deploy-eks.md", commands),
      /Secret eventfleet\/eventfleet-api-keys does not exist/,
    );
  });
});

void describe("runbooks", { skip }, () => {
  void test("every kubectl/helm command works on a release installed as the guides install it", async () => {
    const broken = (await checkRunbooks()).filter((r) => r.failures.length > 0);
    assert.deepEqual(
      broken.map((r) => `${r.file}:${r.line}: ${r.command} — ${r.failures[0]}`),
      [],
    );
  });

  void test("a command naming a Deployment by a release-dependent name, or running dlq where no URLs are, fails", async () => {
    const follow = await followGuide("docs/deploy-eks.md");
    await assert.rejects(
      follow.step("kubectl -n $NS logs deploy/$REL-eventfleet-api --since=10m"),
      /not found/,
    );
    await assert.rejects(
      follow.step("kubectl -n $NS exec deploy/eventfleet-api -- eventfleet dlq stats"),
      /lacks INVENTORY_QUEUE_URL/,
    );
    await assert.rejects(
      follow.step("kubectl -n $NS exec deploy/eventfleet-operator -- eventfleet dlq stats"),
      /no running pod/,
      "the toolbox runs only once scaled up",
    );
  });
});
