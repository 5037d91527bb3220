"""Conformance client: drives the emulator with the unpatched Python SDK (azure-eventhub) and reports checks as JSON.

Run by conformance.test.ts through the venv that scripts/install-python-deps.sh makes. Each subcommand prints
one JSON object {"checks": {name: "ok" | what went wrong}} on stdout, except `balance`, which prints one JSON
line per event it processes and per partition it gains or loses, until its standard input closes.
"""

import argparse
import datetime
import json
import sys
import threading
import time
import uuid

from azure.eventhub import EventData, EventHubConsumerClient, EventHubProducerClient
from azure.eventhub.amqp import AmqpAnnotatedMessage, AmqpMessageBodyType
from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore
from azure.eventhub._pyamqp.types import TYPE, VALUE, AMQPTypes  # explicit AMQP types for sending

TIMEOUT_S = 60
BIG_ULONG = 2**63 + 5
BIG_LONG = 2**60 + 1
TIMESTAMP_MS = 1_700_000_000_123
FIXED_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def typed(amqp_type, value):
    return {TYPE: amqp_type, VALUE: value}


def sent_properties():
    """Application properties of every simple AMQP type, with what the receiver must get back (value, Python type)."""
    return {
        "ubyte": (typed(AMQPTypes.ubyte, 7), 7, int),
        "ushort": (typed(AMQPTypes.ushort, 65000), 65000, int),
        "uint": (typed(AMQPTypes.uint, 4_000_000_000), 4_000_000_000, int),
        "ulong": (typed(AMQPTypes.ulong, BIG_ULONG), BIG_ULONG, int),
        "byte": (typed(AMQPTypes.byte, -7), -7, int),
        "short": (typed(AMQPTypes.short, -30000), -30000, int),
        "int": (typed(AMQPTypes.int, -2_000_000_000), -2_000_000_000, int),
        "long": (typed(AMQPTypes.long, BIG_LONG), BIG_LONG, int),
        "float": (typed(AMQPTypes.float, 1.5), 1.5, float),
        "double": (2.0, 2.0, float),
        "boolean": (True, True, bool),
        "timestamp": (typed(AMQPTypes.timestamp, TIMESTAMP_MS), TIMESTAMP_MS, int),
        "uuid": (FIXED_UUID, FIXED_UUID, uuid.UUID),
        # pyamqp hands strings and symbols over as bytes; Go and Proton tell the two apart.
        "symbol": (typed(AMQPTypes.symbol, "sym"), b"sym", bytes),
        "string": ("text", b"text", bytes),
        "binary": (b"\x00\x01\xff", b"\x00\x01\xff", bytes),
        "null": (None, None, type(None)),
    }


def value_body():
    """An amqp-value body: a map with integer and string keys, a list and nested values."""
    return {1: "one", "two": [typed(AMQPTypes.ubyte, 2), 2.0, True], "nested": {"k": FIXED_UUID}}


EXPECTED_BODY = {1: b"one", b"two": [2, 2.0, True], b"nested": {b"k": FIXED_UUID}}


def text_key(key):
    return key.decode() if isinstance(key, bytes) else key


def compare(label, received, checks):
    props = {text_key(k): v for k, v in (received.application_properties or {}).items()}
    for name, (_, value, kind) in sent_properties().items():
        got = props.get(name, "<missing>")
        ok = got == value and type(got) is kind  # noqa: E721 (the exact type is the point)
        checks[f"{label}: property {name}"] = "ok" if ok else f"sent {value!r} ({kind.__name__}), got {got!r} ({type(got).__name__})"


