// The process's Azure AD credential (workload identity in AKS): DefaultAzureCredential, loaded on its first token request.
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";

/**
 * A DefaultAzureCredential that imports @azure/identity when a client first asks it for a token. @azure/identity and
 * MSAL are a quarter of the Azure SDK code a device-ingest pod loads (~0.5 MB, jsonwebtoken's version checks among
 * it): a deployment on connection strings (local, tests, the live tier) never asks, so it never pays for them at start.
 * Clients accept it like any TokenCredential (the SDKs check for a getToken method). A configuration error that
 * DefaultAzureCredential's constructor reports (e.g. a bad AZURE_TOKEN_CREDENTIALS) is thrown by the first getToken,
 * which every client makes while the role starts (its connections and readiness checks).
 */
export class LazyDefaultAzureCredential implements TokenCredential {
  #credential: Promise<TokenCredential> | undefined;

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.#credential ??= import("@azure/identity").then(
      ({ DefaultAzureCredential }) => new DefaultAzureCredential(),
    );
    return (await this.#credential).getToken(scopes, options);
  }
}

let shared: LazyDefaultAzureCredential | undefined;

/** One credential for every client of the process: its token cache and token requests are shared by them all. */
export function azureCredential(): TokenCredential {
  shared ??= new LazyDefaultAzureCredential();
  return shared;
}
