// What runs before every operation: authenticate, check the scope, take a rate-limit token, read the JSON body.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { requireScope, type Authenticator, type Principal } from "./auth.ts";
import { ProblemError } from "./problem.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { contextOf } from "./request-context.ts";
import { addressBucket, enforceRateLimit } from "./request-limits.ts";
import { openApiPath, type RouteSpec } from "./routes.ts";

export const MAX_BODY_BYTES = 64 * 1024;

export interface RouteGuardOptions {
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
}

const unsupportedMediaType = (detail: string) =>
  new ProblemError({ status: 415, kind: "unsupported-media-type", title: "Unsupported Media Type", detail });

/** The charset parameter of a Content-Type, lower case, or undefined. */
function charsetOf(contentType: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? "")?.[1]?.toLowerCase();
}

/** The guard of one route, as Express middleware (errors go to the error handler as ProblemErrors). */
export function routeGuard(route: RouteSpec, options: RouteGuardOptions): RequestHandler {
  const { authenticator, rateLimiter } = options;
  const jsonBody = express.json({ limit: MAX_BODY_BYTES, strict: true, type: () => true });
  return async (request: Request, response: Response, next: NextFunction) => {
    const context = contextOf(response);
    context.route = openApiPath(route.path);
    let principal: Principal;
    try {
      principal = await authenticator.authenticate(request);
    } catch (error) {
      // Failed attempts count against the client address, so guessing keys is as slow as any other request.
      if (error instanceof ProblemError && error.problem.status === 401) {
        await enforceRateLimit(rateLimiter, addressBucket(request), response);
      }
      throw error;
    }
    context.principal = principal;
    requireScope(principal, route.scope);
    await enforceRateLimit(rateLimiter, principal.id, response);
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
        throw unsupportedMediaType("send the body as application/json");
      } else if (![undefined, "utf-8", "utf8"].includes(charsetOf(request.get("content-type")))) {
        // JSON is UTF-8 (RFC 8259 §8.1); body-parser would decode UTF-16 and then fail to parse it (400).
        throw unsupportedMediaType("send the body in UTF-8 (charset=utf-8, or no charset)");
      } else {
        await new Promise<void>((resolve, reject) =>
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- body-parser errors are Errors
          jsonBody(request, response, (error?: unknown) => (error ? reject(error as Error) : resolve())),
        );
      }
    }
    next();
  };
}