def roundtrip(args):
    checks = {}
    props = {name: sent for name, (sent, _, _) in sent_properties().items()}
    producer = EventHubProducerClient.from_connection_string(args.connection_string)
    with producer:
        single = EventData(b"single")
        single.properties = props
        producer.send_event(single, partition_id=args.partition)
        value_message = AmqpAnnotatedMessage(value_body=value_body(), application_properties=props)
        producer.send_event(value_message, partition_id=args.partition)
        batch = producer.create_batch(partition_id=args.partition)
        in_batch = EventData(b"batched")
        in_batch.properties = props
        batch.add(in_batch)
        batch.add(AmqpAnnotatedMessage(value_body=value_body(), application_properties=props))
        producer.send_batch(batch)

    received = receive(args.connection_string, args.partition, 4)
    labels = ["single data", "single value", "batched data", "batched value"]
    if len(received) != 4:
        checks["four events come back"] = f"got {len(received)}"
    for label, event in zip(labels, received):
        message = event.raw_amqp_message
        compare(label, message, checks)
        if label.endswith("value"):
            ok = message.body_type == AmqpMessageBodyType.VALUE and message.body == EXPECTED_BODY
            checks[f"{label}: amqp-value body"] = "ok" if ok else f"got {message.body_type} {message.body!r}"
        else:
            expected = label.split()[0].encode() if label.startswith("single") else b"batched"
            body = b"".join(message.body)
            checks[f"{label}: data body"] = "ok" if body == expected else f"got {body!r}"
        ok = event.sequence_number is not None and event.offset is not None and event.enqueued_time is not None
        checks[f"{label}: service annotations"] = "ok" if ok else "missing sequence number, offset or time"
    print(json.dumps({"checks": checks}))


def receive(connection_string, partition, count, **kwargs):
    """Reads `count` events of one partition from the start (or fewer after TIMEOUT_S)."""
    events = []
    done = threading.Event()
    consumer = EventHubConsumerClient.from_connection_string(connection_string, consumer_group="$Default")

    def on_event_batch(_context, batch):
        events.extend(batch)
        if len(events) >= count:
            done.set()

    worker = threading.Thread(
        target=consumer.receive_batch,
        kwargs={
            "on_event_batch": on_event_batch,
            "partition_id": partition,
            "starting_position": "-1",
            "max_wait_time": 1,
            **kwargs,
        },
        daemon=True,
    )
    worker.start()
    done.wait(TIMEOUT_S)
    consumer.close()
    return events


def properties(args):
    checks = {}
    producer = EventHubProducerClient.from_connection_string(args.connection_string)
    with producer:
        hub = producer.get_eventhub_properties()
        ids = hub["partition_ids"]
        checks["hub properties"] = "ok" if ids == ["0", "1", "2", "3"] and hub["eventhub_name"] == args.hub else f"got {hub}"
        producer.send_event(EventData(b"p"), partition_id="1")
        partition = producer.get_partition_properties("1")
        ok = partition["id"] == "1" and partition["last_enqueued_sequence_number"] >= 0 and not partition["is_empty"]
        checks["partition properties"] = "ok" if ok else f"got {partition}"
        checks["partition ids"] = "ok" if producer.get_partition_ids() == ids else "mismatch"
    print(json.dumps({"checks": checks}))


def error_text(error):
    return f"{type(error).__name__}: {error}"


def read_with_owner_level(connection_string, partition, owner_level):
    """A consumer reading one partition from the start with an owner level; returns it, its events and errors."""
    events, errors = [], []
    consumer = EventHubConsumerClient.from_connection_string(connection_string, consumer_group="$Default")
    threading.Thread(
        target=consumer.receive,
        kwargs={
            "on_event": lambda _c, e: events.append(e),
            "on_error": lambda _c, e: errors.append(e),
            "partition_id": partition,
            "owner_level": owner_level,
            "starting_position": "-1",
        },
        daemon=True,
    ).start()
    return consumer, events, errors


