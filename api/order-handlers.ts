// The order operations: place (idempotent per principal and key), read and cancel.
import type { Request, Response } from "express";
import { Counter, type Registry } from "prom-client";
import { metricOnce } from "../shared/metrics.ts";
import { ReplicasBehindError, WriteNotAcknowledgedError } from "../shared/redis-write-ack.ts";
import { newCloudEvent } from "../shared/events/cloudevent.ts";
import { orderSubject, type OrderPlacedData } from "../shared/events/order-events.ts";
import { FINAL_STATUSES, type OrderRecord, type OrderStore } from "../shared/orders/order-store.ts";
import { SCOPES, type Principal } from "./auth.ts";
import { idempotencyKeyHeader, requestFingerprint } from "./idempotency.ts";
import { cancelOrderRequest, orderIdParam, placeOrderRequest, type OrderAccepted } from "./order-request.ts";
import { notFound, ProblemError, replicasBehind, storeCall, writeNotAcknowledged } from "./problem.ts";
import { markReplayedOrder, startOutboxSpan } from "../shared/telemetry/order-spans.ts";
import { contextOf } from "./request-context.ts";
import { parseOr400 } from "./request-validation.ts";

export const EVENT_SOURCE = "/eventfleet/api";

export interface OrderHandlerOptions {
  store: OrderStore;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlSeconds: number;
  registry: Registry;
}

type Operation = "place_order" | "cancel_order";

function unacknowledgedWrites(registry: Registry): Counter<"operation"> {
  return metricOnce(
    registry,
    "eventfleet_redis_write_unacknowledged_total",
    () =>
      new Counter({
        name: "eventfleet_redis_write_unacknowledged_total",
        help: "Writes answered 503 because fewer than REDIS_WRITE_REPLICAS replicas confirmed them in time (or, within a second after that, refused unmade on the same master), by operation.",
        labelNames: ["operation"],
        registers: [registry],
      }),
  );
}

type Handler = (request: Request, response: Response) => Promise<void>;

function orderView(order: OrderRecord) {
  const { orderId, owner: _owner, ...rest } = order;
  return { id: orderId, ...rest };
}

/**
 * Whether `principal` may read or cancel `order`: the principal that placed it, or an operator (orders:admin).
 * Anyone else is told the order does not exist, so order ids cannot be probed.
 */
function mayAccess(principal: Principal | undefined, order: OrderRecord): boolean {
  if (!principal) return false;
  return principal.scopes.has(SCOPES.ordersAdmin) || order.owner === principal.id;
}

