// The guides' Redis Cluster sections, taken literally: their values render REDIS_CLUSTER_NODES into every order role,
// the guide's REDIS_URL with it is what the roles' own check accepts as a TLS cluster, and the NetworkPolicy lets
// the roles reach the seed's port and the shard ports the guide names.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseEnv, redisEnv } from "../shared/config.ts";
import { resolveRedisTarget } from "../shared/redis-target.ts";
import {
  byKind,
  helmMissingReason,
  NAMESPACE,
  parseManifests,
  ROOT,
  template,
  type K8sObject,
} from "./support/chart.ts";
import { canConnect, podEndpoint, type Endpoint, type NetworkPolicy } from "./support/network-policy.ts";

const skip = helmMissingReason();
const ORDER_ROLES = ["api", "relay", "inventory", "shipment", "notification"];

type Deployment = K8sObject & {
  spec: {
    template: Parameters<typeof podEndpoint>[0] & {
      spec: { containers: { env?: { name: string; value?: string }[] }[] };
    };
  };
};

/** The page's section under `heading` (up to the next heading of the same or a higher level). */
function section(guide: string, heading: RegExp): string {
  const text = readFileSync(join(ROOT, guide), "utf8");
  const start = text.search(heading);
  assert.ok(start >= 0, `${guide} has a section ${heading}`);
  const rest = text.slice(start);
  const level = /^#+/.exec(rest)![0].length;
  const next = rest.slice(1).search(new RegExp(`\\n#{1,${level}} `));
  return next < 0 ? rest : rest.slice(0, next + 1);
}

const blocks = (text: string, lang: string) =>
  [...text.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);

interface GuideCase {
  guide: string;
  heading: RegExp;
  /** Values the section's snippet is added to. */
  base: string[];
  /** The cache's address (inside the values' redisTo) and the ports the roles must reach there. */
  redis: Endpoint;
  ports: number[];
}

const CASES: GuideCase[] = [
  {
    guide: "docs/deploy-eks.md",
    heading: /^### Redis Cluster/m,
    base: ["-f", join(ROOT, "deploy/prod.yaml")],
    redis: { kind: "external", ip: "10.0.3.7" },
    ports: [6379],
  },
  {
    guide: "docs/deploy-aks.md",
    heading: /^## 9\. The order side on AKS/m,
    base: ["-f", join(ROOT, "helm/eventfleet/ci/aws-only.yaml")],
    redis: { kind: "external", ip: "10.1.0.9" },
    ports: [10000, 8500, 8599],
  },
];

void describe("guides: Redis Cluster sections", { skip }, () => {
  for (const c of CASES) {
    void test(`${c.guide}: its cluster values reach every order role and its REDIS_URL passes the roles' check`, async () => {
      const text = section(c.guide, c.heading);
      const [values] = blocks(text, "yaml");
      assert.ok(values, "the section shows its values");
      const file = join(mkdtempSync(join(tmpdir(), "guide-redis-")), "values.yaml");
      writeFileSync(file, values);
      const objects = parseManifests(await template(undefined, [], [...c.base, "-f", file]));
      const deployments = byKind<Deployment>(objects, "Deployment").filter((d) =>
        ORDER_ROLES.includes(d.metadata.labels?.["app.kubernetes.io/component"] ?? ""),
      );
      assert.ok(deployments.length >= 4, "the order roles are rendered");
      const url = /REDIS_URL=(\S+)/.exec(blocks(text, "text").join("\n"))?.[1];
      assert.ok(url, "the section names the REDIS_URL to put in the Secret");
      const policies = byKind<NetworkPolicy>(objects, "NetworkPolicy").map((p) => ({
        ...p,
        metadata: { ...p.metadata, namespace: p.metadata.namespace ?? NAMESPACE },
      }));
      for (const d of deployments) {
        const env = d.spec.template.spec.containers[0]!.env ?? [];
        const nodes = env.find((e) => e.name === "REDIS_CLUSTER_NODES")?.value;
        assert.ok(nodes, `${d.metadata.name} gets REDIS_CLUSTER_NODES`);
        const target = resolveRedisTarget(parseEnv(redisEnv, { REDIS_URL: url, REDIS_CLUSTER_NODES: nodes }));
        assert.equal(target.mode, "cluster");
        assert.ok(target.mode === "cluster" && target.auth.tls && target.auth.password, "TLS and AUTH");
        const pod = podEndpoint(d.spec.template, NAMESPACE);
        for (const port of c.ports)
          assert.ok(canConnect(policies, pod, c.redis, port), `${d.metadata.name} → Redis :${port}`);
      }
    });
  }
});
