"""Conformance client: drives the emulator over plain AMQP 1.0 with Apache Qpid Proton (Debian's python3-qpid-proton).

No Event Hubs SDK here: CBS, $management, sends and receives are written out as the service's protocol describes
them, so this client sees what the SDKs hide (exact AMQP types, request/response pairing, link names, settlement,
error conditions). Run by conformance.test.ts with the system python3; prints {"checks": {name: "ok" | problem}}.

Proton's Python binding (0.37) cannot set a delivery's message format, so it sends no batches (0x80013700);
the batches come from the SDKs' conformance clients.
"""

import argparse
import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid

from proton import (
    Array,
    Data,
    Described,
    Message,
    byte,
    char,
    float32,
    int32,
    short,
    symbol,
    timestamp,
    ubyte,
    uint,
    ulong,
    ushort,
)
from proton.reactor import LinkOption, Selector
from proton.utils import BlockingConnection, LinkDetached

TIMEOUT_S = 30
FIXED_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")
SAS_TYPE = "servicebus.windows.net:sastoken"


def sas_token(audience, key_name, key, ttl_s=3600):
    """A SharedAccessSignature as the SDKs make it: HMAC-SHA256 of the encoded URI and expiry."""
    expiry = str(int(time.time()) + ttl_s)
    encoded = urllib.parse.quote_plus(audience)
    digest = hmac.new(key.encode(), f"{encoded}\n{expiry}".encode(), hashlib.sha256).digest()
    signature = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"SharedAccessSignature sr={encoded}&sig={signature}&se={expiry}&skn={key_name}"


def typed_properties():
    return {
        "ubyte": ubyte(7),
        "ushort": ushort(65000),
        "uint": uint(4_000_000_000),
        "ulong": ulong(2**63 + 5),
        "byte": byte(-7),
        "short": short(-30000),
        "int": int32(-2_000_000_000),
        "long": 2**60 + 1,
        "float": float32(1.5),
        "double": 2.0,
        "boolean": True,
        "char": char("x"),
        "timestamp": timestamp(1_700_000_000_123),
        "uuid": FIXED_UUID,
        "symbol": symbol("sym"),
        "string": "text",
        "binary": b"\x00\x01\xff",
        "null": None,
    }


def typed_body():
    return {
        1: "one",
        "list": [ubyte(2), 2.0, True, char("y")],
        "nested": {"k": FIXED_UUID, symbol("s"): ulong(2**63 + 5)},
        "array": Array(None, Data.INT, 1, 2, 3),
        "described": Described(symbol("example:thing"), "v"),
    }


