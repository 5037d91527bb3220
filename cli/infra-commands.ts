// `eventfleet infra apply [--dry-run]` and `infra policy`: create or verify resources; print least privilege.
import { Option, type Command } from "commander";
import { loadConfigOrExit } from "../shared/role-process.ts";

interface PolicyCommandOptions {
  awsAccount?: string;
  accountId?: string;
  subscription?: string;
  resourceGroup?: string;
  storageAccount?: string;
  cosmosAccount?: string;
  eventhubsNamespace?: string;
  role?: string;
}

export function registerInfraCommands(program: Command): void {
  const infra = program
    .command("infra")
    .description("cloud resources: create, verify, and the permissions each role needs");

  infra
    .command("apply")
    .description(
      "create or verify the SNS topic, SQS queues + DLQs + subscriptions, blob containers, storage queue, Cosmos database; " +
        "verify the Event Hub. Idempotent: a second run creates nothing.",
    )
    .option("--dry-run", "only say what would be created or updated")
    .option("--aws", "apply the AWS part (default: when AWS_REGION or AWS_ENDPOINT_URL is set)")
    .option("--no-aws", "leave AWS alone")
    .option(
      "--azure",
      "apply the Azure parts (default: when an Event Hubs, Storage or Cosmos DB endpoint is set)",
    )
    .option("--no-azure", "leave Azure alone")
    .option(
      "--env-out <file>",
      "also write the resulting resource variables (queue URLs, topic ARN) as KEY=value lines",
    )
    .action(async (options: { dryRun?: boolean; aws?: boolean; azure?: boolean; envOut?: string }) => {
      const { applyInfra, cloudsToApply, CLOUD_MARKERS, infraEnv, resourceEnv } =
        await import("../shared/topology/infra-apply.ts");
      const { formatApplyResult } = await import("../shared/topology/apply-report.ts");
      const config = loadConfigOrExit(infraEnv);
      const clouds = cloudsToApply(process.env, options);
      if (!clouds.aws && !clouds.azure) {
        process.stderr.write(
          `eventfleet infra apply: no cloud configured: set ${CLOUD_MARKERS.aws.join(" or ")} for AWS, ` +
            `and/or ${CLOUD_MARKERS.azure.join(" or ")} for Azure\n`,
        );
        process.exit(2);
      }
      try {
        const outcome = await applyInfra(config, {
          dryRun: options.dryRun ?? false,
          aws: clouds.aws,
          azure: clouds.azure,
          report: (result) => process.stdout.write(`${formatApplyResult(result)}\n`),
        });
        if (options.envOut && !options.dryRun) {
          const { writeFile } = await import("node:fs/promises");
          const lines = Object.entries(resourceEnv(outcome)).map(([k, v]) => `${k}=${v}`);
          await writeFile(options.envOut, `${lines.join("\n")}\n`);
        }
      } catch (error) {
        process.stderr.write(`eventfleet infra apply failed: ${(error as Error).message}\n`);
        process.exit(1);
      }
    });

  infra
    .command("policy")
    .description(
      "print the least-privilege AWS IAM policy (JSON) and Azure role assignments of every role; the flags fill in " +
        "the account, subscription and resource names (Azure ones default to those in the endpoint variables)",
    )
    .option("--aws-account <id>", "AWS account id in the ARNs")
    .addOption(new Option("--account-id <id>", "old name of --aws-account").hideHelp())
    .option("--subscription <id>", "Azure subscription id in the scopes")
    .option("--resource-group <name>", "Azure resource group of the storage, Cosmos and Event Hubs accounts")
    .option("--storage-account <name>", "storage account name (default: from STORAGE_ACCOUNT_URL)")
    .option("--cosmos-account <name>", "Cosmos DB account name (default: from COSMOS_ENDPOINT)")
    .option("--eventhubs-namespace <name>", "Event Hubs namespace name (default: from EVENTHUB_NAMESPACE)")
    .option("--role <name>", "only this role (substring match)")
    .action(async (options: PolicyCommandOptions) => {
      const { infraEnv, topologyOf } = await import("../shared/topology/infra-apply.ts");
      const { azureNamesFromEndpoints, placeholdersLeft, rolePolicies } =
        await import("../shared/topology/infra-policy.ts");
      const config = loadConfigOrExit(infraEnv);
      const fromEndpoints = azureNamesFromEndpoints(config);
      const policies = rolePolicies(topologyOf(config), {
        region: config.AWS_REGION,
        names: {
          awsAccount: options.awsAccount ?? options.accountId,
          subscription: options.subscription,
          resourceGroup: options.resourceGroup,
          storageAccount: options.storageAccount ?? fromEndpoints.storageAccount,
          cosmosAccount: options.cosmosAccount ?? fromEndpoints.cosmosAccount,
          eventHubsNamespace: options.eventhubsNamespace ?? fromEndpoints.eventHubsNamespace,
        },
      }).filter((p) => !options.role || p.role.includes(options.role));
      process.stdout.write(`${JSON.stringify(policies, null, 2)}\n`);
      const left = placeholdersLeft(policies);
      if (left.length > 0) {
        process.stderr.write(
          `infra policy: still placeholders: ${left.map((p) => `${p.text} (set ${p.flag})`).join(", ")}\n`,
        );
      }
    });
}