def refusals(args):
    checks = {}
    wrong = EventHubProducerClient.from_connection_string(args.wrong_key_connection_string, retry_total=0)
    try:
        with wrong:
            wrong.send_event(EventData(b"x"), partition_id="0")
        checks["wrong key is refused"] = "the send succeeded"
    except Exception as error:  # the SDK's AuthenticationError / ClientClosedError family
        text = error_text(error)
        checks["wrong key is refused"] = "ok" if "Authentication" in text or "401" in text else text

    producer = EventHubProducerClient.from_connection_string(args.connection_string, retry_total=0)
    with producer:
        try:
            producer.send_event(EventData(b"x" * (1024 * 1024 + 100)), partition_id="0")
            checks["oversize single is refused"] = "the send succeeded"
        except Exception as error:
            text = error_text(error)
            ok = "size" in text.lower() or "large" in text.lower()
            checks["oversize single is refused"] = "ok" if ok else text
        try:
            producer.create_batch(max_size_in_bytes=2 * 1024 * 1024)
            checks["a batch larger than the link's limit is refused"] = "created"
        except ValueError as error:
            checks["a batch larger than the link's limit is refused"] = "ok" if "1048576" in str(error) else str(error)
        producer.send_event(EventData(b"owner-level"), partition_id="2")

    high, high_events, high_errors = read_with_owner_level(args.connection_string, "2", 2)
    deadline = time.time() + TIMEOUT_S
    while not high_events and time.time() < deadline:
        time.sleep(0.1)
    low, _, low_errors = read_with_owner_level(args.connection_string, "2", 1)
    while not low_errors and time.time() < deadline:
        time.sleep(0.1)
    text = error_text(low_errors[0]) if low_errors else "no error"
    ok = bool(low_errors) and "amqp:link:stolen" in text
    checks["a lower owner level is refused with amqp:link:stolen"] = "ok" if ok else text
    checks["the higher owner level keeps the partition"] = "ok" if not high_errors else error_text(high_errors[0])
    low.close()
    high.close()
    print(json.dumps({"checks": checks}))


def balance(args):
    """Load-balanced consumer with a blob checkpoint store, until standard input closes."""
    store = BlobCheckpointStore.from_connection_string(args.storage_connection_string, args.container)
    consumer = EventHubConsumerClient.from_connection_string(
        args.connection_string,
        consumer_group=args.consumer_group,
        checkpoint_store=store,
        load_balancing_interval=1,
        partition_ownership_expiration_interval=6,
        load_balancing_strategy="greedy",
    )
    lock = threading.Lock()

    def emit(record):
        with lock:
            print(json.dumps(record), flush=True)

    def on_event_batch(context, events):
        for event in events:
            emit({"event": event.body_as_str(), "partition": context.partition_id, "sequence": event.sequence_number})
        if events:
            context.update_checkpoint(events[-1])

    def on_error(context, error):
        emit({"error": error_text(error), "partition": context.partition_id if context else None})

    worker = threading.Thread(
        target=consumer.receive_batch,
        kwargs={
            "on_event_batch": on_event_batch,
            "on_error": on_error,
            "on_partition_initialize": lambda c: emit({"own": c.partition_id}),
            "on_partition_close": lambda c, reason: emit({"release": c.partition_id, "reason": str(reason)}),
            "starting_position": "-1",
            "max_wait_time": 1,
            "max_batch_size": 100,
        },
        daemon=True,
    )
    worker.start()
    emit({"namespace": consumer._address.hostname, "started": datetime.datetime.now().isoformat()})
    sys.stdin.read()
    consumer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("roundtrip", "properties", "refusals", "balance"):
        command = sub.add_parser(name)
        command.add_argument("--connection-string", required=True)
        command.add_argument("--hub", default="")
        command.add_argument("--partition", default="0")
        command.add_argument("--wrong-key-connection-string", default="")
        command.add_argument("--storage-connection-string", default="")
        command.add_argument("--container", default="")
        command.add_argument("--consumer-group", default="$Default")
    args = parser.parse_args()
    {"roundtrip": roundtrip, "properties": properties, "refusals": refusals, "balance": balance}[args.command](args)


if __name__ == "__main__":
    main()
