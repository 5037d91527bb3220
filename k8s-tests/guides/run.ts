// Entry point: follow the deploy guides' cluster commands in order, then check every runbook command.
//   node k8s-tests/guides/run.ts [docs/deploy-eks.md ...]     against a simulated cluster (the chart really rendered)
//   KUBECONFIG=... node k8s-tests/guides/run.ts docs/deploy-aks.md   against a live cluster (see k8s-tests/README.md)
// Live variables: EVENTFLEET_GUIDE_EXTRA_VALUES (comma-separated values files added to the guide's `make deploy`,
// e.g. deploy/local.yaml on the local cluster), EVENTFLEET_GUIDE_SKIP_THIRD_PARTY=1 (KEDA and the Prometheus
// Operator are already installed: skip their `helm repo add` / `helm upgrade --install` steps),
// EVENTFLEET_GUIDE_IMAGE=<repository:tag> (in place of the guide's IMAGE_TAG: its registry is out of reach, e.g. the
// local node's imported image), EVENTFLEET_GUIDE_BEFORE_DEPLOY (a shell command run just before `make deploy`, e.g.
// creating the Secret that deploy/local.yaml names in the namespace the guide created).
// Exit 0 when every step worked; 1 with the failing step (page:line, command, reason) otherwise.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { HELM, ROOT } from "../support/chart.ts";
import { ASSIGNMENT, clusterCommands, readGuide, type GuideCommand } from "./extract.ts";
import { checkRunbooks, followGuide, GUIDES, READER_VARS } from "./follow.ts";

const guides = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [...GUIDES];

/** Live: each command through bash, in order, with the guide's variables; `make deploy` with the extra values. */
function followLive(guide: string, commands: GuideCommand[]): void {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...READER_VARS,
    PATH: `${join(ROOT, ".tools/bin")}:${process.env.PATH}`,
  };
  const extra = (process.env.EVENTFLEET_GUIDE_EXTRA_VALUES ?? "").split(",").filter(Boolean);
  const skipThirdParty = process.env.EVENTFLEET_GUIDE_SKIP_THIRD_PARTY === "1";
  const image = process.env.EVENTFLEET_GUIDE_IMAGE;
  const beforeDeploy = process.env.EVENTFLEET_GUIDE_BEFORE_DEPLOY;
  for (const c of commands) {
    let text = c.text;
    if (ASSIGNMENT.test(text) && !/^[A-Z_]+=\$\((kubectl|helm)/.test(text)) {
      // Cloud CLI outputs (az, aws, openssl) are not reproduced: a visible placeholder stands for them.
      const m = /^(?:export\s+)?([A-Z_][A-Z0-9_]*)=(\$\(.*\))?(.*)$/.exec(text)!;
      env[m[1]!] = m[2] ? `placeholder-${m[1]!.toLowerCase()}` : m[3]!.replace(/^['"]|['"]$/g, "");
      continue;
    }
    if (
      skipThirdParty &&
      /^helm (repo (add|update)|upgrade --install (keda|kube-prometheus-stack))(\s|$)/.test(text)
    ) {
      // The namespace such a step creates is still the guide's: later steps put objects in it (dashboards).
      const ns = /--create-namespace/.test(text) && /(?:-n|--namespace)[ =](\S+)/.exec(text)?.[1];
      if (!ns) continue;
      text = `kubectl create namespace ${ns} --dry-run=client -o yaml | kubectl apply -f -`;
    }
    // A port-forward is for the reader's browser: it runs until interrupted (and, here, Grafana is not installed).
    if (/^kubectl (\S+ )*port-forward /.test(text)) continue;
    const deploy = /^make deploy ENV=(\S+)(?: IMAGE_TAG=(\S+))?/.exec(text);
    if (deploy) {
      const values = [`deploy/${deploy[1]}.yaml`, ...extra].flatMap((f) => ["-f", f]);
      const at = image?.lastIndexOf(":") ?? -1;
      const tag = image
        ? ["--set", `image.repository=${image.slice(0, at)}`, "--set", `image.tag=${image.slice(at + 1)}`]
        : deploy[2]
          ? ["--set", `image.tag=${deploy[2]}`]
          : [];
      text = [
        HELM,
        "upgrade --install eventfleet helm/eventfleet -n eventfleet --create-namespace",
        ...values,
        ...tag,
        "--wait --timeout 10m",
      ].join(" ");
      text += ` && ${HELM} test eventfleet -n eventfleet --timeout 5m`;
      if (beforeDeploy) text = `${beforeDeploy} && ${text}`;
    }
    process.stdout.write(`${guide}:${c.line}: ${text}\n`);
    try {
      execFileSync("bash", ["-c", text], { cwd: ROOT, env, stdio: "inherit" });
    } catch {
      throw new Error(`${guide}:${c.line}: \`${c.text}\` failed on the live cluster`);
    }
  }
}

try {
  if (process.env.KUBECONFIG) {
    for (const g of guides) followLive(g, clusterCommands(readGuide(join(ROOT, g))));
  } else {
    for (const g of guides) {
      await followGuide(g);
      process.stdout.write(`ok   ${g}: every cluster command works, in order\n`);
    }
    const broken = (await checkRunbooks()).filter((r) => r.failures.length > 0);
    for (const r of broken)
      process.stdout.write(`FAIL ${r.file}:${r.line}: ${r.command}\n     ${r.failures.join("\n     ")}\n`);
    if (broken.length > 0) process.exit(1);
    process.stdout.write(`ok   docs/runbooks: every command names objects the guides install\n`);
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
