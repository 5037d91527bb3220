// The order API as an Express 5 application: request context, auth, rate limiting, routes, problem answers.
import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import helmet from "helmet";
import { Histogram, type Registry } from "prom-client";
import type { z } from "zod";
import { newCloudEvent, traceparentSchema, newTraceparent } from "../shared/events/cloudevent.ts";
import { orderSubject, type OrderPlacedData } from "../shared/events/order-events.ts";
import type { Logger } from "../shared/logger.ts";
import { FINAL_STATUSES, type OrderRecord, type OrderStore } from "../shared/orders/order-store.ts";
import { version } from "../shared/version.ts";
import { requireScope, type Authenticator, type Principal } from "./auth.ts";
import { idempotencyKeyHeader, requestFingerprint } from "./idempotency.ts";
import { buildOpenApiDocument } from "./openapi.ts";
import {
  cancelOrderRequest,
  orderIdParam,
  placeOrderRequest,
  setStockRequest,
  skuParam,
  type OrderAccepted,
} from "./order-request.ts";
import { dependencyDown, ProblemError, sendProblem, type FieldError } from "./problem.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { openApiPath, ROUTES, type OperationId, type RouteSpec } from "./routes.ts";

export const EVENT_SOURCE = "/eventfleet/api";
export const MAX_BODY_BYTES = 64 * 1024;

export interface ApiOptions {
  store: OrderStore;
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  logger: Logger;
  registry: Registry;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlSeconds: number;
  /** TRUST_PROXY: hops or proxy addresses whose X-Forwarded-For names the client; unset: the TCP peer. */
  trustProxy?: string | undefined;
}

/** TRUST_PROXY as Express takes it: a hop count, or a list of addresses and subnets. */
export function trustProxySetting(value: string | undefined): number | string[] | false {
  if (value === undefined || value.trim() === "") return false;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  return value.split(",").map((part) => part.trim());
}

interface RequestContext {
  requestId: string;
  traceparent: string;
  logger: Logger;
  principal?: Principal;
  /** The route label of the HTTP metrics (bounded: route templates only). */
  route: string;
}

const contextOf = (response: Response) => response.locals.context as RequestContext;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: path ? `${path}.${key}` : key, message: "unknown field" }));
    }
    return [{ path, message: issue.message }];
  });
}

function parseOr400<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ProblemError({
      status: 400,
      kind: "validation-failed",
      title: "Bad Request",
      detail: `the ${what} is not valid; see errors`,
      errors: fieldErrors(result.error),
    });
  }
  return result.data;
}

/** Runs a store call; any failure of Redis becomes a 503 (the process stays up and ioredis reconnects). */
async function redisCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw dependencyDown("the order store (Redis)", error);
  }
}

const notFound = (detail: string) =>
  new ProblemError({ status: 404, kind: "not-found", title: "Not Found", detail });

function orderView(order: OrderRecord) {
  const { orderId, ...rest } = order;
  return { id: orderId, ...rest };
}

function bodyParserProblem(error: unknown): ProblemError | undefined {
  // The router refuses a path parameter that is not valid percent-encoding with a URIError (status 400).
  if (error instanceof URIError) {
    return new ProblemError({
      status: 400,
      kind: "malformed-path",
      title: "Bad Request",
      detail: "the path is not valid percent-encoding",
    });
  }
  const type = (error as { type?: unknown }).type;
  switch (type) {
    case "entity.parse.failed":
      return new ProblemError({
        status: 400,
        kind: "malformed-json",
        title: "Bad Request",
        detail: "the body is not valid JSON",
      });
    case "entity.too.large":
      return new ProblemError({
        status: 413,
        kind: "body-too-large",
        title: "Content Too Large",
        detail: `the body exceeds ${MAX_BODY_BYTES} bytes`,
      });
    case "encoding.unsupported":
    case "charset.unsupported":
      return new ProblemError({
        status: 415,
        kind: "unsupported-media-type",
        title: "Unsupported Media Type",
        detail: "send application/json in UTF-8, identity, gzip or deflate encoding",
      });
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
    case "stream.not.readable":
      return new ProblemError({
        status: 400,
        kind: "bad-body",
        title: "Bad Request",
        detail: "the body could not be read",
      });
    default:
      return undefined;
  }
}