export function orderHandlers(options: OrderHandlerOptions): {
  placeOrder: Handler;
  getOrder: Handler;
  cancelOrder: Handler;
} {
  const { store } = options;
  const unacknowledged = unacknowledgedWrites(options.registry);

  /**
   * A store write whose replicas did not confirm it: counted, logged, and answered 503 with what the client should
   * do. The write stays on the master: if it survives, the order (or cancel) takes effect and its event is published.
   * One refused unmade as that master's replicas were behind a moment ago is counted and answered 503 too.
   */
  const acknowledgedWrite = async <T>(
    response: Response,
    operation: Operation,
    orderId: string,
    retry: string,
    call: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await storeCall(call);
    } catch (error) {
      if (error instanceof ReplicasBehindError) {
        unacknowledged.inc({ operation });
        throw replicasBehind(error);
      }
      if (!(error instanceof WriteNotAcknowledgedError)) throw error;
      unacknowledged.inc({ operation });
      contextOf(response).logger.warn(
        { orderId, operation, acknowledged: error.acknowledged, required: error.required, err: error },
        "write not confirmed by enough Redis replicas: answered 503 (the client should retry)",
      );
      throw writeNotAcknowledged(error, retry);
    }
  };

  /** The first answer to an Idempotency-Key, as stored with the order. */
  const storedAnswer = (text: string) => JSON.parse(text) as { location: string; body: OrderAccepted };

  const placeOrder: Handler = async (request, response) => {
    const context = contextOf(response);
    const rawKey = request.get("idempotency-key");
    const key =
      rawKey === undefined ? undefined : parseOr400(idempotencyKeyHeader, rawKey, "Idempotency-Key");
    const body = parseOr400(placeOrderRequest, request.body, "order");
    const principal = context.principal?.id ?? "anonymous";
    // With an Idempotency-Key, the order lives in the key's slot group (one script writes both on a cluster).
    const orderId = store.newOrderId(key ? { principal, key } : undefined);
    const placedAt = new Date().toISOString();
    const order: OrderPlacedData = {
      orderId,
      customerId: body.customerId,
      items: body.items,
      currency: body.currency,
      totalCents: body.items.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0),
      shippingAddress: body.shippingAddress,
      contact: body.contact,
      placedAt,
    };
    const outbox = startOutboxSpan(context.traceparent, "order.placed", orderId);
    const event = newCloudEvent({
      type: "order.placed",
      source: EVENT_SOURCE,
      subject: orderSubject(orderId),
      data: order,
      traceparent: outbox?.traceparent ?? context.traceparent,
      orderversion: 1,
    });
    const accepted: OrderAccepted = { id: orderId, status: "ACKNOWLEDGED", version: 1 };
    const location = `/v1/orders/${orderId}`;
    const result = await acknowledgedWrite(
      response,
      "place_order",
      orderId,
      key
        ? "retry with the same Idempotency-Key and body: you get this order, never a second one"
        : `GET ${location} shows whether it was kept; a retry without an Idempotency-Key places a second order`,
      () =>
        store.createOrder({
          order,
          event,
          ...(context.principal ? { owner: context.principal.id } : {}),
          ...(key
            ? {
                idempotency: {
                  principal,
                  key,
                  fingerprint: requestFingerprint(body),
                  response: JSON.stringify({ location, body: accepted }),
                  ttlSeconds: options.idempotencyTtlSeconds,
                },
              }
            : {}),
        }),
    )
      .then((written) => {
        if (written.outcome !== "replay") return written;
        // Read once: it names the order in the spans (before the outbox span ends) and is the answer sent below.
        const stored = storedAnswer(written.response);
        markReplayedOrder(outbox, stored.body.id);
        return { ...written, stored };
      })
      .finally(() => outbox?.span.end());
    if (result.outcome === "conflict") {
      throw new ProblemError({
        status: 422,
        kind: "idempotency-key-reused",
        title: "Unprocessable Content",
        detail: "this Idempotency-Key was used for a different request; use a new key for a new order",
      });
    }
    if (result.outcome === "replay") {
      const { stored } = result;
      response.setHeader("Idempotent-Replayed", "true");
      response.status(202).location(stored.location).json(stored.body);
      return;
    }
    context.logger.info({ orderId, eventId: event.id }, "order acknowledged");
    response.status(202).location(location).json(accepted);
  };

  /** The order `id` if the caller may access it; otherwise a 404 problem. */
  const accessibleOrder = async (id: string, principal: Principal | undefined): Promise<OrderRecord> => {
    if (!orderIdParam.safeParse(id).success) throw notFound(`no order ${id}`);
    const order = await storeCall(() => store.getOrder(id));
    if (!order || !mayAccess(principal, order)) throw notFound(`no order ${id}`);
    return order;
  };

  const getOrder: Handler = async (request, response) => {
    const order = await accessibleOrder(String(request.params.id), contextOf(response).principal);
    response.json(orderView(order));
  };

  const cancelOrder: Handler = async (request, response) => {
    const context = contextOf(response);
    const id = String(request.params.id);
    // Ownership never changes, so checking it before the cancel step leaves no window.
    await accessibleOrder(id, context.principal);
    const body = parseOr400(cancelOrderRequest, request.body ?? {}, "cancel request");
    const outbox = startOutboxSpan(context.traceparent, "order.cancelled", id);
    const event = newCloudEvent({
      type: "order.cancelled",
      source: EVENT_SOURCE,
      subject: orderSubject(id),
      data: {
        orderId: id,
        ...(body.reason ? { reason: body.reason } : {}),
        cancelledAt: new Date().toISOString(),
      },
      traceparent: outbox?.traceparent ?? context.traceparent,
    });
    const result = await acknowledgedWrite(
      response,
      "cancel_order",
      id,
      `read the order (GET /v1/orders/${id}) to see whether it is CANCELLED, or retry the cancel`,
      () => store.cancel(id, { eventId: event.id, reason: body.reason, events: [event] }),
    ).finally(() => outbox?.span.end());
    if (!result.applied && result.reason === "not_found") throw notFound(`no order ${id}`);
    if (!result.applied) {
      const status = result.order.status;
      throw new ProblemError({
        status: 409,
        kind: "order-not-cancellable",
        title: "Conflict",
        detail: FINAL_STATUSES.includes(status)
          ? `the order is already ${status}; only orders that have not shipped or ended can be cancelled`
          : `the order changed meanwhile (now ${status}); read it and try again`,
      });
    }
    context.logger.info({ orderId: id, eventId: event.id }, "order cancelled");
    const accepted: OrderAccepted = { id, status: result.order.status, version: result.order.version };
    response.status(202).location(`/v1/orders/${id}`).json(accepted);
  };

  return { placeOrder, getOrder, cancelOrder };
}
