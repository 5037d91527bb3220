// The HTTP server of the API: timeouts and limits against slow or greedy clients, and problem answers for the
// errors Node's HTTP parser meets before Express sees a request (oversized headers, timeouts, bad syntax).
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Registry } from "prom-client";
import { ConfigError, type ConfigOf } from "../shared/config.ts";
import type { Logger } from "../shared/logger.ts";
import type { apiServerEnv } from "./config.ts";
import { ParserErrorRecorder, parserProblem } from "./parser-errors.ts";
import { problemBody } from "./problem.ts";
import { requestIdOf } from "./request-context.ts";

export interface HttpServerOptions {
  /** Time a client has to send the request headers (slowloris). */
  headersTimeoutMs: number;
  /** Time a client has to send the whole request, body included (a trickled body). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept open. */
  keepAliveTimeoutMs: number;
  /** Requests served on one connection before it is closed (0: no cap). */
  maxRequestsPerConnection: number;
  /** Largest request head (request line and headers) in bytes; more is a 431. */
  maxHeaderBytes: number;
}

/** The request id the client sent in the raw bytes Node kept of the request, if any. */
function rawRequestId(rawPacket: unknown): string | undefined {
  if (!Buffer.isBuffer(rawPacket)) return undefined;
  const match = /\r\nx-request-id:[ \t]*([^\r\n]*)/i.exec(
    rawPacket.subarray(0, 64 * 1024).toString("latin1"),
  );
  return match?.[1]?.trim();
}

/** Answers a client error on the raw socket (as Node does itself, but as problem+json with X-Request-Id). */
function answerClientError(
  recorder: ParserErrorRecorder,
  error: Error & { code?: string; rawPacket?: unknown },
  socket: Socket,
): void {
  // The client went away: nothing to answer, nothing the server did wrong.
  if (error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const problem = parserProblem(error.code);
  const requestId = requestIdOf(rawRequestId(error.rawPacket));
  const response = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
  const answered = socket.writable && !response?.headersSent;
  recorder.record({ code: error.code, problem, requestId, remoteAddress: socket.remoteAddress, answered });
  if (!answered) {
    socket.destroy();
    return;
  }
  const { status, title } = problem;
  const body = JSON.stringify(problemBody(problem, "/", requestId));
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\n` +
      "Content-Type: application/problem+json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
    // Then close both directions, as Node does: a trickling client is not read any further.
    () => socket.destroy(),
  );
}

/** Where the server reports what its parser refuses (the role's logger and metrics registry). */
export interface HttpServerObservers {
  logger: Logger;
  registry: Registry;
}

/** An HTTP server for `app` with the given limits (not listening yet). */
export function createHttpServer(
  app: RequestListener<typeof IncomingMessage>,
  options: HttpServerOptions,
  observers: HttpServerObservers,
): Server {
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      maxHeaderSize: options.maxHeaderBytes,
      // How often Node checks the two timeouts above (its default, 30 s, would let a short timeout run long).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, options.headersTimeoutMs / 4)),
    },
    app,
  );
  server.maxRequestsPerSocket = options.maxRequestsPerConnection;
  const recorder = new ParserErrorRecorder(observers.logger, observers.registry);
  server.on("clientError", (error: Error & { code?: string }, socket: Socket) =>
    answerClientError(recorder, error, socket),
  );
  return server;
}

/** The server options of the API's configuration (apiServerEnv). */
export function httpServerOptions(config: ConfigOf<typeof apiServerEnv>): HttpServerOptions {
  if (config.API_REQUEST_TIMEOUT_MS < config.API_HEADERS_TIMEOUT_MS) {
    throw new ConfigError(
      "API_REQUEST_TIMEOUT_MS",
      `API_REQUEST_TIMEOUT_MS (${config.API_REQUEST_TIMEOUT_MS}) must be at least API_HEADERS_TIMEOUT_MS (${config.API_HEADERS_TIMEOUT_MS}): the headers are part of the request`,
    );
  }
  return {
    headersTimeoutMs: config.API_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.API_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.API_KEEP_ALIVE_TIMEOUT_MS,
    maxRequestsPerConnection: config.API_MAX_REQUESTS_PER_CONNECTION,
    maxHeaderBytes: config.API_MAX_HEADER_BYTES,
  };
}
