// The OpenAPI 3.1 document of the order API, generated from the route table and its zod schemas.
import { z } from "zod";
import { idempotencyKeyHeader } from "./idempotency.ts";
import { problemDetails } from "./order-request.ts";
import { openApiPath, ROUTES } from "./routes.ts";

const COMMON_PROBLEMS: Record<number, string> = {
  400: "Malformed JSON or a body that fails validation (field paths in `errors`)",
  401: "Missing or invalid credentials",
  403: "The credentials lack the scope this operation needs",
  404: "No such order or route",
  405: "Method not allowed on this path",
  409: "The order is in a state that does not allow this (shipped or already final)",
  413: "Body larger than 64 KiB",
  415: "Body is not application/json",
  422: "Idempotency-Key reused with a different request",
  429: "Rate limited; see Retry-After",
  503: "A dependency is down; retry shortly (Retry-After)",
};

export function buildOpenApiDocument(version: string): Record<string, unknown> {
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
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { "application/json": { schema: ref(response.schema) } } } : {}),
        ...(response.headers
          ? { headers: Object.fromEntries(response.headers.map((h) => [h, { schema: { type: "string" } }])) }
          : {}),
      };
    }
    for (const status of [400, 401, 403, 404, 405, 429, 503, ...route.problems].sort()) {
      responses[String(status)] = {
        description: COMMON_PROBLEMS[status] ?? "Problem",
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
              description: "Same key and body within 24 h → the same response, no second order",
              schema: ref(idempotencyKeyHeader),
            },
          ]
        : []),
      { name: "X-Request-Id", in: "header", required: false, schema: { type: "string" } },
      { name: "traceparent", in: "header", required: false, schema: { type: "string" } },
    ];
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      security: [{ apiKey: [route.scope] }, { bearer: [route.scope] }, {}],
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
  return {
    openapi: "3.1.0",
    info: {
      title: "eventfleet order API",
      version,
      description:
        "Orders are acknowledged at once and processed by the order saga; errors are RFC 9457 problem details.",
    },
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "X-Api-Key" },
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      },
    },
  };
}
