// Link plumbing shared by the emulator's endpoints: rhea's link internals, entity paths, and refusals as the service words them.
import type { AmqpError, Receiver, Sender } from "rhea";

/** The parts of rhea's link objects the emulator reads; rhea's typings leave them out. */
export interface Terminus {
  address?: string;
  filter?: Record<string, unknown>;
}
export interface AttachFrame {
  source?: Terminus | null;
  target?: Terminus | null;
  properties?: Record<string, unknown> | null;
  desired_capabilities?: string | string[];
  max_message_size?: number;
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
  offered_capabilities?: string | string[];
}
export interface LinkInternals {
  name: string;
  remote: { attach?: AttachFrame };
  local: { attach: AttachFrame };
  session: unknown;
}

export function internals(link: Sender | Receiver): LinkInternals {
  return link as unknown as LinkInternals;
}

/** An AMQP error as the service sends it: always with an `info` map (clients index into it). */
export function amqpError(condition: string, description: string): AmqpError {
  return { condition, description, info: {} };
}

export function entityNotFound(path: string): AmqpError {
  return amqpError(
    "amqp:not-found",
    `The messaging entity '${path}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.`,
  );
}

export function unauthorized(path: string): AmqpError {
  return amqpError(
    "amqp:unauthorized-access",
    `Unauthorized access to '${path}': put a valid token on $cbs first.`,
  );
}

/** An entity path without a scheme and host, e.g. `telemetry/Partitions/0`. */
export function entityPath(address: string | undefined): string {
  if (!address) return "";
  const withoutScheme = address.replace(/^[a-z]+:\/\/[^/]+\//i, "");
  return withoutScheme.replace(/^\/+/, "");
}

/** The entity path of a token audience or resource URI. */
export function resourcePath(resource: string): string {
  try {
    return entityPath(new URL(resource).pathname);
  } catch {
    return entityPath(resource);
  }
}

/**
 * The service's side of an attach: its terminus and sender settlement mode echo the peer's (go-amqp checks it),
 * its properties are a map (never null), and every link states the largest message it takes.
 */
export function describeLocalEnd(link: Sender | Receiver, maxMessageSize: number): void {
  const { remote, local } = internals(link);
  link.set_source({ address: remote.attach?.source?.address ?? "" });
  link.set_target({ address: remote.attach?.target?.address ?? "" });
  local.attach.max_message_size = maxMessageSize;
  if (remote.attach?.snd_settle_mode !== undefined)
    local.attach.snd_settle_mode = remote.attach.snd_settle_mode;
  // Like the service, settle on the first disposition whatever the peer asks (the Python SDK asks for "second").
  local.attach.rcv_settle_mode = 0;
  local.attach.properties ??= { "com.microsoft:tracking-id": crypto.randomUUID() };
}

/** Refuses an attach: a null terminus on this side, then a detach with the error. */
export function refuse(link: Sender | Receiver, error: AmqpError): void {
  const attach = internals(link).local.attach;
  if (link.is_sender()) attach.source = null;
  else attach.target = null;
  link.close(error);
}

/** A request field that clients send as a string or as UTF-8 bytes (the Python SDK sends bytes). */
export function fieldText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "number") return String(value);
  return undefined;
}
