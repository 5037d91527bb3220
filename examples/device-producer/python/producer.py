"""Sends device events to the eventfleet device hub with the Python SDK (azure-eventhub).

Each event is a JSON object as docs/schemas/device-event.schema.json describes it, sent with partition key =
deviceId, so one device's events keep their order on one partition. Events of one device go out in batches sized
by the SDK to the hub's limit (1 MiB per batch on Standard; the same for one event).

    EVENTHUB_CONNECTION_STRING='Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…;EntityPath=telemetry' \\
      python producer.py --devices 3 --events 5
"""

import argparse
import datetime
import json
import os
import random
import uuid

from azure.eventhub import EventData, EventHubProducerClient


def device_event(device_id, kind="telemetry"):
    """A body valid against docs/schemas/device-event.schema.json."""
    return {
        "deviceId": device_id,
        "eventId": str(uuid.uuid4()),  # lets the consumer drop a redelivered event
        "type": kind,
        "ts": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "payload": {"temperatureC": round(random.uniform(18, 24), 2)},
    }


def send_device_events(producer, device_id, bodies):
    """Sends one device's events in as few batches as fit; every batch carries the device id as partition key."""
    batch = producer.create_batch(partition_key=device_id)
    for body in bodies:
        event = EventData(json.dumps(body, separators=(",", ":")))
        event.content_type = "application/json"
        try:
            batch.add(event)
        except ValueError:  # the batch is full: send it and start another (an event over 1 MiB fails here alone)
            producer.send_batch(batch)
            batch = producer.create_batch(partition_key=device_id)
            batch.add(event)
    if len(batch) > 0:
        producer.send_batch(batch)


def main():
    parser = argparse.ArgumentParser(description="Send device events to Event Hubs (partition key = deviceId).")
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--events", type=int, default=5, help="events per device")
    parser.add_argument("--device-prefix", default="py-device")
    args = parser.parse_args()
    connection_string = os.environ["EVENTHUB_CONNECTION_STRING"]
    hub = os.environ.get("EVENTHUB_NAME")  # optional when the connection string has EntityPath
    producer = EventHubProducerClient.from_connection_string(connection_string, eventhub_name=hub)
    with producer:
        for n in range(args.devices):
            device_id = f"{args.device_prefix}-{n}"
            send_device_events(producer, device_id, [device_event(device_id) for _ in range(args.events)])
    print(f"sent {args.devices * args.events} events for {args.devices} devices")


if __name__ == "__main__":
    main()
