// The receiver's start position, as the SDK writes it into the `apache.org:selector-filter:string` filter.

export type StartPosition =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "offset"; offset: number; inclusive: boolean }
  | { kind: "sequenceNumber"; sequenceNumber: number; inclusive: boolean }
  | { kind: "enqueuedTime"; enqueuedTimeMs: number; inclusive: boolean };

export class InvalidFilterError extends Error {
  override name = "InvalidFilterError";
}

const SELECTOR =
  /^\s*amqp\.annotation\.x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'([^']*)'\s*$/i;

/**
 * Parses `amqp.annotation.x-opt-offset > '<o>'` (`'-1'` earliest, `'@latest'` latest),
 * `amqp.annotation.x-opt-sequence-number >= '<n>'` or `amqp.annotation.x-opt-enqueued-time > '<ms>'`.
 * No filter means the start of the partition, as in the service.
 */
export function parseStartPosition(selector: string | undefined): StartPosition {
  if (selector === undefined) return { kind: "earliest" };
  const match = SELECTOR.exec(selector);
  if (!match) throw new InvalidFilterError(`unsupported selector filter: ${selector}`);
  const [, field, operator, value] = match as unknown as [string, string, string, string];
  const inclusive = operator === ">=";
  const number = Number(value);
  switch (field.toLowerCase()) {
    case "offset":
      if (value === "@latest") return { kind: "latest" };
      if (value === "-1") return { kind: "earliest" };
      if (!Number.isInteger(number) || number < 0) throw new InvalidFilterError(`invalid offset '${value}'`);
      return { kind: "offset", offset: number, inclusive };
    case "sequence-number":
      if (!Number.isInteger(number)) throw new InvalidFilterError(`invalid sequence number '${value}'`);
      return { kind: "sequenceNumber", sequenceNumber: number, inclusive };
    default: {
      const ms = /^\d+$/.test(value) ? number : Date.parse(value);
      if (!Number.isFinite(ms)) throw new InvalidFilterError(`invalid enqueued time '${value}'`);
      return { kind: "enqueuedTime", enqueuedTimeMs: ms, inclusive };
    }
  }
}
