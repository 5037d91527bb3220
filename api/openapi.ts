// The OpenAPI 3.1 document of the order API, generated from the route table and its zod schemas.
import { z } from "zod";
import type { AuthMode } from "./config.ts";
import { idempotencyKeyHeader } from "./idempotency.ts";
import { problemDetails } from "./order-request.ts";
import { openApiPath, ROUTES, type RouteSpec } from "./routes.ts";

const COMMON_PROBLEMS: Record<number, string> = {
  400: "Malformed request, malformed JSON, a body that is not what its Content-Encoding says, or a body that fails validation (field paths in `errors`)",
  401: "Missing or invalid credentials",
  403: "The credentials lack the scope this operation needs",
  404: "No such order (or not one this principal placed), or no such route",
  405: "Method not allowed on this path (see Allow)",
  408: "The request headers or body were not received in time (API_HEADERS_TIMEOUT_MS, API_REQUEST_TIMEOUT_MS)",
  409: "The order is in a state that does not allow this (shipped or already final)",
  413: "Body larger than 64 KiB (also after decompression)",
  415: "Body is not application/json in UTF-8 with identity, gzip, deflate or br encoding",
  422: "Idempotency-Key reused with a different request",
  429: "Rate limited; retry after Retry-After seconds",
  431: "Request headers larger than API_MAX_HEADER_BYTES",
  503: "A dependency is down; retry shortly (Retry-After)",
};

/** Response headers, each documented once under components.headers. */
const HEADERS = {
  "X-Request-Id": {
    description: "The request's id (the client's X-Request-Id when it is 1-128 of A-Z a-z 0-9 . _ : -)",
    required: true,
    schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
  },
  RateLimit: {
    description:
      'Requests left and seconds until the quota is full again (IETF httpapi RateLimit header), e.g. `"per-principal";r=42;t=3`; sent when rate limiting is on',
    schema: { type: "string" },
  },
  "RateLimit-Policy": {
    description:
      'The quota: q requests per w seconds per principal (per client address before authentication), e.g. `"per-principal";q=100;w=2`; sent when rate limiting is on',
    schema: { type: "string" },
  },
  "Retry-After": {
    description: "Seconds to wait before retrying",
    required: true,
    schema: { type: "string", pattern: "^[0-9]+$" },
  },
  "WWW-Authenticate": {
    description: "The authentication scheme expected (ApiKey or Bearer)",
    required: true,
    schema: { type: "string" },
  },
  Allow: { description: "The methods this path takes", required: true, schema: { type: "string" } },
  Location: { description: "The order's URL", required: true, schema: { type: "string" } },
  "Idempotent-Replayed": {
    description:
      "`true` when this answer replays the one given to an earlier request with the same Idempotency-Key",
    schema: { type: "string", enum: ["true"] },
  },
} as const;
type HeaderName = keyof typeof HEADERS;

const headerRefs = (names: readonly HeaderName[]) =>
  Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

/** Headers a problem of `status` carries besides X-Request-Id and the RateLimit pair. */
const PROBLEM_HEADERS: Record<number, HeaderName[]> = {
  401: ["WWW-Authenticate"],
  405: ["Allow"],
  429: ["Retry-After"],
  503: ["Retry-After"],
};

export interface OpenApiOptions {
  /** AUTH_MODE: the document offers exactly the security scheme the server accepts. */
  authMode: AuthMode;
}

/** The security requirement of a route in each auth mode (scopes listed as roles, as OpenAPI 3.1 allows). */
function security(route: RouteSpec, authMode: AuthMode): Record<string, string[]>[] {
  switch (authMode) {
    case "none":
      return [];
    case "apikey":
      return [{ apiKey: [route.scope] }];
    case "jwt":
      return [{ bearer: [route.scope] }];
  }
}

