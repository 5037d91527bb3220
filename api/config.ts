// Environment variables of `eventfleet api` and `eventfleet relay`, each with its default and why.
import { z } from "zod";
import { awsEnv, envVar, redisEnv, redisWriteEnv, schemas, type EnvSpec } from "../shared/config.ts";
import { OUTBOX_RELAY_DEFAULTS } from "./outbox-relay-options.ts";

const AUTH_MODES = ["none", "apikey", "jwt"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** The limits of the API's HTTP server against slow or greedy clients. */
export const apiServerEnv = {
  API_HEADERS_TIMEOUT_MS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds",
    description:
      "Time a client has to send the request headers; a slower one gets 408 and is disconnected (slowloris).",
    default: "10000",
  }),
  API_REQUEST_TIMEOUT_MS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds, at least API_HEADERS_TIMEOUT_MS",
    description:
      "Time a client has to send a whole request, body included; a body trickled slower gets 408 (Node's default is 300 s).",
    default: "30000",
  }),
  API_KEEP_ALIVE_TIMEOUT_MS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds",
    description:
      "How long an idle keep-alive connection stays open (below the load balancer's idle timeout).",
    default: "5000",
  }),
  API_MAX_REQUESTS_PER_CONNECTION: envVar(schemas.nonNegativeInt, {
    expects: "a non-negative integer (0: no cap)",
    description:
      "Requests served on one keep-alive connection before it is closed, so one client cannot hold a connection for ever and load spreads over replicas.",
    default: "1000",
  }),
  API_MAX_HEADER_BYTES: envVar(z.coerce.number().int().min(1024).max(1_048_576), {
    expects: "an integer number of bytes 1024-1048576",
    description: "Largest request head (request line and headers); more is answered 431.",
    default: "16384",
  }),
} satisfies EnvSpec;

/** The order API (the relay's variables come on top unless `--relay=off`). */
export const apiEnv = {
  ...redisEnv,
  ...redisWriteEnv,
  ...apiServerEnv,
  API_PORT: envVar(schemas.port, {
    expects: "a port number 0-65535",
    description: "Port of the order API (HTTP).",
    default: "8080",
  }),
  AUTH_MODE: envVar(z.enum(AUTH_MODES), {
    expects: "one of none, apikey, jwt",
    description:
      "How callers authenticate: none (local default; everyone has every scope), apikey (X-Api-Key), jwt (Bearer).",
    default: "none",
  }),
  API_KEYS: envVar(z.string().optional(), {
    expects: 'a JSON array such as [{"name":"shop","sha256":"<64 hex>","scopes":["orders:write"]}]',
    description:
      "AUTH_MODE=apikey: the accepted keys as SHA-256 hex hashes, each with a name (the principal) and scopes.",
    secret: true,
  }),
  API_KEYS_FILE: envVar(z.string().optional(), {
    expects: "a path to a file holding the API_KEYS JSON (a mounted secret)",
    description: "AUTH_MODE=apikey: read the keys from this file instead of API_KEYS (re-read on change).",
  }),
  JWT_JWKS_URL: envVar(schemas.url().optional(), {
    expects: "an http(s) URL of a JSON Web Key Set",
    description: "AUTH_MODE=jwt: where the signing keys of the issuer are published.",
  }),
  JWT_ISSUER: envVar(z.string().min(1).optional(), {
    expects: "the exact `iss` of accepted tokens",
    description: "AUTH_MODE=jwt: the issuer tokens must name.",
  }),
  JWT_AUDIENCE: envVar(z.string().min(1).optional(), {
    expects: "the `aud` accepted tokens must contain",
    description: "AUTH_MODE=jwt: the audience tokens must name.",
  }),
  JWT_SCOPE_CLAIM: envVar(z.string().min(1), {
    expects: "a claim name such as scope or scp",
    description: "AUTH_MODE=jwt: the claim holding scopes (a space-separated string or an array).",
    default: "scope",
  }),
  JWT_SUBJECT_CLAIM: envVar(z.string().min(1), {
    expects: "a claim name such as sub or client_id",
    description:
      "AUTH_MODE=jwt: the claim naming the caller (the principal of rate limits, idempotency keys and order ownership); tokens without it, or without exp, are refused.",
    default: "sub",
  }),
  RATE_LIMIT_PER_SECOND: envVar(z.coerce.number().min(0), {
    expects: "a number of requests per second (0 turns rate limiting off)",
    description: "Sustained requests per second allowed per principal (token bucket in Redis).",
    default: "50",
  }),
  RATE_LIMIT_BURST: envVar(schemas.positiveInt, {
    expects: "a positive integer number of requests",
    description: "Requests a principal may send at once before the per-second rate applies.",
    default: "100",
  }),
  TRUST_PROXY: envVar(
    z
      .string()
      .regex(
        /^(\d+|(loopback|linklocal|uniquelocal|[0-9A-Fa-f:.]+(\/\d{1,3})?)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9A-Fa-f:.]+(\/\d{1,3})?))*)$/,
      )
      .optional(),
    {
      expects: "a hop count such as 1, or proxy addresses and subnets such as loopback, 10.0.0.0/8",
      description:
        "Proxies in front of the API whose X-Forwarded-For is believed, so the client address (the rate-limit principal with AUTH_MODE=none) is the caller's, not the load balancer's. Unset: the TCP peer, and X-Forwarded-For is ignored.",
    },
  ),
  IDEMPOTENCY_TTL_SECONDS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of seconds",
    description: "How long an Idempotency-Key is remembered (24 h by default, as clients retry for a day).",
    default: "86400",
  }),
} satisfies EnvSpec;

/** The outbox relay, alone or inside the API process. */
export const relayEnv = {
  ...redisEnv,
  ...awsEnv,
  ORDERS_TOPIC_ARN: envVar(z.string().regex(/^arn:aws[a-z-]*:sns:[^:]+:[^:]+:[^:]+$/), {
    expects: "an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:prod-orders",
    description: "The SNS topic every order event is published to.",
  }),
  RELAY_CLAIM_IDLE_MS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds",
    description:
      "An outbox entry read by a relay but not acknowledged for this long is taken over by another relay " +
      "(the first one is presumed dead). Longer than a slow SNS call; shorter means faster recovery.",
    default: String(OUTBOX_RELAY_DEFAULTS.claimIdleMs),
  }),
  RELAY_BATCH_SIZE: envVar(z.coerce.number().int().min(1).max(10), {
    expects: "an integer 1-10 (SNS PublishBatch takes at most 10)",
    description: "Outbox entries published per SNS PublishBatch call.",
    default: String(OUTBOX_RELAY_DEFAULTS.batchSize),
  }),
  RELAY_STALL_AFTER_MS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds",
    description:
      "A relay whose loop has not gone round, or that has published nothing while the outbox holds entries, for this long is stalled: `eventfleet_relay_stalled` 1 and, for `eventfleet relay`, not ready.",
    default: String(OUTBOX_RELAY_DEFAULTS.stallAfterMs),
  }),
} satisfies EnvSpec;
