// Who is calling and what they may do: AUTH_MODE none, apikey (SHA-256 hashes with scopes) or jwt (JWKS).
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { Request } from "express";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from "jose";
import { z } from "zod";
import { ConfigError } from "../shared/config.ts";
import type { AuthMode } from "./config.ts";
import { ProblemError } from "./problem.ts";

export const SCOPES = {
  ordersRead: "orders:read",
  ordersWrite: "orders:write",
  inventoryAdmin: "inventory:admin",
  /** Operators: read and cancel every order, not only the ones the principal placed. */
  ordersAdmin: "orders:admin",
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

export interface Principal {
  /** Stable name for rate limiting, idempotency, order ownership and logs (never a secret). */
  id: string;
  scopes: ReadonlySet<string>;
}

export interface Authenticator {
  readonly mode: AuthMode;
  /** Resolves the caller, or throws a 401 ProblemError (503 when the key set cannot be fetched). */
  authenticate(request: Request): Promise<Principal>;
}

const ALL_SCOPES: ReadonlySet<string> = new Set(Object.values(SCOPES));

const unauthorized = (detail: string, challenge: string) =>
  new ProblemError({
    status: 401,
    kind: "unauthorized",
    title: "Unauthorized",
    detail,
    headers: { "WWW-Authenticate": challenge },
  });

/** 403 unless the principal holds `scope`. */
export function requireScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.has(scope)) {
    throw new ProblemError({
      status: 403,
      kind: "forbidden",
      title: "Forbidden",
      detail: `this operation needs the scope ${scope}`,
    });
  }
}

// ---- none ----------------------------------------------------------------------------------------------

function noAuth(): Authenticator {
  return {
    mode: "none",
    // Everyone may do everything; rate limiting still applies per client address.
    authenticate: (request) => Promise.resolve({ id: `ip:${request.ip ?? "unknown"}`, scopes: ALL_SCOPES }),
  };
}

// ---- apikey --------------------------------------------------------------------------------------------

export const apiKeysSchema = z.array(
  z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256 of the key"),
    scopes: z.array(z.enum(Object.values(SCOPES) as [Scope, ...Scope[]])).min(1),
  }),
);

function parseKeys(text: string, source: string): Map<string, Principal> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(source, `${source}: not JSON; expected [{"name","sha256","scopes":[...]}]`);
  }
  const parsed = apiKeysSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      source,
      `${source}: ${issue?.path.join(".") ?? ""} ${issue?.message ?? "invalid"}; expected [{"name","sha256","scopes":[...]}]`,
    );
  }
  return new Map(parsed.data.map((k) => [k.sha256, { id: `key:${k.name}`, scopes: new Set(k.scopes) }]));
}

export const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

function apiKeyAuth(options: { keys?: string | undefined; file?: string | undefined }): Authenticator {
  const { file } = options;
  if (!file && !options.keys) {
    throw new ConfigError("API_KEYS", "AUTH_MODE=apikey needs API_KEYS or API_KEYS_FILE (set one of them)");
  }
  const load = () =>
    file ? parseKeys(readFileSync(file, "utf8"), "API_KEYS_FILE") : parseKeys(options.keys!, "API_KEYS");
  let keys = load();
  // A mounted secret changes on rotation: re-read it when its mtime moves (checked at most every 5 s).
  let mtime = file ? statSync(file).mtimeMs : 0;
  let checkedAt = Date.now();
  const refresh = () => {
    if (!file || Date.now() - checkedAt < 5000) return;
    checkedAt = Date.now();
    try {
      const now = statSync(file).mtimeMs;
      if (now !== mtime) {
        keys = load();
        mtime = now;
      }
    } catch {
      // Keep the keys we have; a half-written or vanished file must not lock everyone out.
    }
  };
  return {
    mode: "apikey",
    authenticate: (request) => {
      refresh();
      const key = request.get("x-api-key");
      if (!key) return Promise.reject(unauthorized("send an API key in the X-Api-Key header", "ApiKey"));
      const principal = keys.get(sha256Hex(key));
      if (!principal) return Promise.reject(unauthorized("the API key is not valid", "ApiKey"));
      return Promise.resolve(principal);
    },
  };
}

// ---- jwt -----------------------------------------------------------------------------------------------

export interface JwtOptions {
  jwksUrl: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  scopeClaim: string;
  /** The claim naming the caller (JWT_SUBJECT_CLAIM); a token without it is refused. */
  subjectClaim?: string;
}

function jwtAuth(options: JwtOptions): Authenticator {
  for (const [name, value] of [
    ["JWT_JWKS_URL", options.jwksUrl],
    ["JWT_ISSUER", options.issuer],
    ["JWT_AUDIENCE", options.audience],
  ] as const) {
    if (!value) throw new ConfigError(name, `AUTH_MODE=jwt needs ${name} (set ${name})`);
  }
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl!), {
    timeoutDuration: 3000,
    cooldownDuration: 30_000,
  });
  const challenge = 'Bearer realm="eventfleet"';
  const subjectClaim = options.subjectClaim ?? "sub";
  return {
    mode: "jwt",
    authenticate: async (request) => {
      const header = request.get("authorization") ?? "";
      // The auth scheme is case-insensitive (RFC 9110 §11.1): "bearer" and "BEARER" are "Bearer".
      const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
      if (!match) throw unauthorized("send a bearer token in the Authorization header", challenge);
      let payload;
      try {
        ({ payload } = await jwtVerify(match[1]!, jwks, {
          issuer: options.issuer!,
          audience: options.audience!,
          // A token without exp would be valid for ever; one without a subject would be nobody in particular.
          requiredClaims: ["exp", subjectClaim],
        }));
      } catch (error) {
        if (
          error instanceof joseErrors.JWKSTimeout ||
          (error instanceof TypeError && !(error instanceof joseErrors.JOSEError))
        ) {
          throw new ProblemError({
            status: 503,
            kind: "dependency-unavailable",
            title: "Service Unavailable",
            detail: "the token signing keys cannot be fetched; retry shortly",
            headers: { "Retry-After": "5" },
          });
        }
        throw unauthorized("the bearer token is not valid", `${challenge}, error="invalid_token"`);
      }
      const subject = payload[subjectClaim];
      if (typeof subject !== "string" || subject === "") {
        throw unauthorized(
          `the bearer token's ${subjectClaim} claim is not a non-empty string`,
          `${challenge}, error="invalid_token"`,
        );
      }
      const claim = payload[options.scopeClaim];
      const scopes = Array.isArray(claim)
        ? claim.filter((s): s is string => typeof s === "string")
        : typeof claim === "string"
          ? claim.split(" ").filter(Boolean)
          : [];
      // Encoded, so a subject with ':' cannot pose as another principal in the keys built from the id.
      return { id: `sub:${encodeURIComponent(subject)}`, scopes: new Set(scopes) };
    },
  };
}

export interface AuthOptions {
  mode: AuthMode;
  apiKeys?: string | undefined;
  apiKeysFile?: string | undefined;
  jwt?: JwtOptions;
}

/** Builds the authenticator of AUTH_MODE; a missing setting is a ConfigError naming the variable. */
export function createAuthenticator(options: AuthOptions): Authenticator {
  switch (options.mode) {
    case "none":
      return noAuth();
    case "apikey":
      return apiKeyAuth({ keys: options.apiKeys, file: options.apiKeysFile });
    case "jwt":
      return jwtAuth(
        options.jwt ?? { jwksUrl: undefined, issuer: undefined, audience: undefined, scopeClaim: "scope" },
      );
  }
}
