// Follows the deploy guides' cluster commands in order against a simulated cluster, then every runbook command
// against what the guides installed. The entry point is run.ts (also live); the tests call these functions.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/chart.ts";
import { clusterCommands, inlineClusterCommands, readGuide, type GuideCommand } from "./extract.ts";
import { GuideRunner } from "./interpret.ts";
import { SimulatedCluster } from "./simulated-cluster.ts";

export const GUIDES = ["docs/deploy-eks.md", "docs/deploy-aks.md"] as const;
export const RUNBOOK_DIR = "docs/runbooks";

/** What the guides and runbooks leave to the reader, as the reader of the guide would set it. */
export const READER_VARS: Record<string, string> = {
  NS: "eventfleet",
  REL: "eventfleet",
  SEL: "app.kubernetes.io/instance=eventfleet",
};

/** Follows one guide from an empty cluster; returns the cluster it leaves, or throws a GuideStepError. */
export async function followGuide(
  guide: string,
  commands: GuideCommand[] = clusterCommands(readGuide(join(ROOT, guide))),
): Promise<GuideRunner> {
  const runner = new GuideRunner(new SimulatedCluster(), READER_VARS);
  await runner.run(commands, guide);
  return runner;
}

/** Placeholders runbooks use for "the one you are looking at", and what stands for them on each cluster. */
function instantiate(text: string, runner: GuideRunner): string[] {
  const ns = READER_VARS.NS!;
  const workers = runner.cluster
    .find("Deployment", ns)
    .map((d) => d.metadata.labels?.["app.kubernetes.io/component"] ?? "")
    .filter((c) => ["inventory", "shipment", "notification", "device-ingest"].includes(c));
  const pod = runner.cluster.pods(ns)[0]?.metadata.name ?? "none";
  let variants = [text.replaceAll("<pod>", pod)];
  if (text.includes("<worker>")) variants = workers.map((w) => variants[0]!.replaceAll("<worker>", w));
  return variants;
}

export interface RunbookResult {
  file: string;
  line: number;
  command: string;
  /** Why it failed on every cluster the guides install; empty when it worked on one of them. */
  failures: string[];
}

/**
 * Every kubectl/helm command of the runbooks, run (in page order, per page) on each cluster a guide leaves;
 * a command must work on at least one (a device-ingest command needs the AKS one).
 */
export async function checkRunbooks(): Promise<RunbookResult[]> {
  const results: RunbookResult[] = [];
  const files = readdirSync(join(ROOT, RUNBOOK_DIR)).filter((f) => f.endsWith(".md"));
  for (const file of files) {
    const commands = inlineClusterCommands(readGuide(join(ROOT, RUNBOOK_DIR, file)));
    // Each page starts from freshly installed clusters: its own commands (scale, exec) build on each other.
    const clusters = await Promise.all(GUIDES.map((g) => followGuide(g)));
    for (const c of commands) {
      const failures: string[] = [];
      let worked = false;
      for (const runner of clusters) {
        for (const variant of instantiate(c.text, runner)) {
          try {
            await runner.step(variant);
            worked = true;
          } catch (error) {
            failures.push(`${variant}: ${(error as Error).message}`);
          }
        }
      }
      results.push({ file, line: c.line, command: c.text, failures: worked ? [] : failures });
    }
  }
  return results;
}
