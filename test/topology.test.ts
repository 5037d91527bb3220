// The topology against the SNS/SQS emulator: filter policies route every event type where ARCHITECTURE.md §2 says,
// DLQs catch what is received maxReceiveCount times, and `infra apply` is idempotent.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PublishCommand } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createSnsClient, createSqsClient } from "../shared/aws-clients.ts";
import { ORDER_EVENT_TYPES } from "../shared/events/order-events.ts";
import { FILTERS, SQS_WORKERS } from "../shared/topology/topology.ts";
import { ROOT, createTestEnv, createTestEnvWithOutcome, getStack } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const awsConfig = (env: Record<string, string>) => ({
  AWS_REGION: env.AWS_REGION!,
  AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL,
});

async function drain(sqs: SQSClient, url: string, waitSeconds: number): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }),
    );
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((m) => m.Body!));
  }
}

describe("SNS filter policies (ARCHITECTURE.md §2)", () => {
  for (const type of ORDER_EVENT_TYPES) {
    const expected = SQS_WORKERS.filter((w) => FILTERS[w].includes(type));
    test(`type=${type} reaches ${expected.join(" and ")} and no other queue`, async () => {
      const env = await createTestEnv();
      const sns = createSnsClient(awsConfig(env));
      const sqs = createSqsClient(awsConfig(env));
      const body = JSON.stringify({ probe: type });
      await sns.send(
        new PublishCommand({
          TopicArn: env.ORDERS_TOPIC_ARN,
          Message: body,
          MessageAttributes: { type: { DataType: "String", StringValue: type } },
        }),
      );
      for (const worker of SQS_WORKERS) {
        const url = env[`${worker.toUpperCase()}_QUEUE_URL`]!;
        if (expected.includes(worker)) {
          // Raw message delivery: the SQS body is exactly what was published, not an SNS envelope.
          const bodies = await waitFor(
            async () => {
              const got = await drain(sqs, url, 1);
              return got.length > 0 ? got : undefined;
            },
            { description: `${type} on ${worker}` },
          );
          assert.deepEqual(bodies, [body]);
        } else {
          assert.deepEqual(await drain(sqs, url, 1), [], `${type} must not reach ${worker}`);
        }
      }
      sns.destroy();
      sqs.destroy();
    });
  }
});

describe("dead-letter queues", () => {
  test("a message received maxReceiveCount times without deletion lands in its DLQ", async () => {
    const env = await createTestEnv({ maxReceiveCount: 2, visibilityTimeoutSeconds: 0 });
    const sns = createSnsClient(awsConfig(env));
    const sqs = createSqsClient(awsConfig(env));
    await sns.send(
      new PublishCommand({
        TopicArn: env.ORDERS_TOPIC_ARN,
        Message: "poison",
        MessageAttributes: { type: { DataType: "String", StringValue: "inventory.reserved" } },
      }),
    );
    // Receive without deleting until SQS moves it on (visibility 0 makes it visible again at once).
    let receives = 0;
    const moved = await waitFor(
      async () => {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: env.SHIPMENT_QUEUE_URL, WaitTimeSeconds: 1 }),
        );
        receives += Messages.length;
        const dead = await drain(sqs, env.SHIPMENT_DLQ_URL!, 0);
        return dead.length > 0 ? dead : undefined;
      },
      { description: "the message in the shipment DLQ", timeoutMs: 30_000 },
    );
    assert.deepEqual(moved, ["poison"]);
    assert.equal(receives, 2, "received exactly maxReceiveCount times before the move");
    sns.destroy();
    sqs.destroy();
  });
});

