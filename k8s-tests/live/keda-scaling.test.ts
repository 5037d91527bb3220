// Real KEDA scaling the chart's workers from deploy/local.yaml: it reads the SQS emulator (awsEndpoint, keys from the
// Secret) and the Event Hubs emulator + Azurite (connection strings from the Secret) with its own Go SDKs.
// No node: the pods stay Pending, so nothing consumes; KEDA and the HPA still set the Deployments' replicas.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import {
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { parse } from "yaml";
import { applyLocalSecret } from "../../dev/cluster/local-secret.ts";
import { waitFor } from "../../test/support/wait.ts";
import { helmMissingReason } from "../support/chart.ts";
import {
  clients,
  helmLocal,
  KEDA_TEST_NAMESPACE,
  LOCAL_VALUES,
  needsLocalCluster,
  testNamespace,
} from "./live-env.ts";
import { kedaScalerValue, scaledObjectsReady } from "./keda-metrics.ts";
import { eventHubLag, sendEvents, runDeviceIngestUntilCheckpointed } from "./event-hub-lag.ts";

const skip = needsLocalCluster() ?? helmMissingReason();
const RELEASE = "ef";
const values = parse(readFileSync(LOCAL_VALUES, "utf8")) as {
  inventory: { keda: { queueLength: number; maxReplicaCount: number } };
  deviceIngest: { keda: { unprocessedEventThreshold: number } };
  azure: { eventHubs: { partitionCount: number } };
};
let namespace = "";
let cleanup = async () => {};
const { apps, autoscaling, custom } = skip ? ({} as ReturnType<typeof clients>) : clients();

async function replicas(component: string): Promise<number> {
  const list = await apps.listNamespacedDeployment({
    namespace,
    labelSelector: `app.kubernetes.io/component=${component}`,
  });
  assert.equal(list.items.length, 1, `one ${component} Deployment`);
  return list.items[0]!.spec?.replicas ?? 1;
}

/** The HPA KEDA made for a component: what it asks for. */
async function hpaDesired(component: string): Promise<number | undefined> {
  const list = await autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace });
  const hpa = list.items.find((h) => h.spec?.scaleTargetRef.name.endsWith(`-${component}`));
  return hpa?.status?.desiredReplicas;
}

before(async () => {
  if (skip) return;
  [namespace, cleanup] = await testNamespace(clients().core, KEDA_TEST_NAMESPACE, true);
  await applyLocalSecret(process.env.KUBECONFIG!, process.env as Record<string, string>, namespace);
  await helmLocal("install", RELEASE, namespace);
});
after(() => cleanup());

test("KEDA reconciles every ScaledObject of deploy/local.yaml to Ready", { skip }, async () => {
  const ready = await waitFor(
    async () => {
      const list = await scaledObjectsReady(custom, namespace);
      return list.length >= 4 && list.every((s) => s.ready) ? list : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 2000, description: "every ScaledObject Ready=True" },
  ).catch(async (error: Error) => {
    const list = await scaledObjectsReady(custom, namespace);
    throw new Error(`${error.message}: ${list.map((s) => `${s.name}: ${s.ready} ${s.message}`).join("; ")}`);
  });
  assert.deepEqual(ready.map((s) => s.name.replace(/^.*-eventfleet-|^ef-/, "")).sort(), [
    "device-ingest",
    "inventory",
    "notification",
    "shipment",
  ]);
});

