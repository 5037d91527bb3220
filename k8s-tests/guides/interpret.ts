// Runs a guide's cluster commands, in order, against a SimulatedCluster: kubectl and helm as far as the guides
// and runbooks use them, and `make deploy` as the Makefile spells it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/chart.ts";
import { ASSIGNMENT, shellWords, type GuideCommand } from "./extract.ts";
import { KINDS, type SimulatedCluster } from "./simulated-cluster.ts";

type Labels = Record<string, string>;

export class GuideStepError extends Error {
  readonly where: string;
  readonly command: string;
  constructor(where: string, command: string, reason: string) {
    super(`${where}: \`${command}\` fails: ${reason}`);
    this.where = where;
    this.command = command;
  }
}

/** Options and positional words of a kubectl/helm command line (flags with a value take the next word). */
function options(words: string[], valued: string[]) {
  const flags: Record<string, string[]> = {};
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--") {
      positional.push(...words.slice(i));
      break;
    }
    const eq = /^(--?[A-Za-z-]+)=(.*)$/.exec(w);
    if (eq) (flags[eq[1]!] ??= []).push(eq[2]!);
    else if (w.startsWith("-") && valued.includes(w)) (flags[w] ??= []).push(words[++i] ?? "");
    else if (w.startsWith("-")) (flags[w] ??= []).push("true");
    else positional.push(w);
  }
  return {
    flags,
    positional,
    one: (...names: string[]) => names.map((n) => flags[n]?.[0]).find((v) => v !== undefined),
  };
}

const parseSelector = (s: string | undefined): Labels | undefined =>
  s === undefined
    ? undefined
    : Object.fromEntries(s.split(",").map((kv) => kv.split("=") as [string, string]));

const KUBECTL_VALUED = [
  "-n",
  "--namespace",
  "-l",
  "--selector",
  "-o",
  "--output",
  "--since",
  "--replicas",
  "--timeout",
  "--from-literal",
  "-c",
  "--type",
];
const HELM_VALUED = [
  "-n",
  "--namespace",
  "-f",
  "--values",
  "--set",
  "--set-string",
  "--version",
  "--timeout",
];

export class GuideRunner {
  readonly vars: Record<string, string>;
  readonly cluster: SimulatedCluster;
  constructor(cluster: SimulatedCluster, vars: Record<string, string> = {}) {
    this.cluster = cluster;
    this.vars = { ...vars };
  }

  async run(commands: GuideCommand[], where: string): Promise<void> {
    for (const c of commands) {
      try {
        await this.step(c.text);
      } catch (error) {
        if (error instanceof GuideStepError) throw error;
        throw new GuideStepError(`${where}:${c.line}`, c.text, (error as Error).message);
      }
    }
  }

  async step(text: string): Promise<void> {
    if (ASSIGNMENT.test(text)) return this.assign(text);
    const words = shellWords(text, this.vars).filter(
      (w, i, all) => i > 0 || !/^[A-Z_]+=/.test(w) || all.length === 1,
    );
    if (words[0] === "kubectl") return this.kubectl(words.slice(1));
    if (words[0] === "helm") return this.helm(words.slice(1));
    if (words[0] === "make" && words[1] === "deploy") return this.makeDeploy(words.slice(2));
    throw new Error(`not a cluster command`);
  }

  /** `export A=1 B=2` sets literals; `X=$(kubectl ...)` runs the command; other `$(...)` gives a placeholder. */
  private assign(text: string): void {
    const sub = /^([A-Z_][A-Z0-9_]*)=\$\((.*)\)$/.exec(text);
    if (sub) {
      const [, name, inner] = sub as unknown as [string, string, string];
      if (/^(kubectl|helm)\s/.test(inner)) {
        const cmd = inner.split("|")[0]!.trim();
        this.vars[name] = this.evaluate(cmd);
      } else this.vars[name] = `<${name}>`;
      return;
    }
    for (const word of shellWords(text.replace(/^export\s+/, ""), this.vars)) {
      const [name, ...rest] = word.split("=");
      this.vars[name!] = rest.join("=");
    }
  }

