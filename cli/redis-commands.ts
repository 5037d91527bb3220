// `eventfleet redis migrate-keys [--dry-run]`: moves a single Redis from the key layout before slot groups to the
// current one (shared/orders/legacy-layout-migration.ts). Run it with the order roles stopped.
import type { Command } from "commander";

export function registerRedisCommands(program: Command): void {
  const redis = program
    .command("redis")
    .description(
      "Redis maintenance (uses REDIS_URL / REDIS_CLUSTER_NODES, REDIS_SLOT_GROUPS, EVENTFLEET_ENV)",
    );
  redis
    .command("migrate-keys")
    .description(
      "move orders, reservations, shipments and stock of the layout before slot groups (no hash tags) to the current " +
        "one, with the per-SKU holds of reserved orders; stop the api, relay and workers first (the relay drains the " +
        "former outbox stream by itself afterwards)",
    )
    .option("--dry-run", "count what would move, change nothing")
    .action(async (options: { dryRun?: boolean }) => {
      const [
        { ConfigError, parseEnv, processEnv, redisEnv },
        { createRedisClient },
        { resolveRedisTarget },
        migration,
      ] = await Promise.all([
        import("../shared/config.ts"),
        import("../shared/redis-connection.ts"),
        import("../shared/redis-target.ts"),
        import("../shared/orders/legacy-layout-migration.ts"),
      ]);
      let client;
      let env: string;
      try {
        const config = parseEnv({ ...redisEnv, EVENTFLEET_ENV: processEnv.EVENTFLEET_ENV });
        env = config.EVENTFLEET_ENV;
        client = createRedisClient(resolveRedisTarget(config), {
          name: "eventfleet-migrate-keys",
          profile: "worker",
        });
        const report = await migration.migrateLegacyLayout(client, {
          env,
          slotGroups: config.REDIS_SLOT_GROUPS,
          dryRun: options.dryRun ?? false,
        });
        const verb = options.dryRun ? "would move" : "moved";
        process.stdout.write(
          `${verb}: ${report.orders} orders (${report.holds} SKU holds), ${report.orphans} reservations/shipments ` +
            `without an order, ${report.stock} stock hashes (environment ${env})\n`,
        );
        for (const line of report.skipped) process.stdout.write(`skipped ${line}\n`);
      } catch (error) {
        if (error instanceof ConfigError) {
          process.stderr.write(`eventfleet: configuration error: ${error.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw error;
      } finally {
        client?.disconnect();
      }
    });
}
