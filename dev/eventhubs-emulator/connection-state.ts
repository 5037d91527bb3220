// What the emulator keeps per AMQP connection: reply links of $cbs/$management, CBS grants, cleanups on close.
import rhea from "rhea";
import type { EventContext, Message, Receiver, Sender } from "rhea";
import { entityPath, internals } from "./amqp-link.ts";
import { resourceCovers } from "./sas-token.ts";

interface TokenGrant {
  resourcePath: string;
  expiresAtMs: number;
}

export class ConnectionState {
  private readonly replyLinks = new Set<Sender>();
  private readonly grants: TokenGrant[] = [];
  readonly cleanups = new Set<() => void>();

  /** A link the peer reads $cbs or $management replies on. */
  addReplyLink(sender: Sender): void {
    this.replyLinks.add(sender);
    sender.on("sender_close", () => this.replyLinks.delete(sender));
  }

  /**
   * Where the reply to a request goes, as the service routes it: the link named by `reply-to` (the JS and Go SDKs
   * set it to their receiver's address), else the reply link paired with the request link (the Python SDK sets no
   * `reply-to`): the same link name, else the same node in the same session, else the same node at all.
   */
  replyLinkFor(request: Message, requestLink: Receiver): Sender | undefined {
    const open = [...this.replyLinks].filter((link) => link.is_open());
    const replyTo = typeof request.reply_to === "string" ? request.reply_to : undefined;
    if (replyTo !== undefined) {
      return open.find(
        (link) => internals(link).remote.attach?.target?.address === replyTo || link.name === replyTo,
      );
    }
    const node = entityPath(internals(requestLink).remote.attach?.target?.address);
    const sameNode = open.filter(
      (link) => entityPath(internals(link).remote.attach?.source?.address) === node,
    );
    return (
      sameNode.find((link) => link.name === requestLink.name) ??
      sameNode.find((link) => internals(link).session === internals(requestLink).session) ??
      sameNode[0]
    );
  }

  /** Answers a $cbs or $management request with `status-code`/`status-description`, correlated by message id. */
  reply(context: EventContext, status: number, description: string, body?: unknown): void {
    const request = context.message!;
    const sender = this.replyLinkFor(request, context.receiver!);
    if (!sender) return;
    sender.send({
      correlation_id: request.message_id,
      // The service sends an int; rhea would pick uint for a positive number, which go-amqp refuses.
      application_properties: {
        "status-code": rhea.types.wrap_int(status),
        "status-description": description,
      },
      body,
    });
  }

  grant(resourcePath: string, expiresAtMs: number): void {
    this.grants.push({ resourcePath, expiresAtMs });
  }

  /** Whether a token put on $cbs (and not expired) covers this entity. */
  isGranted(path: string, nowMs = Date.now()): boolean {
    return this.grants.some((grant) => grant.expiresAtMs > nowMs && resourceCovers(grant.resourcePath, path));
  }

  close(): void {
    for (const cleanup of this.cleanups) cleanup();
    this.cleanups.clear();
  }
}
