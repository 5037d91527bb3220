// The $cbs node: put-token requests, checked against the SAS key when the emulator verifies keys.
import type { EventContext } from "rhea";
import { fieldText, resourcePath } from "./amqp-link.ts";
import type { ConnectionState } from "./connection-state.ts";
import { resourceCovers, verifySasToken } from "./sas-token.ts";

const SAS_TOKEN_TYPE = "servicebus.windows.net:sastoken";

/** The token in a put-token body: a string, bytes, or a (token, expiry) pair. */
function tokenOf(body: unknown): string {
  if (Array.isArray(body)) return tokenOf(body[0]);
  return fieldText(body) ?? String(body);
}

export function onCbsRequest(
  context: EventContext,
  state: ConnectionState,
  verifySasKey: string | undefined,
): void {
  const request = context.message!;
  context.delivery!.accept();
  const props = request.application_properties ?? {};
  const operation = fieldText(props.operation);
  if (operation !== "put-token") {
    state.reply(context, 400, `Unsupported $cbs operation '${String(operation)}'.`);
    return;
  }
  const audience = fieldText(props.name) ?? "";
  if (verifySasKey !== undefined) {
    if (fieldText(props.type) !== SAS_TOKEN_TYPE) {
      state.reply(context, 401, `Only SAS tokens (${SAS_TOKEN_TYPE}) can be verified by the emulator.`);
      return;
    }
    const verdict = verifySasToken(tokenOf(request.body), verifySasKey);
    if (!verdict.ok) {
      state.reply(context, 401, `InvalidSignature: ${verdict.reason}.`);
      return;
    }
    if (!resourceCovers(verdict.token.resource.toLowerCase(), audience.toLowerCase())) {
      state.reply(context, 401, `InvalidAudience: the token is for ${verdict.token.resource}.`);
      return;
    }
    state.grant(resourcePath(audience), verdict.token.expiresAt * 1000);
  }
  state.reply(context, 202, "Accepted");
}
