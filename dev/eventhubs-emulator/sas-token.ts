// Shared Access Signature tokens as the SDK puts them on $cbs: parse, and verify against a key.
import { createHmac, timingSafeEqual } from "node:crypto";

export interface SasToken {
  /** The resource URI the token was signed for (decoded), e.g. `sb://127.0.0.1:5672/telemetry`. */
  resource: string;
  /** The `sr` field exactly as the client wrote it (still URL-encoded): what it signed. */
  signedResource: string;
  /** Expiry, in seconds since the epoch. */
  expiresAt: number;
  keyName: string;
  signature: string;
}

export type SasVerdict = { ok: true; token: SasToken } | { ok: false; reason: string };

/** Parses `SharedAccessSignature sr=<uri>&sig=<sig>&se=<expiry>&skn=<name>`. */
export function parseSasToken(text: string): SasToken | undefined {
  const prefix = "SharedAccessSignature ";
  if (!text.startsWith(prefix)) return undefined;
  const fields = new Map<string, string>();
  const rawFields = new Map<string, string>();
  for (const part of text.slice(prefix.length).split("&")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    rawFields.set(part.slice(0, eq), part.slice(eq + 1));
    fields.set(part.slice(0, eq), decodeURIComponent(part.slice(eq + 1).replace(/\+/g, " ")));
  }
  const resource = fields.get("sr");
  const signedResource = rawFields.get("sr");
  const signature = fields.get("sig");
  const expiresAt = Number(fields.get("se"));
  if (resource === undefined || signedResource === undefined || signature === undefined) return undefined;
  if (!Number.isFinite(expiresAt)) return undefined;
  return { resource, signedResource, signature, expiresAt, keyName: fields.get("skn") ?? "" };
}

/**
 * Checks the signature (HMAC-SHA256 of `sr` as written in the token + "\n" + `se`, keyed with the key text, as
 * the service checks it: each SDK encodes the URI its own way, the Go SDK even in lower case) and the expiry.
 */
export function verifySasToken(text: string, key: string, nowMs = Date.now()): SasVerdict {
  const token = parseSasToken(text);
  if (!token) return { ok: false, reason: "the token is not a SharedAccessSignature" };
  const expected = createHmac("sha256", key).update(`${token.signedResource}\n${token.expiresAt}`).digest();
  const given = Buffer.from(token.signature, "base64");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "the token's signature does not match the shared access key" };
  }
  if (token.expiresAt * 1000 <= nowMs) return { ok: false, reason: "the token has expired" };
  return { ok: true, token };
}

/** Whether a token signed for `resource` grants access to `audience` (the same URI or below it). */
export function resourceCovers(resource: string, audience: string): boolean {
  const normalize = (uri: string) => uri.toLowerCase().replace(/\/+$/, "");
  const r = normalize(resource);
  const a = normalize(audience);
  return a === r || a.startsWith(`${r}/`);
}
