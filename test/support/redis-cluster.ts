// A real Redis Cluster for tests (3 masters + 3 replicas by default), each node a redis-server of this run in its own
// temp dir, joined by `redis-cli --cluster create`; failover (a killed master or CLUSTER FAILOVER), restart,
// resharding of slots (`redis-cli --cluster reshard`) and a shard added (a scale-out) while clients run, each waiting
// for the cluster to be healthy.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { makeCa, makeLeaf, type KeyPair } from "../../dev/cluster/pki.ts";
import { choosePort } from "../../dev/stack/ports.ts";
import { RestartableRedis } from "./restartable-redis.ts";
import { waitFor } from "./wait.ts";

const run = promisify(execFile);
const HOST = "127.0.0.1";
const SLOTS = 16384;

export interface LocalRedisClusterOptions {
  /** Masters, each owning an equal share of the 16384 slots. */
  masters?: number;
  /** Replicas per master (what a killed master fails over to). */
  replicasPerMaster?: number;
  /** AOF on (fsync every second): a restarted node keeps its data (default true). */
  persistence?: boolean;
  /**
   * cluster-node-timeout: how long a master may be unreachable before its replica takes over. Redis' default is
   * 15 s; 3 s keeps a failover test short while a loaded 2-core machine does not fail a slow but live node over.
   */
  nodeTimeoutMs?: number;
  /** requirepass and masterauth of every node (AUTH as ElastiCache / Azure Cache run it); none by default. */
  password?: string;
  /**
   * TLS only, as ElastiCache and Azure Cache run it: clients, the cluster bus and replication over TLS with a
   * certificate for 127.0.0.1 from a CA of this cluster (`caFile`: what a client must trust).
   */
  tls?: boolean;
  /** Deadline of every wait for the cluster to become healthy. */
  readyTimeoutMs?: number;
}

export type ClusterRole = "master" | "replica";

/** One node as the cluster sees it (CLUSTER NODES of a live node). */
export interface ClusterNode {
  id: string;
  port: number;
  role: ClusterRole;
  /** The master a replica follows. */
  masterId: string | undefined;
  /** Slot ranges [first, last] a master owns. */
  slots: Array<[number, number]>;
  slotCount: number;
  /** Flagged fail or pfail by the node asked. */
  failing: boolean;
  /** The process, while this run has it running. */
  pid: number | undefined;
}

export interface FailoverResult {
  /** The port of the master that went away (killed) or stepped down (manual). */
  oldMaster: number;
  /** The port of the replica that is master now. */
  promoted: number;
  /** From the kill (or the CLUSTER FAILOVER) until the cluster was healthy with the replica promoted. */
  durationMs: number;
}

export interface ReshardResult {
  /** The slots that moved from `from` to `to`. */
  slots: number[];
  durationMs: number;
}

type NodeRef = ClusterNode | number;
const portOf = (node: NodeRef) => (typeof node === "number" ? node : node.port);

export class LocalRedisCluster {
  readonly #servers = new Map<number, RestartableRedis>();
  readonly #options: Required<Omit<LocalRedisClusterOptions, "password">> & { password?: string };
  /** The CA and server certificate of a TLS cluster. */
  #pki: { dir: string; ca: KeyPair; server: KeyPair } | undefined;
  #stopped = false;
  readonly #onExit = () => {
    // A test that dies without stop() must not leave its redis-servers behind (only our own PIDs).
    for (const server of this.#servers.values())
      if (server.pid !== undefined) process.kill(server.pid, "SIGKILL");
  };

  private constructor(options: LocalRedisClusterOptions) {
    this.#options = {
      masters: options.masters ?? 3,
      replicasPerMaster: options.replicasPerMaster ?? 1,
      persistence: options.persistence ?? true,
      nodeTimeoutMs: options.nodeTimeoutMs ?? 3000,
      readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
      password: options.password,
      tls: options.tls ?? false,
    };
    process.once("exit", this.#onExit);
  }

