// Certificates of the local cluster, made with the openssl CLI (Node's crypto cannot issue X.509 certificates):
// a cluster CA, a front-proxy CA for the aggregation layer, the service-account signing key and one leaf per program.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface KeyPair {
  cert: string;
  key: string;
}

export interface ClusterPki {
  dir: string;
  ca: KeyPair;
  frontProxyCa: KeyPair;
  /** Serving certificate of kube-apiserver (127.0.0.1, localhost, kubernetes.default.svc...). */
  apiserver: KeyPair;
  /** Client certificate of the aggregation layer (kube-apiserver → KEDA metrics server), signed by the front-proxy CA. */
  frontProxyClient: KeyPair;
  /** system:masters: what a person, helm and the tests use. */
  admin: KeyPair;
  controllerManager: KeyPair;
  scheduler: KeyPair;
  /** kube-apiserver's client certificate towards a kubelet (logs, exec, port-forward). */
  kubeletClient: KeyPair;
  /** KEDA's metrics gRPC link (operator ↔ metrics server) and the metrics server's serving certificate. */
  keda: KeyPair & { dir: string };
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** A folder holding only ca.crt (KEDA's --ca-dir: it trusts every file in it). */
  caDir: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT")
      throw new Error(
        "openssl is not installed: the local cluster makes its certificates with it (apt-get install openssl)",
        { cause: error },
      );
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`, { cause: error });
  }
}

/** `openssl req -x509`: a new P-256 key and a certificate for it, self-signed or issued by `extra`'s -CA. */
async function issue(pair: KeyPair, subject: string, days: number, extra: string[] = []): Promise<KeyPair> {
  await openssl([
    "req",
    "-x509",
    ...EC,
    "-keyout",
    pair.key,
    "-out",
    pair.cert,
    "-subj",
    subject,
    "-days",
    String(days),
    ...extra,
  ]);
  return pair;
}

export function makeCa(dir: string, name: string): Promise<KeyPair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  return issue(pair, `/CN=eventfleet-local-${name}`, 3650);
}

export interface LeafSpec {
  name: string;
  subject: string;
  ca: KeyPair;
  sans?: string[];
  /** A folder of its own, with the file names KEDA expects (tls.crt, tls.key). */
  dir?: string;
}

export function makeLeaf(dir: string, spec: LeafSpec): Promise<KeyPair> {
  const out = spec.dir ?? dir;
  const pair = {
    cert: join(out, spec.dir ? "tls.crt" : `${spec.name}.crt`),
    key: join(out, spec.dir ? "tls.key" : `${spec.name}.key`),
  };
  const ext = ["-CA", spec.ca.cert, "-CAkey", spec.ca.key];
  ext.push(
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-addext",
    "extendedKeyUsage=serverAuth,clientAuth",
  );
  if (spec.sans) ext.push("-addext", `subjectAltName=${spec.sans.join(",")}`);
  return issue(pair, spec.subject, 365, ext);
}

/** Creates every certificate and key under `dir` (fresh each start: the cluster is disposable). */
export async function createPki(dir: string): Promise<ClusterPki> {
  mkdirSync(dir, { recursive: true });
  const kedaDir = join(dir, "keda");
  mkdirSync(kedaDir, { recursive: true });
  const [ca, frontProxyCa] = await Promise.all([makeCa(dir, "ca"), makeCa(dir, "front-proxy-ca")]);
  const local = ["IP:127.0.0.1", "DNS:localhost"];
  const [apiserver, frontProxyClient, admin, controllerManager, scheduler, keda, kubeletClient] =
    await Promise.all([
      makeLeaf(dir, {
        name: "apiserver",
        subject: "/CN=kube-apiserver",
        ca,
        sans: [
          ...local,
          "IP:10.0.0.1",
          "DNS:kubernetes",
          "DNS:kubernetes.default",
          "DNS:kubernetes.default.svc",
          "DNS:kubernetes.default.svc.cluster.local",
        ],
      }),
      makeLeaf(dir, { name: "front-proxy-client", subject: "/CN=front-proxy-client", ca: frontProxyCa }),
      makeLeaf(dir, { name: "admin", subject: "/CN=eventfleet-admin/O=system:masters", ca }),
      makeLeaf(dir, { name: "controller-manager", subject: "/CN=system:kube-controller-manager", ca }),
      makeLeaf(dir, { name: "scheduler", subject: "/CN=system:kube-scheduler", ca }),
      // KEDA loads ca.crt + tls.crt + tls.key from one folder, for its gRPC link both ways and for serving the API.
      makeLeaf(dir, {
        name: "keda",
        subject: "/CN=keda-metrics-apiserver",
        ca,
        sans: [...local, "DNS:keda-operator.keda.svc", "DNS:keda-metrics-apiserver.keda.svc"],
        dir: kedaDir,
      }),
      makeLeaf(dir, {
        name: "apiserver-kubelet-client",
        subject: "/CN=kube-apiserver-kubelet-client/O=system:masters",
        ca,
      }),
    ]);
  await run("cp", [ca.cert, join(kedaDir, "ca.crt")]);
  const caDir = join(dir, "trusted");
  mkdirSync(caDir, { recursive: true });
  await run("cp", [ca.cert, join(caDir, "ca.crt")]);
  const serviceAccountKey = join(dir, "sa.key");
  const serviceAccountPub = join(dir, "sa.pub");
  await openssl([
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    serviceAccountKey,
  ]);
  await openssl(["pkey", "-in", serviceAccountKey, "-pubout", "-out", serviceAccountPub]);
  return {
    dir,
    ca,
    frontProxyCa,
    apiserver,
    frontProxyClient,
    admin,
    controllerManager,
    scheduler,
    kubeletClient,
    keda: { ...keda, dir: kedaDir },
    serviceAccountKey,
    serviceAccountPub,
    caDir,
  };
}

/** A certificate issued by the cluster CA into the PKI folder (a node's kubelet certificates). */
export function issueLeaf(pki: ClusterPki, name: string, subject: string, sans?: string[]): Promise<KeyPair> {
  return makeLeaf(pki.dir, { name, subject, ca: pki.ca, ...(sans ? { sans } : {}) });
}

/** The base64 of a PEM file, as a kubeconfig's *-data fields want it. */
export function pemData(path: string): string {
  return readFileSync(path).toString("base64");
}
