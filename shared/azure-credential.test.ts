// The Azure credential loads @azure/identity only when a client asks for a token: connection-string deployments never
// load it, and a token request reaches the real DefaultAzureCredential. Each case runs in a process of its own, which
// records the modules it loads (module.registerHooks), so what another test imported cannot hide a load.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../test/support/repo-root.ts";

interface Outcome {
  identityLoadedAtStart: boolean;
  identityLoadedAfter: boolean;
  sameInstance: boolean;
  error?: { name: string; message: string };
}

/** Builds the device-ingest clients from `config`, then (with `askToken`) asks the credential for a token. */
async function inChild(config: Record<string, string>, askToken: boolean): Promise<Outcome> {
  const script = `
    import { registerHooks } from "node:module";
    const loaded = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
    const identity = () => loaded.some((url) => url.includes("/node_modules/@azure/identity/"));
    const clients = await import(${JSON.stringify(join(ROOT, "shared/azure-clients.ts"))});
    const { azureCredential } = await import(${JSON.stringify(join(ROOT, "shared/azure-credential.ts"))});
    const config = ${JSON.stringify(config)};
    clients.createStorageClients(config);
    clients.createCosmosClient(config);
    clients.eventHubConnection(config);
    const outcome = { identityLoadedAtStart: identity(), sameInstance: azureCredential() === azureCredential() };
    if (${askToken}) {
      try {
        await azureCredential().getToken("https://storage.azure.com/.default");
      } catch (error) {
        outcome.error = { name: error.name, message: error.message };
      }
    }
    outcome.identityLoadedAfter = identity();
    console.log(JSON.stringify(outcome));
  `;
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("AZURE_")) delete env[name];
  // Only the environment credential, with no AZURE_CLIENT_* set: it refuses without a network request.
  env.AZURE_TOKEN_CREDENTIALS = "EnvironmentCredential";
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
    env,
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Outcome;
}

void test("with connection strings and a Cosmos key, @azure/identity is never loaded", async () => {
  const outcome = await inChild(
    {
      STORAGE_CONNECTION_STRING:
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" +
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;",
      COSMOS_ENDPOINT: "https://127.0.0.1:1",
      COSMOS_KEY: "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
      EVENTHUB_CONNECTION_STRING:
        "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=a;EntityPath=h",
      EVENTHUB_NAME: "h",
    },
    false,
  );
  assert.equal(outcome.identityLoadedAtStart, false);
  assert.equal(outcome.identityLoadedAfter, false);
});

void test("with workload identity, clients share one credential that loads DefaultAzureCredential on the first token request", async () => {
  const outcome = await inChild(
    {
      STORAGE_ACCOUNT_URL: "https://account.blob.core.windows.net",
      COSMOS_ENDPOINT: "https://account.documents.azure.com:443/",
      EVENTHUB_NAMESPACE: "namespace.servicebus.windows.net",
      EVENTHUB_NAME: "h",
    },
    true,
  );
  assert.equal(outcome.identityLoadedAtStart, false, "building the clients loaded @azure/identity");
  assert.equal(outcome.sameInstance, true);
  assert.equal(outcome.identityLoadedAfter, true);
  // DefaultAzureCredential's own refusal: AZURE_TOKEN_CREDENTIALS limited its chain to the environment credential.
  assert.equal(outcome.error?.name, "AggregateAuthenticationError", JSON.stringify(outcome.error));
  assert.match(outcome.error.message, /EnvironmentCredential is unavailable/);
});