export function createApp(options: ApiOptions): express.Express {
  const { store, authenticator, rateLimiter, logger, registry } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("trust proxy", trustProxySetting(options.trustProxy));

  const httpDuration = new Histogram({
    name: "eventfleet_http_request_duration_seconds",
    help: "HTTP requests of the order API by method, route template and status code.",
    labelNames: ["method", "route", "status_code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  // Request context: id, trace, logger, timing.
  app.use((request, response, next) => {
    const started = process.hrtime.bigint();
    const incomingId = request.get("x-request-id");
    const requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const incomingTrace = request.get("traceparent");
    const traceparent =
      incomingTrace && traceparentSchema.safeParse(incomingTrace).success ? incomingTrace : newTraceparent();
    const context: RequestContext = {
      requestId,
      traceparent,
      logger: logger.child({ requestId, traceparent }),
      route: "unmatched",
    };
    response.locals.context = context;
    response.setHeader("X-Request-Id", requestId);
    response.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = response.statusCode;
      httpDuration.observe(
        { method: request.method, route: context.route, status_code: String(status) },
        seconds,
      );
      const level = status >= 500 ? "error" : status >= 400 ? "info" : "debug";
      context.logger[level](
        {
          method: request.method,
          route: context.route,
          status,
          ms: Math.round(seconds * 1000),
          principal: context.principal?.id,
        },
        "request",
      );
    });
    next();
  });
  app.use(helmet());

  const jsonBody = express.json({ limit: MAX_BODY_BYTES, strict: true, type: () => true });

  const handlers: Record<OperationId, (request: Request, response: Response) => Promise<void>> = {
    placeOrder: async (request, response) => {
      const context = contextOf(response);
      const rawKey = request.get("idempotency-key");
      const key =
        rawKey === undefined ? undefined : parseOr400(idempotencyKeyHeader, rawKey, "Idempotency-Key");
      const body = parseOr400(placeOrderRequest, request.body, "order");
      const orderId = randomUUID();
      const placedAt = new Date().toISOString();
      const order: OrderPlacedData = {
        orderId,
        customerId: body.customerId,
        items: body.items,
        currency: body.currency,
        totalCents: body.items.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0),
        shippingAddress: body.shippingAddress,
        contact: body.contact,
        placedAt,
      };
      const event = newCloudEvent({
        type: "order.placed",
        source: EVENT_SOURCE,
        subject: orderSubject(orderId),
        data: order,
        traceparent: context.traceparent,
        orderversion: 1,
      });
      const accepted: OrderAccepted = { id: orderId, status: "ACKNOWLEDGED", version: 1 };
      const location = `/v1/orders/${orderId}`;
      const result = await redisCall(() =>
        store.createOrder({
          order,
          event,
          ...(key
            ? {
                idempotency: {
                  principal: context.principal?.id ?? "anonymous",
                  key,
                  fingerprint: requestFingerprint(body),
                  response: JSON.stringify({ location, body: accepted }),
                  ttlSeconds: options.idempotencyTtlSeconds,
                },
              }
            : {}),
        }),
      );
      if (result.outcome === "conflict") {
        throw new ProblemError({
          status: 422,
          kind: "idempotency-key-reused",
          title: "Unprocessable Content",
          detail: "this Idempotency-Key was used for a different request; use a new key for a new order",
        });
      }
      if (result.outcome === "replay") {
        const stored = JSON.parse(result.response) as { location: string; body: OrderAccepted };
        response.setHeader("Idempotent-Replayed", "true");
        response.status(202).location(stored.location).json(stored.body);
        return;
      }
      context.logger.info({ orderId, eventId: event.id }, "order acknowledged");
      response.status(202).location(location).json(accepted);
    },

    getOrder: async (request, response) => {
      const id = String(request.params.id);
      if (!orderIdParam.safeParse(id).success) throw notFound(`no order ${id}`);
      const order = await redisCall(() => store.getOrder(id));
      if (!order) throw notFound(`no order ${id}`);
      response.json(orderView(order));
    },

    cancelOrder: async (request, response) => {
      const context = contextOf(response);
      const id = String(request.params.id);
      if (!orderIdParam.safeParse(id).success) throw notFound(`no order ${id}`);
      const body = parseOr400(cancelOrderRequest, request.body ?? {}, "cancel request");
      const event = newCloudEvent({
        type: "order.cancelled",
        source: EVENT_SOURCE,
        subject: orderSubject(id),
        data: {
          orderId: id,
          ...(body.reason ? { reason: body.reason } : {}),
          cancelledAt: new Date().toISOString(),
        },
        traceparent: context.traceparent,
      });
      const result = await redisCall(() =>
        store.cancel(id, { eventId: event.id, reason: body.reason, events: [event] }),
      );
      if (!result.applied && result.reason === "not_found") throw notFound(`no order ${id}`);
      if (!result.applied) {
        const status = result.order.status;
        throw new ProblemError({
          status: 409,
          kind: "order-not-cancellable",
          title: "Conflict",
          detail: FINAL_STATUSES.includes(status)
            ? `the order is already ${status}; only orders that have not shipped or ended can be cancelled`
            : `the order changed meanwhile (now ${status}); read it and try again`,
        });
      }
      context.logger.info({ orderId: id, eventId: event.id }, "order cancelled");
      const accepted: OrderAccepted = { id, status: result.order.status, version: result.order.version };
      response.status(202).location(`/v1/orders/${id}`).json(accepted);
    },

    getStock: async (request, response) => {
      const sku = parseOr400(skuParam, request.params.sku, "SKU");
      response.json(await redisCall(() => store.getStock(sku)));
    },

    setStock: async (request, response) => {
      const sku = parseOr400(skuParam, request.params.sku, "SKU");
      const body = parseOr400(setStockRequest, request.body, "stock update");
      response.json(await redisCall(() => store.setAvailable(sku, body.available)));
    },
  };

  const guard = (route: RouteSpec) => async (request: Request, response: Response, next: NextFunction) => {
    const context = contextOf(response);
    context.route = openApiPath(route.path);
    const principal = await authenticator.authenticate(request);
    context.principal = principal;
    requireScope(principal, route.scope);
    let decision;
    try {
      decision = await rateLimiter.take(principal.id);
    } catch (error) {
      // Fail open: the limiter protects Redis-backed work that fails with 503 anyway when Redis is down.
      context.logger.warn({ err: error }, "rate limiter unavailable; letting the request through");
    }
    if (decision && !decision.allowed) {
      throw new ProblemError({
        status: 429,
        kind: "rate-limited",
        title: "Too Many Requests",
        detail:
          `this client sends requests faster than allowed (${rateLimiter.policy.perSecond}/s with bursts of ` +
          `${rateLimiter.policy.burst}: the API's RATE_LIMIT_PER_SECOND and RATE_LIMIT_BURST); retry after the indicated time`,
        headers: { "Retry-After": String(decision.retryAfterSeconds) },
      });
    }
    if (route.body) {
      const hasBody =
        request.get("transfer-encoding") !== undefined || Number(request.get("content-length") ?? 0) > 0;
      if (!hasBody) {
        if (route.body.required) {
          throw new ProblemError({
            status: 400,
            kind: "body-required",
            title: "Bad Request",
            detail: "send a JSON body (Content-Type: application/json)",
          });
        }
      } else if (!request.is(["application/json", "application/*+json"])) {
        throw new ProblemError({
          status: 415,
          kind: "unsupported-media-type",
          title: "Unsupported Media Type",
          detail: "send the body as application/json",
        });
      } else {
        await new Promise<void>((resolve, reject) =>
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- body-parser errors are Errors
          jsonBody(request, response, (error?: unknown) => (error ? reject(error as Error) : resolve())),
        );
      }
    }
    next();
  };

  const methodsByPath = new Map<string, string[]>();
  for (const route of ROUTES) {
    app[route.method](route.path, guard(route), handlers[route.operationId]);
    methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method.toUpperCase()]);
  }

  const openapi = JSON.stringify(buildOpenApiDocument(version));
  app.get("/openapi.json", (_request, response) => {
    contextOf(response).route = "/openapi.json";
    response.type("application/json").send(openapi);
  });
  methodsByPath.set("/openapi.json", ["GET"]);

  for (const [path, methods] of methodsByPath) {
    const allow = [...new Set([...methods, ...(methods.includes("GET") ? ["HEAD"] : [])])].join(", ");
    app.all(path, (_request, response) => {
      contextOf(response).route = openApiPath(path);
      throw new ProblemError({
        status: 405,
        kind: "method-not-allowed",
        title: "Method Not Allowed",
        detail: `this path takes ${allow}`,
        headers: { Allow: allow },
      });
    });
  }

  app.use(() => {
    throw notFound("no such route; see /openapi.json");
  });

  app.use((error: unknown, request: Request, response: Response, _next: NextFunction) => {
    const context = contextOf(response);
    const problem =
      error instanceof ProblemError
        ? error
        : (bodyParserProblem(error) ??
          new ProblemError({
            status: 500,
            kind: "internal",
            title: "Internal Server Error",
            detail: "an unexpected error; it has been logged with the request id",
          }));
    if (problem.problem.status >= 500) {
      context.logger.error(
        { err: error instanceof ProblemError ? (error.cause ?? error) : error },
        `answering ${problem.problem.status}: ${problem.message}`,
      );
    }
    if (response.headersSent) return;
    sendProblem(response, problem.problem, request.originalUrl.split("?")[0] ?? "/", context.requestId);
  });

  return app;
}
