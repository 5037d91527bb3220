// The $management node: READ of a hub's and a partition's runtime properties.
import rhea from "rhea";
import type { EventContext } from "rhea";
import { entityNotFound, fieldText, resourcePath } from "./amqp-link.ts";
import type { ConnectionState } from "./connection-state.ts";
import type { EventHub } from "./event-hub.ts";
import { resourceCovers, verifySasToken } from "./sas-token.ts";

export function onManagementRequest(
  context: EventContext,
  state: ConnectionState,
  verifySasKey: string | undefined,
  findHub: (name: string) => EventHub | undefined,
): void {
  const request = context.message!;
  context.delivery!.accept();
  const props = request.application_properties ?? {};
  const name = fieldText(props.name) ?? "";
  const operation = fieldText(props.operation);
  if (operation !== "READ") {
    state.reply(context, 400, `Unsupported $management operation '${String(operation)}'.`);
    return;
  }
  if (verifySasKey !== undefined) {
    const verdict = verifySasToken(fieldText(props.security_token) ?? "", verifySasKey);
    if (!verdict.ok || !resourceCovers(resourcePath(verdict.token.resource), name)) {
      state.reply(context, 401, `Unauthorized: ${verdict.ok ? "wrong audience" : verdict.reason}.`);
      return;
    }
  }
  const hub = findHub(name);
  if (!hub) {
    state.reply(context, 404, entityNotFound(name).description!);
    return;
  }
  const types = rhea.types;
  const type = fieldText(props.type);
  if (type === "com.microsoft:eventhub") {
    state.reply(context, 200, "OK", {
      name: hub.name,
      created_at: types.wrap_timestamp(hub.createdAt.getTime()),
      partition_count: types.wrap_int(hub.partitions.length),
      // One copy, no geo-replication; the Go SDK (v2) requires the field.
      georeplication_factor: types.wrap_int(1),
      partition_ids: types.wrap_array(
        hub.partitions.map((p) => p.id),
        0xa1,
        undefined,
      ),
    });
    return;
  }
  if (type === "com.microsoft:partition") {
    const partitionId = fieldText(props.partition) ?? "";
    const partition = hub.partition(partitionId);
    if (!partition) {
      state.reply(context, 404, entityNotFound(`${hub.name}/Partitions/${partitionId}`).description!);
      return;
    }
    const info = partition.properties();
    state.reply(context, 200, "OK", {
      name: hub.name,
      partition: partition.id,
      begin_sequence_number: types.wrap_long(info.beginSequenceNumber),
      last_enqueued_sequence_number: types.wrap_long(info.lastSequenceNumber),
      last_enqueued_offset: String(info.lastOffset),
      last_enqueued_time_utc: types.wrap_timestamp(info.lastEnqueuedTimeMs),
      is_partition_empty: info.isEmpty,
    });
    return;
  }
  state.reply(context, 400, `Unsupported $management type '${String(type)}'.`);
}
