// Per-request context: request id, trace, logger, principal and the HTTP duration metric of each answer.
import { randomUUID } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { Histogram, type Registry } from "prom-client";
import { newTraceparent, traceparentSchema } from "../shared/events/cloudevent.ts";
import type { Logger } from "../shared/logger.ts";
import { exemplarOption, observeWithTrace } from "../shared/telemetry/exemplars.ts";
import { activeTraceparent } from "../shared/telemetry/spans.ts";
import type { Principal } from "./auth.ts";

export interface RequestContext {
  requestId: string;
  traceparent: string;
  logger: Logger;
  principal?: Principal;
  /** The route label of the HTTP metrics (bounded: route templates only). */
  route: string;
}

export const contextOf = (response: Response) => response.locals.context as RequestContext;

/** X-Request-Id values taken from the client; anything else is replaced by a fresh uuid. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id a client sent if it is acceptable, otherwise a new one. */
export const requestIdOf = (incoming: string | undefined) =>
  incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();

/** The first middleware: sets up the context, answers X-Request-Id, and logs and times every answer. */
export function requestContext(logger: Logger, registry: Registry): RequestHandler {
  const httpDuration = new Histogram({
    name: "eventfleet_http_request_duration_seconds",
    help: "HTTP requests of the order API by method, route template and status code.",
    labelNames: ["method", "route", "status_code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
    ...exemplarOption(registry),
  });
  return (request: Request, response: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdOf(request.get("x-request-id"));
    const incomingTrace = request.get("traceparent");
    const traceparent =
      activeTraceparent() ?? // the request's span, when tracing is on
      (incomingTrace && traceparentSchema.safeParse(incomingTrace).success
        ? incomingTrace
        : newTraceparent());
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
      observeWithTrace(
        httpDuration,
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
  };
}