  /** The output a `$(kubectl get ... -o name)` gives: the first matching object as kind/name. */
  private evaluate(cmd: string): string {
    const words = shellWords(cmd, this.vars).slice(1);
    const o = options(words, KUBECTL_VALUED);
    if (o.positional[0] !== "get") throw new Error(`only \`kubectl get\` is evaluated in $(...)`);
    const found = this.select(o.positional[1]!, o);
    if (found.length === 0) throw new Error(`\`${cmd}\` finds nothing`);
    return `${found[0]!.kind.toLowerCase()}/${found[0]!.metadata.name}`;
  }

  private namespaceOf(o: ReturnType<typeof options>): string {
    return o.one("-n", "--namespace") ?? "default";
  }

  /** Objects named by a `kind[,kind]` / `kind/name` / `kind name` / `-l selector` reference; none is an error. */
  private select(ref: string, o: ReturnType<typeof options>, name?: string) {
    const ns = this.namespaceOf(o);
    const selector = parseSelector(o.one("-l", "--selector"));
    const [kindsPart, slashName] = ref.split("/");
    const found = [];
    for (const k of kindsPart!.split(",")) {
      const kind = KINDS[k];
      if (!kind) throw new Error(`the simulation does not know the resource type "${k}"`);
      this.cluster.requireApi(kind.api, k);
      if (kind.kind !== "Namespace" && kind.kind !== "CustomResourceDefinition")
        this.cluster.requireNamespace(ns);
      const wanted = slashName ?? name;
      const objects = kind.kind === "Pod" ? this.cluster.pods(ns) : this.cluster.find(kind.kind, ns);
      const matched = objects.filter(
        (x) =>
          (wanted === undefined || x.metadata.name === wanted) &&
          Object.entries(selector ?? {}).every(([key, v]) => x.metadata.labels?.[key] === v),
      );
      if (wanted && matched.length === 0) throw new Error(`${k} "${wanted}" not found in namespace ${ns}`);
      found.push(...matched);
    }
    if (selector && found.length === 0)
      throw new Error(`no ${kindsPart} matches -l ${o.one("-l", "--selector")} in ${ns}`);
    return found;
  }