  /** Starts the nodes, creates the cluster and waits until every node says cluster_state:ok and replicas are in sync. */
  static async start(options: LocalRedisClusterOptions = {}): Promise<LocalRedisCluster> {
    const cluster = new LocalRedisCluster(options);
    try {
      await cluster.#create();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** REDIS_CLUSTER_NODES: every node as host:port, comma-separated (any one is enough as a seed). */
  get seeds(): string {
    return this.ports.map((port) => `${HOST}:${port}`).join(",");
  }

  /** Every node's port, in start order. */
  get ports(): number[] {
    return [...this.#servers.keys()];
  }

  get password(): string | undefined {
    return this.#options.password;
  }

  /** The CA certificate (PEM file) a client of a TLS cluster must trust (NODE_EXTRA_CA_CERTS for a role). */
  get caFile(): string | undefined {
    return this.#pki?.ca.cert;
  }

  /**
   * What a role is given: REDIS_CLUSTER_NODES, and REDIS_URL naming a seed with the password and, for TLS,
   * rediss:// (plus NODE_EXTRA_CA_CERTS, so the role trusts this cluster's CA).
   */
  get env(): Record<string, string> {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : "";
    const scheme = this.#pki ? "rediss" : "redis";
    return {
      REDIS_CLUSTER_NODES: this.seeds,
      REDIS_URL: `${scheme}://${auth}${this.seeds.split(",")[0]}`,
      ...(this.#pki ? { NODE_EXTRA_CA_CERTS: this.#pki.ca.cert } : {}),
    };
  }

  async #create(): Promise<void> {
    const { masters, replicasPerMaster, tls } = this.#options;
    const count = masters * (1 + replicasPerMaster);
    if (tls) {
      const dir = mkdtempSync(join(tmpdir(), "eventfleet-redis-cluster-pki-"));
      const ca = await makeCa(dir, "ca");
      const server = await makeLeaf(dir, {
        name: "redis",
        subject: "/CN=redis",
        ca,
        sans: ["IP:127.0.0.1", "DNS:localhost"],
      });
      this.#pki = { dir, ca, server };
    }
    if (masters < 3)
      throw new Error(`a Redis Cluster needs at least 3 masters (redis-cli refuses fewer), got ${masters}`);
    for (let i = 0; i < count; i++) await this.#addServer();
    await Promise.all([...this.#servers.values()].map((server) => server.start()));
    await this.#redisCli([
      "--cluster",
      "create",
      ...this.ports.map((port) => `${HOST}:${port}`),
      "--cluster-replicas",
      String(replicasPerMaster),
      "--cluster-yes",
    ]);
    await this.waitHealthy();
  }

  /** A node of this cluster (not started yet), with its cluster arguments, on free ports. */
  async #addServer(): Promise<RestartableRedis> {
    const { persistence, nodeTimeoutMs, password } = this.#options;
    // The cluster bus gets its own free port (cluster-port), not port + 10000, which may be taken or above 65535.
    const port = await choosePort(undefined);
    const busPort = await choosePort(undefined);
    const server = new RestartableRedis({
      name: `redis-cluster-node-${this.#servers.size}`,
      port,
      persistence,
      appendfsync: "everysec",
      extraArgs: [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-port",
        String(busPort),
        "--cluster-node-timeout",
        String(nodeTimeoutMs),
        // A replica takes over however long it lost sight of its master (a loaded machine delays heartbeats).
        "--cluster-replica-validity-factor",
        "0",
        ...(password ? ["--requirepass", password, "--masterauth", password] : []),
        ...(this.#pki ? this.#tlsArgs(port) : []),
      ],
    });
    this.#servers.set(port, server);
    return server;
  }

  /** The cluster as a live node sees it. */
  async nodes(): Promise<ClusterNode[]> {
    for (const port of this.#runningPorts()) {
      try {
        return parseClusterNodes(
          await this.#command(port, ["CLUSTER", "NODES"]),
          (p) => this.#servers.get(p)?.pid,
        );
      } catch {
        // that node is going away; ask the next
      }
    }
    throw new Error("no node of the test Redis Cluster answers CLUSTER NODES");
  }

  async masters(): Promise<ClusterNode[]> {
    return (await this.nodes()).filter((n) => n.role === "master" && !n.failing && n.slotCount > 0);
  }

  /** The master that owns the slot of `key` (CLUSTER KEYSLOT). */
  async masterOfKey(key: string): Promise<ClusterNode> {
    const slot = Number(await this.#command(this.#runningPorts()[0]!, ["CLUSTER", "KEYSLOT", key]));
    const owner = (await this.masters()).find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!owner) throw new Error(`no master owns slot ${slot} (of key ${key})`);
    return owner;
  }

  /**
   * Fails a master over to its replica. "kill": SIGKILL of the master's process (a node lost; it stays down until
   * `restart`), the replica is promoted by the cluster after the node timeout. "manual": CLUSTER FAILOVER on the
   * replica (a planned switch without data loss; the old master becomes its replica).
   */
  async failover(master: NodeRef, mode: "kill" | "manual"): Promise<FailoverResult> {
    const oldPort = portOf(master);
    const nodes = await this.nodes();
    const old = nodes.find((n) => n.port === oldPort);
    if (!old || old.role !== "master") throw new Error(`node ${oldPort} is not a master`);
    const replica = nodes.find((n) => n.masterId === old.id && !n.failing);
    if (!replica)
      throw new Error(
        `master ${oldPort} has no live replica to fail over to (start the cluster with replicasPerMaster ≥ 1)`,
      );
    const started = performance.now();
    if (mode === "kill") {
      await this.#servers.get(oldPort)!.kill();
      // Any of its replicas may win the election.
      const candidates = nodes.filter((n) => n.masterId === old.id && !n.failing).map((n) => n.port);
      const promoted = await waitFor(
        async () => {
          for (const port of candidates) if ((await this.#role(port)) === "master") return port;
          return undefined;
        },
        {
          timeoutMs: this.#options.readyTimeoutMs,
          intervalMs: 100,
          description: `a replica of killed master ${oldPort} to be promoted`,
        },
      );
      await this.waitHealthy();
      return { oldMaster: oldPort, promoted, durationMs: performance.now() - started };
    }
    await this.#command(replica.port, ["CLUSTER", "FAILOVER"]);
    await waitFor(
      async () => (await this.#role(replica.port)) === "master" && (await this.#role(oldPort)) === "replica",
      {
        timeoutMs: this.#options.readyTimeoutMs,
        intervalMs: 100,
        description: `CLUSTER FAILOVER of ${oldPort} to ${replica.port}`,
      },
    );
    await this.waitHealthy();
    return { oldMaster: oldPort, promoted: replica.port, durationMs: performance.now() - started };
  }

  /**
   * Restarts a node on its port and data dir (its nodes.conf keeps its identity): "term" a clean shutdown, "crash"
   * SIGKILL first; a node that is down (killed by `failover`) is just started. Waits until it rejoined and, as a
   * replica, is in sync.
   */
  async restart(node: NodeRef, how: "term" | "crash" = "term"): Promise<void> {
    const server = this.#server(portOf(node));
    if (!server.running) await server.start();
    else if (how === "crash") await server.crash();
    else await server.restart();
    await this.waitHealthy();
  }

  /** Moves `slotCount` slots (with their keys, MIGRATE) from one master to another while clients keep running. */
  async reshard(from: NodeRef, to: NodeRef, slotCount: number): Promise<ReshardResult> {
    const nodes = await this.nodes();
    const source = nodes.find((n) => n.port === portOf(from) && n.role === "master");
    const target = nodes.find((n) => n.port === portOf(to) && n.role === "master");
    if (!source || !target) throw new Error(`reshard needs two masters, got ${portOf(from)} → ${portOf(to)}`);
    if (source.slotCount < slotCount)
      throw new Error(
        `master ${source.port} owns ${source.slotCount} slots, fewer than the ${slotCount} to move`,
      );
    const owned = (n: ClusterNode) => new Set(n.slots.flatMap(([a, b]) => range(a, b)));
    const before = owned(source);
    const started = performance.now();
    await this.#redisCli([
      "--cluster",
      "reshard",
      `${HOST}:${source.port}`,
      "--cluster-from",
      source.id,
      "--cluster-to",
      target.id,
      "--cluster-slots",
      String(slotCount),
      "--cluster-pipeline",
      "100",
      "--cluster-yes",
    ]);
    await this.waitHealthy();
    const after = (await this.nodes()).find((n) => n.id === target.id)!;
    const slots = [...owned(after)].filter((slot) => before.has(slot)).sort((a, b) => a - b);
    return { slots, durationMs: performance.now() - started };
  }

  /**
   * Adds a master without slots and its replicas (`redis-cli --cluster add-node`), as a scale-out does before slots
   * move there (ElastiCache adding shards, Azure Cache scaling out); waits until the cluster is healthy with them.
   * Returns the new master.
   */
  async addShard(): Promise<ClusterNode> {
    const seed = `${HOST}:${this.#runningPorts()[0]}`;
    const master = await this.#addServer();
    await master.start();
    await this.#redisCli(["--cluster", "add-node", `${HOST}:${master.port}`, seed]);
    await this.waitHealthy();
    const id = (await this.nodes()).find((n) => n.port === master.port)!.id;
    for (let i = 0; i < this.#options.replicasPerMaster; i++) {
      const replica = await this.#addServer();
      await replica.start();
      await this.#redisCli([
        "--cluster",
        "add-node",
        `${HOST}:${replica.port}`,
        seed,
        "--cluster-slave",
        "--cluster-master-id",
        id,
      ]);
    }
    await this.waitHealthy();
    return (await this.nodes()).find((n) => n.port === master.port)!;
  }

  /**
   * Waits until every running node says cluster_state:ok with all slots served, knows every node, sees the same
   * slot owners as the others with no slot migrating, and every running replica's link to its master is up and
   * its sync done.
   */
  async waitHealthy(): Promise<void> {
    await waitFor(
      async () => {
        // Thrown, so that a timeout names the last problem seen.
        const problem = await this.#healthProblem();
        if (problem) throw new Error(problem);
        return true;
      },
      {
        timeoutMs: this.#options.readyTimeoutMs,
        intervalMs: 100,
        description: "the test Redis Cluster to be healthy",
      },
    );
  }

  async #healthProblem(): Promise<string | undefined> {
    let agreed: string | undefined;
    for (const port of this.#runningPorts()) {
      const info = parseInfo(await this.#command(port, ["CLUSTER", "INFO"]));
      if (info.cluster_state !== "ok") return `${port}: cluster_state ${info.cluster_state}`;
      if (info.cluster_slots_ok !== String(SLOTS))
        return `${port}: cluster_slots_ok ${info.cluster_slots_ok}`;
      if (info.cluster_known_nodes !== String(this.#servers.size))
        return `${port}: knows ${info.cluster_known_nodes} of ${this.#servers.size} nodes`;
      const raw = await this.#command(port, ["CLUSTER", "NODES"]);
      if (raw.includes("->-") || raw.includes("-<-")) return `${port}: a slot is migrating or importing`;
      const view = parseClusterNodes(raw, () => undefined);
      for (const node of view) {
        const running = this.#servers.get(node.port)?.running ?? false;
        if (running && node.failing) return `${port} sees ${node.port} failing`;
        if (!running && node.role === "master" && node.slotCount > 0)
          return `${port} still gives slots to ${node.port}, which is down`;
      }
      // Roles, masters followed and slot owners, as this node sees them: every node must see the same.
      const layout = view
        .map(
          (n) => `${n.id}:${n.role}:${n.masterId ?? "-"}:${n.slots.map(([a, b]) => `${a}-${b}`).join(",")}`,
        )
        .sort()
        .join(" ");
      if (agreed !== undefined && layout !== agreed) return `${port} disagrees on roles or slot owners`;
      agreed = layout;
      const me = view.find((n) => n.port === port);
      if (me?.role === "replica") {
        const replication = parseInfo(await this.#command(port, ["INFO", "replication"]));
        if (replication.master_link_status !== "up")
          return `replica ${port}: master link ${replication.master_link_status}`;
        if (replication.master_sync_in_progress !== "0") return `replica ${port}: sync in progress`;
      }
    }
    return undefined;
  }

  /**
   * Waits until every live replica has acknowledged what its master had written when this was called (replication
   * offsets): a test's writes up to here survive a failover. Replication is asynchronous; without this (or WAIT in
   * the writer), a master killed right after acknowledging a write may lose it.
   */
  async waitReplicated(): Promise<void> {
    const targets: Array<{ master: number; offset: number }> = [];
    for (const master of await this.masters()) {
      const info = parseInfo(await this.#command(master.port, ["INFO", "replication"]));
      targets.push({ master: master.port, offset: Number(info.master_repl_offset) });
    }
    await waitFor(
      async () => {
        for (const { master, offset } of targets) {
          const info = parseInfo(await this.#command(master, ["INFO", "replication"]));
          const replicas = Object.entries(info).filter(([key]) => /^slave\d+$/.test(key));
          if (replicas.length === 0) throw new Error(`master ${master} has no replica connected`);
          for (const [, value] of replicas) {
            const acked = Number(/offset=(\d+)/.exec(value)?.[1] ?? -1);
            if (acked < offset) throw new Error(`a replica of ${master} is at offset ${acked} < ${offset}`);
          }
        }
        return true;
      },
      {
        timeoutMs: this.#options.readyTimeoutMs,
        intervalMs: 50,
        description: "replicas to catch up with their masters",
      },
    );
  }

  /** Stops every node of this cluster (SIGKILL by its own PID) and removes their temp dirs. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    process.removeListener("exit", this.#onExit);
    await Promise.all([...this.#servers.values()].map((server) => server.kill()));
    for (const server of this.#servers.values()) server.removeDataDir();
    if (this.#pki) rmSync(this.#pki.dir, { recursive: true, force: true });
  }

  /** The node serves TLS on `port` and nothing in plain text; bus and replication speak TLS too. */
  #tlsArgs(port: number): string[] {
    const pki = this.#pki!;
    return [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--tls-cert-file",
      pki.server.cert,
      "--tls-key-file",
      pki.server.key,
      "--tls-ca-cert-file",
      pki.ca.cert,
      "--tls-auth-clients",
      "no",
      "--tls-cluster",
      "yes",
      "--tls-replication",
      "yes",
    ];
  }

  #runningPorts(): number[] {
    return this.ports.filter((port) => this.#servers.get(port)!.running);
  }

  #server(port: number): RestartableRedis {
    const server = this.#servers.get(port);
    if (!server) throw new Error(`port ${port} is no node of this test Redis Cluster (${this.seeds})`);
    return server;
  }

  async #role(port: number): Promise<ClusterRole | undefined> {
    if (!this.#servers.get(port)?.running) return undefined;
    const replication = parseInfo(await this.#command(port, ["INFO", "replication"]));
    return replication.role === "master" ? "master" : replication.role === "slave" ? "replica" : undefined;
  }

  /** One command on one node, on a connection of its own (no cluster redirects, no retries). */
  async #command(port: number, args: string[]): Promise<string> {
    const redis = new Redis({
      host: HOST,
      port,
      password: this.#options.password,
      ...(this.#pki ? { tls: { ca: readFileSync(this.#pki.ca.cert) } } : {}),
      lazyConnect: true,
      connectTimeout: 5000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    redis.on("error", () => undefined);
    try {
      await redis.connect();
      return String(await redis.call(args[0]!, ...args.slice(1)));
    } finally {
      redis.disconnect();
    }
  }

  async #redisCli(args: string[]): Promise<string> {
    const auth = [
      ...(this.#options.password ? ["-a", this.#options.password, "--no-auth-warning"] : []),
      ...(this.#pki ? ["--tls", "--cacert", this.#pki.ca.cert] : []),
    ];
    try {
      const { stdout } = await run("redis-cli", [...auth, ...args], {
        timeout: 300_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const {
        stdout = "",
        stderr = "",
        message,
      } = error as { stdout?: string; stderr?: string; message: string };
      const tail = `${stdout}\n${stderr}`.trim().split("\n").slice(-8).join("\n");
      throw new Error(
        `redis-cli ${args.slice(0, 2).join(" ")} failed (${message.split("\n")[0]}):\n${tail}`,
        {
          cause: error,
        },
      );
    }
  }
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0 && !line.startsWith("#")) fields[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return fields;
}

/** CLUSTER NODES: `<id> <ip:port@bus[,host]> <flags> <master|-> <ping> <pong> <epoch> <link> <slot or range>...` */
function parseClusterNodes(text: string, pidOf: (port: number) => number | undefined): ClusterNode[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id, address, flagList, master, , , , , ...slotFields] = line.trim().split(" ");
      const flags = flagList!.split(",");
      const port = Number(address!.split("@")[0]!.split(":").pop());
      const slots = slotFields
        .filter((field) => !field.startsWith("["))
        .map((field): [number, number] => {
          const [first, last] = field.split("-").map(Number);
          return [first!, last ?? first!];
        });
      return {
        id: id!,
        port,
        role: flags.includes("master") ? "master" : "replica",
        masterId: master === "-" ? undefined : master,
        slots,
        slotCount: slots.reduce((n, [a, b]) => n + b - a + 1, 0),
        failing: flags.includes("fail") || flags.includes("fail?"),
        pid: pidOf(port),
      } satisfies ClusterNode;
    });
}
