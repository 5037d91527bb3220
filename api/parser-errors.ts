// The errors Node's HTTP parser meets before Express sees a request (bad syntax, oversized head, timeouts):
// the answer each gets, and the one log line and counter that make them visible (the access log never sees them).
import { Counter, type Registry } from "prom-client";
import type { Logger } from "../shared/logger.ts";
import { metricOnce } from "../shared/metrics.ts";

/** The bounded `reason` label of eventfleet_http_parser_errors_total. */
export type ParserErrorReason = "header_overflow" | "bad_request" | "timeout";

export interface ParserProblem {
  reason: ParserErrorReason;
  status: number;
  kind: string;
  title: string;
  detail: string;
}

/** What a parser error code means and how it is answered (as Node would, but as a problem). */
export function parserProblem(code: string | undefined): ParserProblem {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return {
        reason: "header_overflow",
        status: 431,
        kind: "headers-too-large",
        title: "Request Header Fields Too Large",
        detail: "the request headers are too large; send fewer or smaller headers",
      };
    // Node 24 reports both API_HEADERS_TIMEOUT_MS and API_REQUEST_TIMEOUT_MS running out with this code.
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return {
        reason: "timeout",
        status: 408,
        kind: "request-timeout",
        title: "Request Timeout",
        detail: "the request was not received in time",
      };
    default:
      return {
        reason: "bad_request",
        status: 400,
        kind: "malformed-request",
        title: "Bad Request",
        detail: "the request is not valid HTTP/1.1",
      };
  }
}

export interface ParserErrorReport {
  code: string | undefined;
  problem: ParserProblem;
  requestId: string;
  remoteAddress: string | undefined;
  /** False when the socket could no longer take an answer (closed, or a response already under way). */
  answered: boolean;
}

/** Logs and counts parser errors; one per server (its counter is the registry's one). */
export class ParserErrorRecorder {
  readonly #logger: Logger;
  readonly #errors: Counter<"reason">;

  constructor(logger: Logger, registry: Registry) {
    this.#logger = logger;
    this.#errors = metricOnce(
      registry,
      "eventfleet_http_parser_errors_total",
      () =>
        new Counter({
          name: "eventfleet_http_parser_errors_total",
          help: "Requests refused by the HTTP parser before routing, by reason (header_overflow, bad_request, timeout).",
          labelNames: ["reason"],
          registers: [registry],
        }),
    );
    // Every reason is exported from the start, so a rate over it is 0 rather than absent.
    for (const reason of ["header_overflow", "bad_request", "timeout"] as const)
      this.#errors.inc({ reason }, 0);
  }

  /** One log line (no request content: only the code, what was answered and to whom) and one count. */
  record({ code, problem, requestId, remoteAddress, answered }: ParserErrorReport): void {
    this.#errors.inc({ reason: problem.reason });
    this.#logger.info(
      { requestId, reason: problem.reason, code, status: problem.status, answered, remoteAddress },
      "http parser error",
    );
  }
}
