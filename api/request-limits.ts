// Rate limiting of a request: per principal once authenticated, per client address before (failed
// authentication, /openapi.json, unknown routes), with the RateLimit headers on every answer.
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { ProblemError } from "./problem.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { contextOf } from "./request-context.ts";

/** The bucket of a request that names no principal: its client address (X-Forwarded-For per TRUST_PROXY). */
export const addressBucket = (request: Request) => `ip:${request.ip ?? "unknown"}`;

/** Takes a token from `bucket`; sets the RateLimit headers; throws a 429 problem when there is none. */
export async function enforceRateLimit(
  rateLimiter: RateLimiter,
  bucket: string,
  response: Response,
): Promise<void> {
  let decision;
  try {
    decision = await rateLimiter.take(bucket);
  } catch (error) {
    // Fail open: the limiter protects Redis-backed work that fails with 503 anyway when Redis is down.
    contextOf(response).logger.warn({ err: error }, "rate limiter unavailable; letting the request through");
    return;
  }
  for (const [name, value] of Object.entries(decision.headers)) response.setHeader(name, value);
  if (!decision.allowed) {
    throw new ProblemError({
      status: 429,
      kind: "rate-limited",
      title: "Too Many Requests",
      detail:
        `this client sends requests faster than allowed (${rateLimiter.policy.perSecond}/s with bursts of ` +
        `${rateLimiter.policy.burst}: the API's RATE_LIMIT_PER_SECOND and RATE_LIMIT_BURST); retry in ` +
        `${decision.retryAfterSeconds} s`,
      headers: { "Retry-After": String(decision.retryAfterSeconds) },
    });
  }
}

/** Middleware for what is not an operation (the API description, 404s, 405s): limited per client address. */
export function addressRateLimit(rateLimiter: RateLimiter): RequestHandler {
  return async (request: Request, response: Response, next: NextFunction) => {
    await enforceRateLimit(rateLimiter, addressBucket(request), response);
    next();
  };
}
