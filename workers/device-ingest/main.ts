// Composition root of `eventfleet worker device-ingest`: config → clients → component, run until SIGTERM.
import { runRole } from "../../shared/role-process.ts";
import { deviceIngestEnv } from "./config.ts";
import { composeDeviceIngest } from "./compose.ts";

export async function main(): Promise<void> {
  await runRole({
    role: "device-ingest",
    env: deviceIngestEnv,
    start({ config, logger, registry, management }) {
      const worker = composeDeviceIngest(config, { logger, registry });
      for (const check of worker.readinessChecks()) management.addCheck(check);
      worker.start();
      return Promise.resolve({ stop: () => worker.stop() });
    },
  });
}
