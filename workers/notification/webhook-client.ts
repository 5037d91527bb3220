// Delivers one notification as a signed HTTP POST; says whether a failure is worth retrying.
import { PermanentError, RetryableError, errorMessage } from "../../shared/errors.ts";
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signatureHeader } from "./webhook-signature.ts";

export interface WebhookClientOptions {
  url: string;
  secret: string;
  /** Per request; a timeout is retried. */
  timeoutMs: number;
}

/** Retry-After as seconds or an HTTP date, in ms. */
function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export class WebhookClient {
  readonly #options: WebhookClientOptions;

  constructor(options: WebhookClientOptions) {
    this.#options = options;
  }

  /**
   * POSTs `payload`; resolves with the status on 2xx. Timeouts, network errors, 5xx, 408 and 429 throw a
   * RetryableError; any other answer (4xx, redirects) throws a PermanentError `webhook_rejected`.
   */
  async deliver(payload: unknown, idempotencyKey: string): Promise<number> {
    const body = JSON.stringify(payload);
    let response: Response;
    try {
      response = await fetch(this.#options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "eventfleet-notification",
          [IDEMPOTENCY_HEADER]: idempotencyKey,
          [SIGNATURE_HEADER]: signatureHeader(this.#options.secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      throw new RetryableError(
        timedOut
          ? `webhook did not answer within ${this.#options.timeoutMs} ms`
          : `webhook unreachable: ${errorMessage((error as { cause?: unknown }).cause ?? error)}`,
        { cause: error },
      );
    }
    // Drain the body so the connection can be reused.
    const text = await response.text().catch(() => "");
    const status = response.status;
    if (status >= 200 && status < 300) return status;
    const detail = `webhook answered ${status}${text ? `: ${text.slice(0, 200)}` : ""}`;
    if (status >= 500 || status === 408 || status === 429) {
      throw new RetryableError(detail, { retryAfterMs: retryAfterMs(response.headers.get("retry-after")) });
    }
    throw new PermanentError("webhook_rejected", detail);
  }
}
