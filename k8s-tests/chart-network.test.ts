// With the NetworkPolicies on, every connection the fleet needs is allowed and the rest is not, as a CNI would decide.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  byKind,
  helmMissingReason,
  NAMESPACE,
  parseManifests,
  render,
  ROOT,
  template,
  type K8sObject,
} from "./support/chart.ts";
import { canConnect, podEndpoint, type Endpoint, type NetworkPolicy } from "./support/network-policy.ts";

const skip = helmMissingReason();

type PodLike = Parameters<typeof podEndpoint>[0];
type Deployment = K8sObject & { spec: { template: PodLike } };

/** Public addresses standing for the cloud endpoints (Event Hubs, SQS, Blob, Cosmos) and a VPC Redis. */
const EVENT_HUBS: Endpoint = { kind: "external", ip: "20.38.1.10" };
const CLOUD_API: Endpoint = { kind: "external", ip: "52.95.2.20" };
const VPC_REDIS: Endpoint = { kind: "external", ip: "10.0.3.7" };
const PROMETHEUS: Endpoint = {
  kind: "pod",
  namespace: "monitoring",
  labels: { "app.kubernetes.io/name": "prometheus" },
  ports: {},
};
const STRANGER: Endpoint = { kind: "pod", namespace: "other", labels: { app: "stranger" }, ports: {} };

const SETUPS: { name: string; objects: () => Promise<K8sObject[]> }[] = [
  { name: "ci/full.yaml", objects: () => render("full") },
  { name: "ci/aws-only.yaml", objects: () => render("aws-only") },
  {
    name: "ci/azure-only.yaml + networkPolicy.enabled",
    objects: () => render("azure-only", ["networkPolicy.enabled=true"]),
  },
  {
    name: "deploy/prod.yaml",
    objects: async () =>
      parseManifests(await template(undefined, [], ["-f", join(ROOT, "deploy/prod.yaml")])),
  },
  {
    name: "deploy/prod-aks.yaml",
    objects: async () =>
      parseManifests(await template(undefined, [], ["-f", join(ROOT, "deploy/prod-aks.yaml")])),
  },
];

void describe("network policies: ports taken from the values", { skip }, () => {
  void test("a webhook on another port than 443 and Redis on another port than 6379 stay reachable", async () => {
    const objects = await render("aws-only", [
      "notification.webhookUrl=http://hooks.internal.example.com:8080/eventfleet",
      "redis.url=redis://redis.internal:6380",
    ]);
    const policies = byKind<NetworkPolicy>(objects, "NetworkPolicy").map((p) => ({
      ...p,
      metadata: { ...p.metadata, namespace: p.metadata.namespace ?? NAMESPACE },
    }));
    const role = (component: string) =>
      podEndpoint(
        byKind<Deployment>(objects, "Deployment").find(
          (d) => d.metadata.labels?.["app.kubernetes.io/component"] === component,
        )!.spec.template,
        NAMESPACE,
      );
    assert.ok(canConnect(policies, role("notification"), CLOUD_API, 8080), "notification → webhook :8080");
    assert.ok(canConnect(policies, role("api"), VPC_REDIS, 6380), "api → redis :6380");
  });

  void test("a Redis Cluster: every seed's port and the ranges its nodes announce are reachable, nothing else", async () => {
    const objects = await render("aws-only", [
      "redis.clusterNodes={cache.example.com:10000,cache-2.example.com:7000}",
      "networkPolicy.egress.redisPortRanges[0].port=8500",
      "networkPolicy.egress.redisPortRanges[0].endPort=8599",
    ]);
    const policies = byKind<NetworkPolicy>(objects, "NetworkPolicy").map((p) => ({
      ...p,
      metadata: { ...p.metadata, namespace: p.metadata.namespace ?? NAMESPACE },
    }));
    for (const component of ["api", "relay", "inventory", "shipment", "notification"]) {
      const deployment = byKind<Deployment>(objects, "Deployment").find(
        (d) => d.metadata.labels?.["app.kubernetes.io/component"] === component,
      );
      if (!deployment) continue;
      const pod = podEndpoint(deployment.spec.template, NAMESPACE);
      for (const port of [10000, 7000, 8500, 8555, 8599])
        assert.ok(canConnect(policies, pod, VPC_REDIS, port), `${component} → redis :${port}`);
      assert.ok(!canConnect(policies, pod, VPC_REDIS, 8600), `${component} ↛ redis :8600`);
    }
  });
});

for (const setup of SETUPS) {
  void describe(`network policies: ${setup.name}`, { skip }, () => {
    const load = async () => {
      const objects = await setup.objects();
      const policies = byKind<NetworkPolicy>(objects, "NetworkPolicy").map((p) => ({
        ...p,
        metadata: { ...p.metadata, namespace: p.metadata.namespace ?? NAMESPACE },
      }));
      assert.ok(policies.length > 0, "the policies are on");
      const roles = byKind<Deployment>(objects, "Deployment").map((d) => ({
        name: d.metadata.name,
        args: (d.spec.template.spec.containers[0] as { args?: string[] }).args ?? [],
        endpoint: podEndpoint(d.spec.template, NAMESPACE),
      }));
      const testPods = byKind<K8sObject & PodLike>(objects, "Pod");
      return { policies, roles, testPods };
    };

    void test("device-ingest reaches Event Hubs over AMQP (TLS, port 5671)", async () => {
      const { policies, roles } = await load();
      const ingest = roles.filter((r) => r.args.includes("device-ingest"));
      for (const r of ingest) assert.ok(canConnect(policies, r.endpoint, EVENT_HUBS, 5671), r.name);
    });

    void test("`helm test` reaches the API's /readyz on the management port", async () => {
      const { policies, roles, testPods } = await load();
      const api = roles.find((r) => r.args[0] === "api");
      if (!api) return;
      assert.equal(testPods.length, 1);
      const tester = podEndpoint(testPods[0]!, NAMESPACE);
      assert.ok(canConnect(policies, tester, api.endpoint, "management"));
    });

    void test("every role reaches HTTPS cloud APIs and DNS; the order roles reach Redis", async () => {
      const { policies, roles } = await load();
      const dns: Endpoint = {
        kind: "pod",
        namespace: "kube-system",
        labels: { "k8s-app": "kube-dns" },
        ports: {},
      };
      for (const r of roles) {
        assert.ok(canConnect(policies, r.endpoint, CLOUD_API, 443), `${r.name} → 443`);
        assert.ok(canConnect(policies, r.endpoint, dns, 53, "UDP"), `${r.name} → DNS`);
        if (!r.args.includes("device-ingest"))
          assert.ok(canConnect(policies, r.endpoint, VPC_REDIS, 6379), `${r.name} → Redis`);
      }
    });

    void test("Prometheus scrapes every role; a pod of another namespace may not, nor reach the workers", async () => {
      const { policies, roles } = await load();
      for (const r of roles.filter((r) => r.endpoint.ports.management)) {
        assert.ok(canConnect(policies, PROMETHEUS, r.endpoint, "management"), `Prometheus → ${r.name}`);
        assert.equal(canConnect(policies, STRANGER, r.endpoint, "management"), false, `stranger → ${r.name}`);
      }
    });
  });
}
