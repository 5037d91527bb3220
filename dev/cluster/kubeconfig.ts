// Kubeconfig files of the local cluster: one per client identity, certificates embedded so the file alone suffices.
import { writeFileSync } from "node:fs";
import { pemData, type KeyPair } from "./pki.ts";

export const CONTEXT = "eventfleet-local";

/** Writes a kubeconfig for `server` that authenticates with `client` and trusts `caCert`; returns its path. */
export function writeKubeconfig(
  path: string,
  server: string,
  caCert: string,
  client: KeyPair,
  user: string,
): string {
  // JSON is YAML: every kubeconfig reader (kubectl, helm, client-go, @kubernetes/client-node) accepts it.
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: CONTEXT, cluster: { server, "certificate-authority-data": pemData(caCert) } }],
    users: [
      {
        name: user,
        user: { "client-certificate-data": pemData(client.cert), "client-key-data": pemData(client.key) },
      },
    ],
    contexts: [{ name: CONTEXT, context: { cluster: CONTEXT, user, namespace: "default" } }],
    "current-context": CONTEXT,
  };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return path;
}