  private kubectl(words: string[]): void {
    const o = options(words, KUBECTL_VALUED);
    const [verb, ...rest] = o.positional;
    const ns = this.namespaceOf(o);
    switch (verb) {
      case "create": {
        if (rest[0] === "namespace" || rest[0] === "ns") return this.cluster.createNamespace(rest[1]!);
        if (rest[0] === "secret" && rest[1] === "generic") {
          this.cluster.requireNamespace(ns);
          const data = Object.fromEntries(
            (o.flags["--from-literal"] ?? []).map((kv) => [kv.split("=")[0]!, "x"]),
          );
          if (this.cluster.find("Secret", ns, rest[2]).length)
            throw new Error(`secrets "${rest[2]}" already exists`);
          this.cluster.add({
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: rest[2]!, namespace: ns },
            data,
          });
          return;
        }
        throw new Error(`kubectl create ${rest[0]} is not simulated`);
      }
      case "label": {
        if (rest[0] !== "namespace" && rest[0] !== "ns")
          throw new Error("only namespaces are labelled in the guides");
        this.cluster.requireNamespace(rest[1]!);
        return;
      }
      case "get":
      case "describe":
      case "top":
      case "annotate": {
        const name = rest[1]?.includes("=") ? undefined : rest[1]; // annotate's key=value is not a name
        this.select(verb === "top" ? "pods" : rest[0]!, o, name);
        return;
      }
      case "logs": {
        const target = rest[0];
        if (target?.includes("/")) this.select(target, o);
        else this.select("deploy", o);
        return;
      }
      case "rollout":
      case "scale": {
        const ref = verb === "rollout" ? rest[1]! : rest[0]!;
        const found = this.select(ref, o, verb === "rollout" ? rest[2] : rest[1]);
        const replicas = o.one("--replicas");
        if (verb === "scale" && replicas !== undefined)
          for (const d of found) (d.spec as { replicas?: number }).replicas = Number(replicas);
        return;
      }
      case "port-forward":
        this.select(rest[0]!, o);
        return;
      case "exec": {
        const target = rest[0]!;
        const dash = rest.indexOf("--");
        const inner = dash >= 0 ? rest.slice(dash + 1) : [];
        const [kindName, name] = target.split("/");
        const pods =
          kindName === "deploy" || kindName === "deployment"
            ? this.select(target, o).flatMap((d) => this.cluster.podsOf(d))
            : this.select("pod", o, name);
        if (pods.length === 0) throw new Error(`${target} has no running pod (scaled to zero)`);
        if (inner[0] === "eventfleet") this.cluster.checkEventfleetInPod(pods[0]!, inner.slice(1));
        return;
      }
      default:
        throw new Error(`kubectl ${verb} is not simulated`);
    }
  }

  private async helm(words: string[]): Promise<void> {
    const o = options(words, HELM_VALUED);
    const [verb, ...rest] = o.positional;
    const ns = this.namespaceOf(o);
    if (verb === "repo") {
      if (rest[0] === "add") this.cluster.repos.set(rest[1]!, rest[2]!);
      return;
    }
    if (verb === "upgrade" || verb === "install") {
      const [release, chart] = rest as [string, string];
      if (o.flags["--create-namespace"]) this.cluster.createNamespace(ns, true);
      this.cluster.requireNamespace(ns);
      if (chart.startsWith("helm/") || chart === "./helm/eventfleet") {
        const args: string[] = [];
        for (const f of [...(o.flags["-f"] ?? []), ...(o.flags["--values"] ?? [])]) args.push("-f", f);
        for (const s of o.flags["--set"] ?? []) args.push("--set", s);
        for (const s of o.flags["--set-string"] ?? []) args.push("--set-string", s);
        for (const f of (this.vars.EVENTFLEET_GUIDE_EXTRA_VALUES ?? "").split(",").filter(Boolean))
          args.push("-f", f);
        await this.cluster.installOurs(release, ns, args);
        return;
      }
      const sets = Object.fromEntries(
        (o.flags["--set"] ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
      );
      this.cluster.installThirdParty(release, chart, ns, sets);
      return;
    }
    if (verb === "test") return this.cluster.helmTest(rest[0]!, ns);
    if (verb === "rollback") {
      if (!this.cluster.releases.has(`${ns}/${rest[0]}`)) throw new Error(`release: not found`);
      return;
    }
    throw new Error(`helm ${verb} is not simulated`);
  }

  /** `make deploy ENV=.. IMAGE_TAG=..`, expanded from the Makefile's own defaults and recipe. */
  private async makeDeploy(words: string[]): Promise<void> {
    const makefile = readFileSync(join(ROOT, "Makefile"), "utf8");
    const vars: Record<string, string> = {};
    for (const m of makefile.matchAll(/^([A-Z_]+) \?= (.*)$/gm)) vars[m[1]!] = m[2]!.trim();
    for (const w of words) {
      const [k, ...v] = w.split("=");
      vars[k!] = v.join("=");
    }
    const values = (vars.VALUES ?? "deploy/$(ENV).yaml").replace("$(ENV)", vars.ENV ?? "");
    const release = vars.RELEASE!;
    const namespace = vars.NAMESPACE!;
    const sets = vars.IMAGE_TAG ? ` --set image.tag=${vars.IMAGE_TAG}` : "";
    await this.step(
      `helm upgrade --install ${release} helm/eventfleet --namespace ${namespace} --create-namespace -f ${values}${sets}`,
    );
    await this.step(`helm test ${release} --namespace ${namespace}`);
  }
}