describe("infra apply", () => {
  test("a second run creates nothing and reports every resource as existing", async () => {
    const first = await createTestEnvWithOutcome({ azure: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...first.env,
      COSMOS_DATABASE: first.outcome.topology.cosmos.database,
    };
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(ROOT, "bin/eventfleet.js"), "infra", "apply", ...args], {
        env,
        encoding: "utf8",
      });
    const second = run(["--no-azure"]);
    assert.equal(second.status, 0, second.stderr);
    const again = run([]);
    assert.equal(again.status, 0, again.stderr);
    const lines = again.stdout.trim().split("\n");
    const actions = lines.map((l) => l.slice(0, 12).trim());
    assert.ok(lines.length >= 16, again.stdout);
    assert.deepEqual(
      [...new Set(actions)].sort(),
      env.EVENTHUB_CONNECTION_STRING ? ["exists", "verified"] : ["exists", "skipped"],
      again.stdout,
    );
    const dry = run(["--dry-run"]);
    assert.doesNotMatch(dry.stdout, /would (create|update)/);
  });

  test("--dry-run on a new environment says what would be created and creates nothing", async () => {
    const { env } = await createTestEnvWithOutcome({ aws: false });
    const fresh = { ...process.env, ...env, EVENTFLEET_ENV: `${env.EVENTFLEET_ENV}x` };
    const args = [join(ROOT, "bin/eventfleet.js"), "infra", "apply", "--dry-run", "--no-azure"];
    const dry = spawnSync(process.execPath, args, { env: fresh, encoding: "utf8" });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /would create sns topic +\S+-orders/);
    assert.equal(dry.stdout.match(/would create sqs queue/g)?.length, 6);
    const again = spawnSync(process.execPath, args, { env: fresh, encoding: "utf8" });
    assert.equal(again.stdout, dry.stdout, "a dry run changed nothing");
  });

  test("a drifted queue attribute is reported as updated and put back", async () => {
    const { env } = await createTestEnvWithOutcome();
    const sqs = createSqsClient(awsConfig(env));
    const { SetQueueAttributesCommand } = await import("@aws-sdk/client-sqs");
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: env.INVENTORY_QUEUE_URL,
        Attributes: { VisibilityTimeout: "7" },
      }),
    );
    const run = spawnSync(
      process.execPath,
      [join(ROOT, "bin/eventfleet.js"), "infra", "apply", "--no-azure"],
      {
        env: { ...process.env, ...env },
        encoding: "utf8",
      },
    );
    assert.match(run.stdout, /^updated +sqs queue +\S+-inventory \(VisibilityTimeout\)$/m);
    sqs.destroy();
  });

  test("an Azure-only environment (the AKS guide) applies Azure alone and never asks for AWS credentials", async () => {
    const { env: stack } = await getStack();
    const azureOnly: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      EVENTFLEET_ENV: `az${Date.now().toString(36)}`,
      STORAGE_CONNECTION_STRING: stack.STORAGE_CONNECTION_STRING,
      COSMOS_ENDPOINT: stack.COSMOS_ENDPOINT,
      COSMOS_KEY: stack.COSMOS_KEY,
      // No AWS anything: no region, no endpoint, no credentials, no instance metadata to fall back on.
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
      AWS_CONFIG_FILE: "/nonexistent",
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const run = spawnSync(process.execPath, [join(ROOT, "bin/eventfleet.js"), "infra", "apply"], {
      env: azureOnly,
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^skipped +aws .*AWS not configured: set AWS_REGION/m);
    assert.match(run.stdout, /^created +blob container +az\S+-checkpoints$/m);
    assert.doesNotMatch(run.stdout + run.stderr, /credentials/i);
  });

  test("an AWS-only environment (the EKS guide) applies AWS alone", async () => {
    const { env: stack } = await getStack();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      EVENTFLEET_ENV: `aw${Date.now().toString(36)}`,
      AWS_REGION: stack.AWS_REGION,
      AWS_ENDPOINT_URL: stack.AWS_ENDPOINT_URL,
    };
    const run = spawnSync(
      process.execPath,
      [join(ROOT, "bin/eventfleet.js"), "infra", "apply", "--dry-run"],
      {
        env,
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /would create sns topic/);
    assert.doesNotMatch(run.stdout, /blob container|cosmos|event hub/);
  });

  test("no cloud configured is a usage error naming what to set", () => {
    const run = spawnSync(process.execPath, [join(ROOT, "bin/eventfleet.js"), "infra", "apply"], {
      env: { PATH: process.env.PATH },
      encoding: "utf8",
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /no cloud configured: set AWS_REGION .* for AWS, and\/or EVENTHUB_NAMESPACE/);
  });

  test("AWS_ENDPOINT_URL=not-a-url exits 2 with one line naming the variable", () => {
    const run = spawnSync(process.execPath, [join(ROOT, "bin/eventfleet.js"), "infra", "apply"], {
      env: { ...process.env, AWS_ENDPOINT_URL: "not-a-url" },
      encoding: "utf8",
    });
    assert.equal(run.status, 2);
    assert.equal(run.stderr.trim().split("\n").length, 1);
    assert.match(run.stderr, /AWS_ENDPOINT_URL: got "not-a-url", expected an http\(s\) URL/);
  });
});
