// Bad values are refused before anything reaches a cluster, with a message that names the value and the fix.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CHART_DIR,
  helm,
  helmMissingReason,
  NAMESPACE,
  RELEASE,
  renderError,
  type Profile,
} from "./support/chart.ts";

const skip = helmMissingReason();

interface Case {
  why: string;
  profile: Profile;
  set: string[];
  message: RegExp;
}

const CASES: Case[] = [
  {
    why: "a typo in a values key",
    profile: "aws-only",
    set: ["inventory.keda.minReplicaCont=1"],
    message: /inventory\.keda: Additional property minReplicaCont is not allowed/,
  },
  {
    why: "a string where a number belongs",
    profile: "aws-only",
    set: ["inventory.keda.queueLength=twenty"],
    message: /inventory\.keda\.queueLength: Invalid type\. Expected: integer, given: string/,
  },
  {
    why: "an uppercase Event Hubs namespace (KEDA's blobMetadata checkpoints are case-sensitive)",
    profile: "azure-only",
    set: ["azure.eventHubs.namespace=EfProd"],
    message: /azure\.eventHubs\.namespace: Does not match pattern/,
  },
  {
    why: "an uppercase Event Hub name",
    profile: "azure-only",
    set: ["azure.eventHubs.name=Telemetry"],
    message: /azure\.eventHubs\.name: Does not match pattern/,
  },
  {
    why: "more device-ingest replicas than partitions",
    profile: "azure-only",
    set: ["deviceIngest.keda.maxReplicaCount=9"],
    message:
      /deviceIngest\.keda\.maxReplicaCount \(9\) must not exceed azure\.eventHubs\.partitionCount \(8\)/,
  },
  {
    why: "a grace period that does not cover the shutdown budget",
    profile: "minimal",
    set: ["terminationGracePeriodSeconds=20"],
    message: /terminationGracePeriodSeconds \(20 s\) must be above shutdownTimeoutMs \(25000 ms\)/,
  },
  {
    why: "an unknown pull policy",
    profile: "minimal",
    set: ["image.pullPolicy=Sometimes"],
    message:
      /image\.pullPolicy: image\.pullPolicy must be one of the following: "Always", "IfNotPresent", "Never"/,
  },
  {
    why: "an environment name that cannot prefix resource names",
    profile: "minimal",
    set: ["environment=Prod_1"],
    message: /environment: Does not match pattern/,
  },
  {
    why: "no AWS account",
    profile: "minimal",
    set: ["aws.accountId="],
    message: /aws\.accountId is required when aws\.enabled=true/,
  },
  {
    why: "no Redis URL and no secret",
    profile: "minimal",
    set: ["redis.url="],
    message: /REDIS_URL: set redis\.url, or put REDIS_URL in the Secret named by existingSecret/,
  },
  {
    why: "a Redis Cluster seed without a port",
    profile: "minimal",
    set: ["redis.clusterNodes={redis-0.example.com}"],
    message: /redis\.clusterNodes\.0: Does not match pattern/,
  },
  {
    why: "a cluster whose REDIS_URL names a host that is not a seed",
    profile: "minimal",
    set: ["redis.clusterNodes={redis-0:6379,redis-1:6379}", "redis.url=redis://other:6379"],
    message:
      /redis\.url names other:6379, which is not one of redis\.clusterNodes \(redis-0:6379,redis-1:6379\)/,
  },
  {
    why: "a cluster whose REDIS_URL selects a database",
    profile: "minimal",
    set: ["redis.clusterNodes={redis-0:6379}", "redis.url=redis://redis-0:6379/3"],
    message: /redis\.url selects database 3, but a Redis Cluster has only database 0/,
  },
  {
    why: "slot groups out of range",
    profile: "minimal",
    set: ["redis.slotGroups=0"],
    message: /redis\.slotGroups: Must be greater than or equal to 1/,
  },
  {
    why: "a Redis port range that ends before it starts",
    profile: "aws-only",
    set: [
      "networkPolicy.egress.redisPortRanges[0].port=8599",
      "networkPolicy.egress.redisPortRanges[0].endPort=8500",
    ],
    message: /networkPolicy\.egress\.redisPortRanges: endPort 8500 is below port 8599/,
  },
  {
    why: "no outbox relay at all",
    profile: "minimal",
    set: ["api.relay=false"],
    message: /no outbox relay: set api\.relay=true or relay\.enabled=true/,
  },
  {
    why: "KEDA on SQS without an IRSA role for the worker",
    profile: "aws-only",
    set: ["aws.roleArn="],
    message: /shipment: KEDA scales it with the worker's own IRSA role/,
  },
  {
    why: "Workload Identity without a client id",
    profile: "azure-only",
    set: ["azure.clientId="],
    message: /azure\.clientId \(the managed identity's client id\) is required/,
  },
  {
    why: "a trusted proxy that is neither a hop count nor addresses",
    profile: "minimal",
    set: ["api.trustProxy=everyone"],
    message: /api\.trustProxy: Does not match pattern/,
  },
  {
    why: "a malformed image digest",
    profile: "minimal",
    set: ["image.digest=sha256:abc"],
    message: /image\.digest: Does not match pattern/,
  },
  {
    why: "a KEDA minimum above the maximum (KEDA would take it)",
    profile: "aws-only",
    set: ["inventory.keda.minReplicaCount=5", "inventory.keda.maxReplicaCount=3"],
    message: /inventory\.keda\.minReplicaCount \(5\) must not exceed inventory\.keda\.maxReplicaCount \(3\)/,
  },
  {
    why: "an HPA minimum above the maximum",
    profile: "aws-only",
    set: ["api.autoscaling.minReplicas=4", "api.autoscaling.maxReplicas=2"],
    message: /api\.autoscaling\.minReplicas \(4\) must not exceed api\.autoscaling\.maxReplicas \(2\)/,
  },
  {
    why: "a PodDisruptionBudget that blocks every drain",
    profile: "aws-only",
    set: ["shipment.pdb.maxUnavailable=0"],
    message: /shipment\.pdb\.maxUnavailable/,
  },
  {
    why: "a PodDisruptionBudget of 0%",
    profile: "aws-only",
    set: ["shipment.pdb.maxUnavailable=0%"],
    message: /shipment\.pdb\.maxUnavailable/,
  },
  {
    why: "API keys with nowhere to read their hashes from",
    profile: "minimal",
    set: ["api.auth.apiKeys.secretName="],
    message: /api\.authMode=apikey: set api\.auth\.apiKeys\.secretName/,
  },
  {
    why: "JWT without its issuer settings (the pod would exit 2)",
    profile: "minimal",
    set: ["api.authMode=jwt"],
    message: /api\.authMode=jwt needs api\.auth\.jwt\.jwksUrl/,
  },
  {
    why: "an unauthenticated API behind an Ingress",
    profile: "minimal",
    set: ["api.authMode=none", "api.ingress.enabled=true"],
    message: /api\.ingress\.enabled with api\.authMode=none/,
  },
  {
    why: "an internet-facing ALB without TLS",
    profile: "minimal",
    set: [
      "api.ingress.enabled=true",
      "api.ingress.className=alb",
      "api.ingress.annotations.alb\\.ingress\\.kubernetes\\.io/scheme=internet-facing",
    ],
    message: /an internet-facing ALB needs TLS/,
  },
];

void describe("values rejected with a clear message", { skip }, () => {
  for (const c of CASES) {
    void test(`${c.why}: ${c.set.join(" ")}`, async () => {
      assert.match(await renderError(c.profile, c.set), c.message);
    });
  }

  void test("KEDA enabled on a cluster without the KEDA API says to install KEDA", async () => {
    const args = ["template", RELEASE, CHART_DIR, "-n", NAMESPACE, "-f", `${CHART_DIR}/ci/aws-only.yaml`];
    await assert.rejects(helm(args), (error: { stderr?: string }) => {
      assert.match(error.stderr ?? "", /no keda\.sh\/v1alpha1 ScaledObject API: install KEDA first/);
      return true;
    });
  });
});
