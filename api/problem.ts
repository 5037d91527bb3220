// RFC 9457 problem details: the one shape of every error the API answers, never a stack trace.
import type { Response } from "express";
import { ReplicasBehindError, WriteNotAcknowledgedError } from "../shared/redis-write-ack.ts";

export interface FieldError {
  /** Where in the body, e.g. `items.0.quantity` (empty for the body itself). */
  path: string;
  message: string;
}

export interface ProblemInit {
  status: number;
  /** Short, stable slug naming the kind of problem, e.g. `validation-failed`. */
  kind: string;
  title: string;
  detail?: string;
  errors?: FieldError[];
  /** Extra response headers (Retry-After, Allow, WWW-Authenticate). */
  headers?: Record<string, string>;
}

/** Thrown by handlers and middleware; the error handler turns it into an application/problem+json answer. */
export class ProblemError extends Error {
  override readonly name = "ProblemError";
  readonly problem: ProblemInit;
  constructor(problem: ProblemInit, options?: ErrorOptions) {
    super(problem.detail ?? problem.title, options);
    this.problem = problem;
  }
}

export const problemTypeUri = (kind: string) => `https://eventfleet.dev/problems/${kind}`;

/** The JSON body of a problem answer. */
export function problemBody(
  problem: ProblemInit,
  instance: string,
  requestId: string,
): Record<string, unknown> {
  return {
    type: problemTypeUri(problem.kind),
    title: problem.title,
    status: problem.status,
    ...(problem.detail ? { detail: problem.detail } : {}),
    instance,
    requestId,
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
}

export function sendProblem(
  response: Response,
  problem: ProblemInit,
  instance: string,
  requestId: string,
): void {
  for (const [name, value] of Object.entries(problem.headers ?? {})) response.setHeader(name, value);
  response
    .status(problem.status)
    .type("application/problem+json")
    .send(JSON.stringify(problemBody(problem, instance, requestId)));
}

/** A dependency (Redis) failed: 503 with a hint to retry shortly. */
export const dependencyDown = (what: string, cause?: unknown) =>
  new ProblemError(
    {
      status: 503,
      kind: "dependency-unavailable",
      title: "Service Unavailable",
      detail: `${what} is unavailable; retry shortly`,
      headers: { "Retry-After": "1" },
    },
    { cause },
  );

/** 404 with a detail naming what was not found. */
export const notFound = (detail: string) =>
  new ProblemError({ status: 404, kind: "not-found", title: "Not Found", detail });

/**
 * A write made on the Redis master that too few replicas confirmed (shared/redis-write-ack.ts): 503, as it may be
 * lost or kept; `retry` tells the client how to find out without doing it twice.
 */
export const writeNotAcknowledged = (error: WriteNotAcknowledgedError, retry: string) =>
  new ProblemError(
    {
      status: 503,
      kind: "write-not-acknowledged",
      title: "Service Unavailable",
      detail: `${error.message}, so it is not acknowledged: it may or may not take effect; ${retry}`,
      headers: { "Retry-After": "1" },
    },
    { cause: error },
  );

/** A write refused unmade as its master's replicas are behind (shared/redis-write-ack.ts): 503, retry shortly. */
export const replicasBehind = (error: ReplicasBehindError) =>
  new ProblemError(
    {
      status: 503,
      kind: "replicas-behind",
      title: "Service Unavailable",
      detail: `${error.message}; retry shortly`,
      headers: { "Retry-After": "1" },
    },
    { cause: error },
  );

/**
 * Runs a store call; any failure of Redis becomes a 503 (the process stays up and ioredis reconnects), except a
 * WriteNotAcknowledgedError or ReplicasBehindError, which the handler answers itself (writeNotAcknowledged,
 * replicasBehind).
 */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof WriteNotAcknowledgedError || error instanceof ReplicasBehindError) throw error;
    throw dependencyDown("the order store (Redis)", error);
  }
}