def same(got, want):
    """Equal value and equal AMQP type (Proton decodes each AMQP type to its own Python class)."""
    if isinstance(want, Array):
        return isinstance(got, Array) and got.type == want.type and list(got.elements) == list(want.elements)
    if isinstance(want, Described):
        return isinstance(got, Described) and got.descriptor == want.descriptor and same(got.value, want.value)
    if isinstance(want, dict):
        return isinstance(got, dict) and set(got) == set(want) and all(same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    return type(got) is type(want) and got == want


class Node:
    """A request/response pair of links on $cbs or $management."""

    def __init__(self, connection, address, sender_name=None, receiver_name=None):
        self.sender = connection.create_sender(address, name=sender_name)
        self.receiver = connection.create_receiver(address, credit=10, name=receiver_name)
        self.reply_address = self.receiver.link.remote_source.address or address

    def request(self, properties, body, reply_to=True):
        message_id = str(uuid.uuid4())
        message = Message(id=message_id, body=body, properties=properties)
        if reply_to:
            message.reply_to = self.receiver.link.name
        self.sender.send(message, timeout=TIMEOUT_S)
        reply = self.receiver.receive(timeout=TIMEOUT_S)
        return reply

    def close(self):
        self.sender.close()
        self.receiver.close()


def put_token(node, audience, token, *, reply_to=True, binary_type=False, pair=False):
    properties = {
        "operation": "put-token",
        "name": audience,
        "type": SAS_TYPE.encode() if binary_type else SAS_TYPE,
    }
    body = [token, int(time.time()) + 3600] if pair else token
    return node.request(properties, body, reply_to=reply_to)


def status(reply):
    return (reply.properties or {}).get("status-code")


class LinkProperties(LinkOption):
    def __init__(self, properties):
        self.properties = properties

    def apply(self, link):
        link.properties = self.properties


def from_start():
    return Selector("amqp.annotation.x-opt-offset > '-1'", name="apache.org:selector-filter:string")


class Session:
    def __init__(self, args):
        self.args = args
        self.url = urllib.parse.urlparse(args.endpoint)
        self.namespace = f"sb://{self.url.hostname}" + (f":{self.url.port}" if self.url.port else "")

    def connect(self):
        return BlockingConnection(
            f"amqp://{self.url.hostname}:{self.url.port or 5672}", timeout=TIMEOUT_S, allowed_mechs="ANONYMOUS"
        )

    def audience(self, entity):
        return f"{self.namespace}/{self.args.hub}{entity}"

    def token(self, entity="", key=None):
        return sas_token(self.audience(entity), self.args.key_name, key or self.args.key)


def check(checks, name, ok, problem):
    checks[name] = "ok" if ok else problem


def run_all(args):
    checks = {}
    session = Session(args)
    hub = args.hub
    connection = session.connect()
    try:
        # CBS: the Python SDK's way (no reply-to, reply read on the paired receiver), bytes for `type`,
        # a (token, expiry) pair, and a sender and receiver that share one link name (Proton's default naming,
        # "<container>-<address>", gives both links of a node the same name).
        plain = Node(connection, "$cbs", sender_name="cbs-sender", receiver_name="cbs-receiver")
        reply = put_token(plain, session.audience(""), session.token(), reply_to=False)
        check(checks, "$cbs answers a put-token without reply-to", status(reply) == 202, f"got {reply}")
        reply = put_token(plain, session.audience(""), session.token(), binary_type=True)
        check(checks, "$cbs takes a token type sent as bytes", status(reply) == 202, f"got {reply}")
        reply = put_token(plain, session.audience(""), session.token(), pair=True)
        check(checks, "$cbs takes a (token, expiry) pair", status(reply) == 202, f"got {reply}")
        wrong = put_token(plain, session.audience(""), session.token(key="not-the-key"))
        check(checks, "$cbs refuses a token signed with the wrong key (401)", status(wrong) == 401, f"got {wrong}")
        shared = Node(connection, "$cbs", sender_name="cbs-pair", receiver_name="cbs-pair")
        reply = put_token(shared, session.audience(""), session.token())
        check(checks, "a sender and a receiver may share one link name", status(reply) == 202, f"got {reply}")

        management = Node(connection, f"{hub}/$management")
        read = {"operation": "READ", "name": hub, "type": "com.microsoft:eventhub", "security_token": session.token()}
        reply = management.request(read, b"[]", reply_to=False)
        ids = (reply.body or {}).get("partition_ids")
        check(checks, "$management READ of the hub, without reply-to", status(reply) == 200 and list(ids) == ["0", "1", "2", "3"], f"got {reply}")
        read_partition = dict(read, type="com.microsoft:partition", partition="0")
        reply = management.request(read_partition, b"[]")
        check(checks, "$management READ of a partition", status(reply) == 200 and reply.body.get("partition") == "0", f"got {reply}")

        # Every AMQP type in application properties and in an amqp-value body, in single (format 0) messages.
        sender = connection.create_sender(f"{hub}/Partitions/0")
        check(checks, "the sender link advertises 1 MiB", sender.link.remote_max_message_size == 1024 * 1024,
              f"got {sender.link.remote_max_message_size}")
        sender.send(Message(body=typed_body(), properties=typed_properties()), timeout=TIMEOUT_S)
        sender.send(Message(body=b"data", properties=typed_properties(), annotations={symbol("x-opt-partition-key"): "device-7"}), timeout=TIMEOUT_S)
        receiver = connection.create_receiver(f"{hub}/ConsumerGroups/$Default/Partitions/0", credit=10, options=[from_start()])
        events = []
        for _ in range(2):
            events.append(receiver.receive(timeout=TIMEOUT_S))
        for label, event in zip(("amqp-value message", "data message"), events):
            for name, want in typed_properties().items():
                got = (event.properties or {}).get(name, "<missing>")
                check(checks, f"{label}: property {name}", same(got, want), f"sent {want!r} ({type(want).__name__}), got {got!r} ({type(got).__name__})")
            annotations = event.annotations or {}
            check(checks, f"{label}: service annotations", "x-opt-sequence-number" in annotations and "x-opt-offset" in annotations, f"got {annotations}")
        check(checks, "amqp-value message: body keeps every type", same(events[0].body, typed_body()), f"got {events[0].body!r}")
        check(checks, "data message: body", events[1].body == b"data", f"got {events[1].body!r}")
        check(checks, "data message: partition key kept", (events[1].annotations or {}).get("x-opt-partition-key") == "device-7", "missing")

        # Refusals with the service's conditions.
        big = sender.link.delivery("big")
        sender.link.send(Message(body=b"x" * (1024 * 1024 + 100)).encode())
        sender.link.advance()
        connection.wait(lambda: big.settled or bool(big.remote_state), timeout=TIMEOUT_S, msg="the oversize send's outcome")
        condition = big.remote.condition.name if big.remote.condition else None
        check(checks, "an oversize message is rejected with amqp:link:message-size-exceeded", condition == "amqp:link:message-size-exceeded", f"got {big.remote_state} {condition}")

        # Proton names a link "<container>-<address>": two receivers of one partition need names of their own.
        high = connection.create_receiver(f"{hub}/ConsumerGroups/$Default/Partitions/1", credit=10, name="owner-2",
                                          options=[from_start(), LinkProperties({symbol("com.microsoft:epoch"): 2})])
        try:
            connection.create_receiver(f"{hub}/ConsumerGroups/$Default/Partitions/1", credit=10, name="owner-1",
                                       options=[from_start(), LinkProperties({symbol("com.microsoft:epoch"): 1})])
            check(checks, "a lower owner level is refused with amqp:link:stolen", False, "attached")
        except LinkDetached as error:
            condition = error.link.remote_condition.name if error.link.remote_condition else None
            check(checks, "a lower owner level is refused with amqp:link:stolen", condition == "amqp:link:stolen", f"got {condition}")
        high.close()
    finally:
        connection.close()

    # A connection without a valid token may not attach to the hub.
    unauthorized = session.connect()
    try:
        unauthorized.create_sender(f"{hub}/Partitions/0")
        check(checks, "without a token, an attach is refused with amqp:unauthorized-access", False, "attached")
    except LinkDetached as error:
        condition = error.link.remote_condition.name if error.link.remote_condition else None
        check(checks, "without a token, an attach is refused with amqp:unauthorized-access", condition == "amqp:unauthorized-access", f"got {condition}")
    finally:
        unauthorized.close()
    print(json.dumps({"checks": checks}))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True, help="sb://host[:port]")
    parser.add_argument("--hub", required=True)
    parser.add_argument("--key-name", default="RootManageSharedAccessKey")
    parser.add_argument("--key", required=True)
    run_all(parser.parse_args())


if __name__ == "__main__":
    main()