export function buildOpenApiDocument(version: string, options: OpenApiOptions): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  /**
   * JSON Schema of a zod schema with named parts (`.meta({ id })`) moved to components.schemas: zod puts them in
   * `$defs` and refers to `#/$defs/<id>`, which in an OpenAPI document must be `#/components/schemas/<id>`.
   */
  const ref = (schema: z.ZodType): unknown => {
    const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
    const relink = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(relink);
      if (value === null || typeof value !== "object") return value;
      return Object.fromEntries(
        Object.entries(value).map(([key, v]) => [
          key,
          key === "$ref" && typeof v === "string"
            ? v.replace("#/$defs/", "#/components/schemas/")
            : relink(v),
        ]),
      );
    };
    const { $defs, $schema: _dialect, ...root } = json;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, unknown>))
      schemas[id] = relink(def);
    const id = z.globalRegistry.get(schema)?.id;
    if (id && !root.$ref) {
      schemas[id] = relink(root);
      return { $ref: `#/components/schemas/${id}` };
    }
    return relink(root);
  };
  const problemRef = ref(problemDetails);
  const authenticated = options.authMode !== "none";
  // Every answer of an operation: X-Request-Id, and the RateLimit pair (when limiting is on).
  const always: HeaderName[] = ["X-Request-Id", "RateLimit", "RateLimit-Policy"];
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        headers: headerRefs([...always, ...((response.headers ?? []) as HeaderName[])]),
        ...(response.schema ? { content: { "application/json": { schema: ref(response.schema) } } } : {}),
      };
    }
    const problems = [
      400,
      404,
      405,
      408,
      429,
      431,
      503,
      ...(authenticated ? [401, 403] : []),
      ...route.problems,
    ];
    for (const status of [...new Set(problems)].sort((a, b) => a - b)) {
      responses[String(status)] = {
        description: COMMON_PROBLEMS[status] ?? "Problem",
        headers: headerRefs([...always, ...(PROBLEM_HEADERS[status] ?? [])]),
        content: { "application/problem+json": { schema: problemRef } },
      };
    }
    const parameters = [
      ...Object.entries(route.params ?? {}).map(([name, schema]) => ({
        name,
        in: "path",
        required: true,
        schema: ref(schema),
      })),
      ...(route.operationId === "placeOrder"
        ? [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              description: "Same principal, key and body within 24 h → the same response, no second order",
              schema: ref(idempotencyKeyHeader),
            },
          ]
        : []),
      {
        name: "X-Request-Id",
        in: "header",
        required: false,
        description: "Your id for this request, echoed in the answer and the logs",
        schema: { type: "string" },
      },
      {
        name: "traceparent",
        in: "header",
        required: false,
        description: "W3C trace context, carried into the events",
        schema: { type: "string" },
      },
    ];
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      description: `${route.description ?? ""}${route.description ? "\n\n" : ""}Needs the scope \`${route.scope}\`.`,
      tags: [route.path.startsWith("/v1/orders") ? "orders" : "inventory"],
      security: security(route, options.authMode),
      parameters,
      ...(route.body
        ? {
            requestBody: {
              required: route.body.required,
              content: { "application/json": { schema: ref(route.body.schema) } },
            },
          }
        : {}),
      responses,
    };
  }
  paths["/openapi.json"] = {
    get: {
      operationId: "getOpenApiDocument",
      summary: "This document",
      tags: ["meta"],
      security: [],
      responses: {
        200: {
          description: "The OpenAPI 3.1 document of this API",
          headers: headerRefs(always),
          content: { "application/json": { schema: { type: "object" } } },
        },
        ...Object.fromEntries(
          [429, 503].map((status) => [
            String(status),
            {
              description: COMMON_PROBLEMS[status],
              headers: headerRefs([...always, ...(PROBLEM_HEADERS[status] ?? [])]),
              content: { "application/problem+json": { schema: problemRef } },
            },
          ]),
        ),
      },
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "eventfleet order API",
      version,
      description:
        "Orders are acknowledged at once and processed by the order saga; errors are RFC 9457 problem details. " +
        "An order is visible to the principal that placed it and to operators (`orders:admin`).",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: "/", description: "The server that serves this document" }],
    tags: [
      { name: "orders", description: "Place, read and cancel orders" },
      { name: "inventory", description: "Stock per SKU (operators)" },
      { name: "meta", description: "The API description" },
    ],
    ...(authenticated ? {} : { security: [] }),
    paths,
    components: {
      schemas,
      // Only the headers this mode's answers use (no WWW-Authenticate without authentication).
      headers: Object.fromEntries(
        Object.entries(HEADERS).filter(([name]) =>
          JSON.stringify(paths).includes(`#/components/headers/${name}"`),
        ),
      ),
      ...(options.authMode === "apikey"
        ? { securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "X-Api-Key" } } }
        : {}),
      ...(options.authMode === "jwt"
        ? { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } }
        : {}),
    },
  };
}