test(
  "SQS: idle workers sit at 0; N messages → KEDA activates, the HPA asks for ceil(N / queueLength); drained → 0",
  { skip },
  async () => {
    const { queueLength, maxReplicaCount } = values.inventory.keda;
    const n = queueLength * 3 + 2;
    const expected = Math.min(Math.ceil(n / queueLength), maxReplicaCount);
    assert.ok(
      expected > 1 && expected < maxReplicaCount,
      "N is chosen so the answer is neither 1 nor the maximum",
    );
    const sqs = new SQSClient({
      endpoint: process.env.AWS_ENDPOINT_URL,
      region: process.env.AWS_REGION ?? "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const queueUrl = process.env.INVENTORY_QUEUE_URL!;
    const depth = async () =>
      Number(
        (
          await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: queueUrl,
              AttributeNames: ["ApproximateNumberOfMessages"],
            }),
          )
        ).Attributes?.ApproximateNumberOfMessages,
      );
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    for (const component of ["inventory", "shipment", "notification"]) {
      await waitFor(async () => (await replicas(component)) === 0, {
        timeoutMs: 120_000,
        intervalMs: 2000,
        description: `${component} at 0 replicas with an empty queue`,
      });
    }
    for (let sent = 0; sent < n; sent += 10) {
      const entries = Array.from({ length: Math.min(10, n - sent) }, (_, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify({ liveTest: sent + i }),
      }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    }
    assert.equal(await depth(), n);
    const seen = await waitFor(
      async () => {
        const [r, d] = [await replicas("inventory"), await hpaDesired("inventory")];
        return r === expected && d === expected ? { r, d } : undefined;
      },
      {
        timeoutMs: 180_000,
        intervalMs: 2000,
        description: `inventory scaled to ceil(${n}/${queueLength}) = ${expected}`,
      },
    ).catch(async (error: Error) => {
      throw new Error(
        `${error.message} (now: replicas ${await replicas("inventory")}, HPA desired ${await hpaDesired("inventory")})`,
      );
    });
    assert.deepEqual(seen, { r: expected, d: expected });
    assert.equal(await replicas("shipment"), 0, "another worker's queue is empty: it stays at 0");
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    await waitFor(async () => (await replicas("inventory")) === 0, {
      timeoutMs: 180_000,
      intervalMs: 2000,
      description: "inventory back at 0 replicas after the queue drained",
    });
  },
);

test(
  "device-ingest: KEDA's lag (keda_scaler_metrics_value) equals the lag from the hub and our checkpoints, and falls once the worker checkpoints",
  { skip },
  async () => {
    const metricsUrl = process.env.KEDA_OPERATOR_METRICS_URL!;
    const scaledObject = (await scaledObjectsReady(custom, namespace)).find((s) =>
      s.name.endsWith("device-ingest"),
    )!.name;
    const { unprocessedEventThreshold } = values.deviceIngest.keda;
    const { partitionCount } = values.azure.eventHubs;
    const m = unprocessedEventThreshold * 2 + 3;
    assert.ok(m < unprocessedEventThreshold * partitionCount, "below KEDA's cap of threshold × partitions");
    const before = await eventHubLag();
    await sendEvents(m);
    const lag = await eventHubLag();
    assert.equal(lag.total, before.total + m, `the hub holds ${m} more unprocessed events`);
    const agreed = await waitFor(
      async () => {
        const [keda, ours] = [
          await kedaScalerValue(metricsUrl, namespace, scaledObject),
          await eventHubLag(),
        ];
        return keda === ours.total && keda > 0 ? keda : undefined;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 2000,
        description: "KEDA's lag equal to the lag from the hub and checkpoints",
      },
    ).catch(async (error: Error) => {
      throw new Error(
        `${error.message} (KEDA ${await kedaScalerValue(metricsUrl, namespace, scaledObject)}, ours ${JSON.stringify(await eventHubLag())})`,
      );
    });
    const expected = Math.min(Math.ceil(agreed / unprocessedEventThreshold), partitionCount);
    await waitFor(async () => (await replicas("device-ingest")) === expected, {
      timeoutMs: 120_000,
      intervalMs: 2000,
      description: `device-ingest scaled to ceil(${agreed}/${unprocessedEventThreshold}) = ${expected}`,
    });

    await runDeviceIngestUntilCheckpointed();
    const after = await eventHubLag();
    assert.equal(after.total, 0, `the worker checkpointed every event: ${JSON.stringify(after)}`);
    await waitFor(async () => (await kedaScalerValue(metricsUrl, namespace, scaledObject)) === 0, {
      timeoutMs: 120_000,
      intervalMs: 2000,
      description: "KEDA's lag at 0 once the worker checkpointed",
    }).catch(async (error: Error) => {
      throw new Error(
        `${error.message} (KEDA still reports ${await kedaScalerValue(metricsUrl, namespace, scaledObject)})`,
      );
    });
    await waitFor(async () => (await replicas("device-ingest")) === 0, {
      timeoutMs: 120_000,
      intervalMs: 2000,
      description: "device-ingest scaled in to 0",
    });
  },
);
