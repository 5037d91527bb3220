// The order API as an Express 5 application: the composition of context, guard, handlers, 405s and problems.
import express, { type Request, type Response } from "express";
import helmet from "helmet";
import type { Registry } from "prom-client";
import type { Logger } from "../shared/logger.ts";
import type { OrderStore } from "../shared/orders/order-store.ts";
import { version } from "../shared/version.ts";
import type { Authenticator } from "./auth.ts";
import { errorHandler } from "./error-handler.ts";
import { inventoryHandlers } from "./inventory-handlers.ts";
import { answerOtherMethodsWith405 } from "./method-not-allowed.ts";
import { buildOpenApiDocument } from "./openapi.ts";
import { orderHandlers } from "./order-handlers.ts";
import { notFound } from "./problem.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { contextOf, requestContext } from "./request-context.ts";
import { addressRateLimit } from "./request-limits.ts";
import { routeGuard } from "./route-guard.ts";
import { ROUTES, type OperationId } from "./routes.ts";

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

export function createApp(options: ApiOptions): express.Express {
  const { store, authenticator, rateLimiter, logger, registry } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("trust proxy", trustProxySetting(options.trustProxy));

  app.use(requestContext(logger, registry));
  app.use(helmet());

  const handlers: Record<OperationId, (request: Request, response: Response) => Promise<void>> = {
    ...orderHandlers({ store, idempotencyTtlSeconds: options.idempotencyTtlSeconds, registry }),
    ...inventoryHandlers(store),
  };
  const methodsByPath = new Map<string, string[]>();
  for (const route of ROUTES) {
    app[route.method](
      route.path,
      routeGuard(route, { authenticator, rateLimiter }),
      handlers[route.operationId],
    );
    methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method.toUpperCase()]);
  }

  // Everything that is not an operation is limited per client address.
  app.use(addressRateLimit(rateLimiter));
  // Built on the first request, not at start: turning the schemas into JSON Schema is ~10 ms of every API pod's
  // start-to-ready (scale from zero), and few clients ever ask. Tests ask for it, so a broken schema still fails them.
  let openapi: string | undefined;
  app.get("/openapi.json", (_request, response) => {
    contextOf(response).route = "/openapi.json";
    openapi ??= JSON.stringify(buildOpenApiDocument(version, { authMode: authenticator.mode }));
    response.type("application/json").send(openapi);
  });
  methodsByPath.set("/openapi.json", ["GET"]);
  answerOtherMethodsWith405(app, methodsByPath);

  app.use(() => {
    throw notFound("no such route; see /openapi.json");
  });
  app.use(errorHandler);
  return app;
}
