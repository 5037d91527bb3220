// The last middleware: every error becomes an RFC 9457 problem answer; a 5xx only for our own faults.
import type { NextFunction, Request, Response } from "express";
import { MAX_BODY_BYTES } from "./route-guard.ts";
import { ProblemError, sendProblem } from "./problem.ts";
import { contextOf } from "./request-context.ts";

/** The problem of an error thrown by Express's router or body-parser (client errors), or undefined. */
function clientErrorProblem(error: unknown): ProblemError | undefined {
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
        detail: "send application/json in UTF-8, with identity, gzip, deflate or br encoding",
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
      break;
  }
  // A body that is not what its Content-Encoding says (zlib: Z_DATA_ERROR, Z_BUF_ERROR; brotli: ERR__ERROR_…).
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && /^(Z_|ERR_(_ERROR|BROTLI|ZLIB))/.test(code)) {
    return new ProblemError({
      status: 400,
      kind: "bad-content-encoding",
      title: "Bad Request",
      detail: "the body is not encoded as its Content-Encoding says; send it uncompressed or fix the header",
    });
  }
  // Any other error body-parser or the router marked as the client's (http-errors: expose, status 4xx): a 400,
  // the one client-error status every operation documents.
  const status = (error as { status?: unknown }).status;
  const exposed = (error as { expose?: unknown }).expose === true;
  if (exposed && typeof status === "number" && status >= 400 && status < 500) {
    return new ProblemError({
      status: 400,
      kind: "bad-request",
      title: "Bad Request",
      detail: "the request could not be read",
    });
  }
  return undefined;
}

export function errorHandler(
  error: unknown,
  request: Request,
  response: Response,
  _next: NextFunction,
): void {
  const context = contextOf(response);
  const problem =
    error instanceof ProblemError
      ? error
      : (clientErrorProblem(error) ??
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
}
