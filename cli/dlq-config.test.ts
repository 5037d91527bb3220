// `eventfleet dlq` finds each worker's queues under the variables the worker role reads and `infra apply` writes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../shared/config.ts";
import { resourceEnv } from "../shared/topology/infra-apply.ts";
import { buildTopology, SQS_WORKERS } from "../shared/topology/topology.ts";
import { CONFIG_CATALOG } from "./config-catalog.ts";
import { dlqQueueEnv, readDlqConfig } from "./dlq-config.ts";

/** What `infra apply` made for every SQS worker (URLs as fauxqs or SQS answer them). */
function applied() {
  const topology = buildTopology({ env: "dlqtest" });
  const queues = Object.fromEntries(
    SQS_WORKERS.map((w) => [
      w,
      {
        url: `http://127.0.0.1:4566/000000000000/dlqtest-${w}`,
        arn: `arn:aws:sqs:us-east-1:000000000000:dlqtest-${w}`,
        dlqUrl: `http://127.0.0.1:4566/000000000000/dlqtest-${w}-dlq`,
        dlqArn: `arn:aws:sqs:us-east-1:000000000000:dlqtest-${w}-dlq`,
      },
    ]),
  );
  return { topology, aws: { topicArn: "arn:aws:sns:us-east-1:000000000000:dlqtest-orders", queues } };
}

void describe("eventfleet dlq: the queue variables", () => {
  void test("are exactly the queue variables each worker role reads", () => {
    for (const worker of SQS_WORKERS) {
      const role = CONFIG_CATALOG.find((c) => c.role === `worker ${worker}`);
      assert.ok(role, `worker ${worker} in cli/config-catalog.ts`);
      const roleQueueVariables = Object.keys(role.spec).filter((name) => /_(QUEUE|DLQ)_URL$/.test(name));
      assert.deepEqual(Object.keys(dlqQueueEnv([worker])).sort(), roleQueueVariables.sort(), worker);
    }
  });

  void test("find every worker's queues in what infra apply writes", () => {
    const outcome = applied();
    const { queues } = readDlqConfig(SQS_WORKERS, { ...resourceEnv(outcome), AWS_REGION: "us-east-1" });
    for (const { worker, queueUrl, dlqUrl } of queues) {
      assert.equal(queueUrl, outcome.aws.queues[worker]!.url, worker);
      assert.equal(dlqUrl, outcome.aws.queues[worker]!.dlqUrl, worker);
    }
  });

  void test("a missing one is refused by name", () => {
    const env: NodeJS.ProcessEnv = { ...resourceEnv(applied()), AWS_REGION: "us-east-1" };
    const missing = Object.keys(dlqQueueEnv(["shipment"])).find((name) => name.includes("DLQ"))!;
    delete env[missing];
    assert.throws(
      () => readDlqConfig(["shipment"], env),
      (error) =>
        error instanceof ConfigError && error.variable === missing && error.message.includes(missing),
    );
  });
});
