// Links the peer receives events on: `<hub>/ConsumerGroups/<group>/Partitions/<n>`, with start position and owner level.
import rhea from "rhea";
import type { Sender } from "rhea";
import { amqpError, entityPath, entityNotFound, internals, refuse, unauthorized } from "./amqp-link.ts";
import type { ConnectionState } from "./connection-state.ts";
import type { EventHub } from "./event-hub.ts";
import { PartitionConsumer } from "./partition-consumer.ts";
import { InvalidFilterError, parseStartPosition } from "./start-position.ts";

const SELECTOR_FILTER = "apache.org:selector-filter:string";
const EPOCH_PROPERTY = "com.microsoft:epoch";
const RUNTIME_METRIC = "com.microsoft:enable-receiver-runtime-metric";

const EVENTS_PATH = /^([^/]+)\/ConsumerGroups\/([^/]+)\/Partitions\/([^/]+)$/i;

function toArray(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export interface ReceiveLinkContext {
  state: ConnectionState;
  findHub(name: string): EventHub | undefined;
  isAuthorized(path: string): boolean;
  reencode: boolean;
}

/** Starts sending a partition's events on `sender`, or refuses the link as the service would. */
export function sendEvents(sender: Sender, context: ReceiveLinkContext): void {
  const link = internals(sender);
  const source = link.remote.attach?.source ?? undefined;
  const path = entityPath(source?.address);
  const match = EVENTS_PATH.exec(path);
  const hub = match ? context.findHub(match[1]!) : undefined;
  if (!match || !hub || !hub.hasConsumerGroup(match[2]!) || !hub.partition(match[3]!)) {
    refuse(sender, entityNotFound(path));
    return;
  }
  const consumerGroup = match[2]!;
  const partition = hub.partition(match[3]!)!;
  if (!context.isAuthorized(path)) {
    refuse(sender, unauthorized(path));
    return;
  }
  let startSequenceNumber: number;
  try {
    // The filter value arrives still described (descriptor 0x468C00000004): take its text.
    const selector: unknown = rhea.types.unwrap(source?.filter?.[SELECTOR_FILTER], false);
    startSequenceNumber = partition.startSequenceNumber(
      parseStartPosition(typeof selector === "string" ? selector : undefined),
    );
  } catch (error) {
    if (!(error instanceof InvalidFilterError)) throw error;
    refuse(sender, amqpError("amqp:invalid-field", error.message));
    return;
  }
  const properties = link.remote.attach?.properties ?? {};
  const epoch = properties[EPOCH_PROPERTY];
  const ownerLevel =
    typeof epoch === "number" ? epoch : typeof epoch === "bigint" ? Number(epoch) : undefined;
  const desired = toArray(link.remote.attach?.desired_capabilities);
  const runtimeMetrics = desired.includes(RUNTIME_METRIC) || properties[RUNTIME_METRIC] === true;
  if (runtimeMetrics) link.local.attach.offered_capabilities = [RUNTIME_METRIC];
  // Events go out pre-settled: the SDK's receiver accepts them anyway and there is nothing to redeliver.
  link.local.attach.snd_settle_mode = 1;

  const consumer = new PartitionConsumer(sender, partition, startSequenceNumber, {
    runtimeMetrics,
    ownerLevel,
    reencode: context.reencode,
  });
  const ownership = hub.receiversOf(consumerGroup, partition.id);
  const verdict = ownership.admit(consumer);
  if (!verdict.admitted) {
    refuse(sender, amqpError(verdict.condition, verdict.description));
    return;
  }
  const { state } = context;
  const release = () => {
    consumer.stop();
    ownership.release(consumer);
    state.cleanups.delete(release);
  };
  state.cleanups.add(release);
  sender.on("sender_close", release);
  sender.on("session_close", release);
  sender.on("sendable", () => consumer.pump());
  consumer.start();
}
