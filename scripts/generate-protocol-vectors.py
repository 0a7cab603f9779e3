#!/usr/bin/env python3
"""Writes Protos/testdata/vectors.txt, the protocol test vectors every suite reads.

Each message vector is written as protobuf text format and encoded by Python's official protobuf
runtime (with the modules committed in clients/python); frames, prefaces, the tunnel switch and
the exchanges with their answers are assembled from those bytes as docs/protocol.md says. The
answers are the ones the Swift server gives (the Python and C suites check them against it).

    scripts/generate-protocol-vectors.py            # rewrites the file
    scripts/generate-protocol-vectors.py --check    # fails when the file differs
"""
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))

from google.protobuf import text_format  # noqa: E402

from agentcube.v1 import session_service_pb2, wire_pb2  # noqa: E402

OUT = os.path.join(ROOT, "Protos", "testdata", "vectors.txt")
TYPES = {m.DESCRIPTOR.full_name: m for mod in (wire_pb2, session_service_pb2)
         for m in (getattr(mod, n) for n in dir(mod)) if isinstance(m, type) and hasattr(m, "DESCRIPTOR")}
FRAME_TYPES = {"SETTINGS": 0, "REQUEST": 1, "RESPONSE": 2, "CANCEL": 3, "PING": 4, "GOAWAY": 5}

HEADER = """\
# AgentCube protocol test vectors, version 1 (docs/protocol.md). One truth for the bytes: the
# Swift, Python and C suites all read this file. Regenerate with
# scripts/generate-protocol-vectors.py (which encodes each message with Python's official protobuf).
#
# Format: lines starting with '#' are comments, blank lines are ignored. "== KIND NAME" starts a
# vector; "KEY: VALUE" lines follow (several "hex", "send" or "raw" lines are concatenated, bytes
# written as two-digit hex separated by spaces); "| " lines are the vector's text, protobuf text
# format exactly as Python's text_format.MessageToString(m, as_utf8=False) prints it (fields in number order,
# two-space indent, enums by name, non-printable and non-ASCII bytes of strings as \\ooo octal).
#
#   message NAME   type (full message name), hex (its encoding, fields in number order, defaults
#                  left out), text (the message). Decoding hex gives text; encoding text gives hex.
#   preface NAME   hex (8 bytes), version.
#   frame NAME     hex (the whole frame, length prefix included), type, flags, call_id, and the
#                  payload: "payload: MESSAGE-VECTOR-NAME", "payload: -" (empty) or payload_hex.
#   tunnel NAME    side (who sends it), hex (preface and frames up to the OpenTunnel REQUEST or
#                  its RESPONSE), raw (the tunnel bytes right after): a reader of frames stops at
#                  that frame and leaves raw untouched.
#   exchange NAME  what a server answers. send: the client's bytes after its preface and SETTINGS
#                  (with "preface: none" the whole stream, preface included). expect: goaway (a
#                  GOAWAY with code, message, last_call_id), response (a RESPONSE with call_id,
#                  code, message), ping-ack (a PING with flags 1 and payload_hex), http (text: the
#                  answer's lines, CRLF-terminated), or version (the server's preface version).
#                  Codes are status names (docs/protocol.md §6).
"""


def hex_lines(key, data, width=32):
    if not data:
        return [f"{key}:"]
    return [f"{key}: " + " ".join(f"{b:02x}" for b in data[i:i + width]) for i in range(0, len(data), width)]


def frame(kind, call_id, payload=b"", flags=0):
    return struct.pack(">IBBI", 6 + len(payload), FRAME_TYPES[kind], flags, call_id) + payload


class Vectors:
    def __init__(self):
        self.lines = [HEADER]
        self.messages = {}

    def block(self, kind, name, *lines):
        self.lines.append(f"== {kind} {name}")
        self.lines.extend(lines)
        self.lines.append("")

    def comment(self, text):
        self.lines.append("".join(f"# {line}\n" for line in text.strip().split("\n")))

    def message(self, name, type_name, text):
        message = TYPES[type_name]()
        text_format.Parse(text, message)
        data = message.SerializeToString(deterministic=True)
        printed = text_format.MessageToString(message, as_utf8=False)
        self.messages[name] = data
        self.block("message", name, f"type: {type_name}", *hex_lines("hex", data),
                   *[f"| {line}".rstrip() for line in printed.rstrip("\n").split("\n") if printed])
        return data

    def frame(self, name, kind, call_id, payload=None, flags=0, payload_hex=None):
        data = self.messages[payload] if payload not in (None, "-") else (payload_hex or b"")
        extra = [f"payload: {payload}"] if payload else hex_lines("payload_hex", payload_hex or b"")
        self.block("frame", name, *hex_lines("hex", frame(kind, call_id, data, flags)), f"type: {kind}",
                   f"flags: {flags}", f"call_id: {call_id}", *extra)

    def text(self):
        return "\n".join(self.lines).rstrip("\n") + "\n"


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdwEOrn5iCsQ9mT/RHYeIhYg9C3UtiLEvrQZd2PNUbE agent@example"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHMXwIWs8KlKORYOhxZdC2KH7kwwrx3Ad8y5BwNA1gEq"
ID = "bb664281-a028-49fb-a200-a58a9837717f"
ID2 = "0d6f7a52-3c1e-4b8e-9a61-5f2c8d4e7b10"
SESSION = f"""
id: "{ID}" name: "sandbox-bb664281" namespace: "team-a" creator: "system:serviceaccount:team-a:alice"
image: "default" status: SESSION_STATUS_RUNNING created_at_ms: 1796165371461 expires_at_ms: 1796165971461
last_activity_at_ms: 1796165371779 ttl_seconds: 600 idle_timeout_seconds: 1800
metadata {{ key: "purpose" value: "tests" }} ssh_user: "root" ssh_port: 22 ssh_host_public_key: "{HOST_KEY}"
"""


def build():
    v = Vectors()
    v.comment("The envelope (wire.proto).")
    v.message("settings-client", "agentcube.v1.wire.Settings",
              'max_frame_size: 4194304 protocol_version: 1 agent: "agentcube-swift/0.1"')
    v.message("settings-server", "agentcube.v1.wire.Settings",
              'max_frame_size: 4194304 max_concurrent_calls: 100 protocol_version: 1 agent: "agentcubed/0.1"')
    v.message("settings-empty", "agentcube.v1.wire.Settings", "")
    v.message("goaway-shutdown", "agentcube.v1.wire.GoAway",
              'last_call_id: 7 code: 14 message: "server is shutting down; retry on a new connection"')
    v.message("goaway-client", "agentcube.v1.wire.GoAway", "")
    v.message("goaway-violation", "agentcube.v1.wire.GoAway",
              'code: 3 message: "REQUEST frames need a non-zero call id"')

    v.comment("The methods' messages (session_service.proto).")
    v.message("health-request", "agentcube.v1.HealthCheckRequest", "")
    v.message("health-response", "agentcube.v1.HealthCheckResponse",
              'status: SERVING version: "0.1.0" backend: "local" isolated: true '
              'isolation_message: "runc; user namespace per sandbox"')
    create = v.message("create-session-request", "agentcube.v1.CreateSessionRequest",
                       f'ttl_seconds: 600 ssh_public_key: "{KEY}"')
    v.message("create-session-request-full", "agentcube.v1.CreateSessionRequest",
              f'image: "default" ttl_seconds: 600 ssh_public_key: "{KEY}" '
              'metadata { key: "purpose" value: "tests" } metadata { key: "note" value: "caf\\303\\251 \\342\\230\\225" } '
              'idle_timeout_seconds: 300')
    v.message("session", "agentcube.v1.Session", SESSION)
    created = v.message("create-session-response", "agentcube.v1.CreateSessionResponse", f"session {{ {SESSION} }}")
    v.message("get-session-request", "agentcube.v1.GetSessionRequest", f'session_id: "{ID}"')
    v.message("get-session-response", "agentcube.v1.GetSessionResponse", f"session {{ {SESSION} }}")
    v.message("list-sessions-request", "agentcube.v1.ListSessionsRequest", 'page_size: 2 page_token: "p1.AQ"')
    v.message("list-sessions-response", "agentcube.v1.ListSessionsResponse",
              f'sessions {{ {SESSION} }} sessions {{ id: "{ID2}" name: "sandbox-0d6f7a52" '
              'status: SESSION_STATUS_FAILED status_message: "the sandbox ran out of memory" } '
              'next_page_token: "p1.Ag"')
    v.message("renew-session-request", "agentcube.v1.RenewSessionRequest", f'session_id: "{ID}" ttl_seconds: 1200')
    v.message("renew-session-response", "agentcube.v1.RenewSessionResponse", f"session {{ {SESSION} }}")
    v.message("delete-session-request", "agentcube.v1.DeleteSessionRequest", f'session_id: "{ID}"')
    v.message("delete-session-response", "agentcube.v1.DeleteSessionResponse", "")
    tunnel_request = v.message("open-tunnel-request", "agentcube.v1.OpenTunnelRequest", f'session_id: "{ID}" port: 22')
    tunnel_response = v.message("open-tunnel-response", "agentcube.v1.OpenTunnelResponse",
                                'target: "sandbox-bb664281:22"')

    v.comment("Requests and responses: the envelope around the method's message.")
    v.message("request-health", "agentcube.v1.wire.Request",
              'method: "/agentcube.v1.Health/Check" timeout_micros: 5000000')
    auth = 'metadata { key: "authorization" value: "Bearer alice-token-0123456789" }'
    v.message("request-create-session", "agentcube.v1.wire.Request",
              f'method: "/agentcube.v1.SessionService/CreateSession" {auth} timeout_micros: 30000000 '
              f'message: "{text_format_bytes(create)}"')
    v.message("request-open-tunnel", "agentcube.v1.wire.Request",
              f'method: "/agentcube.v1.SessionService/OpenTunnel" {auth} timeout_micros: 30000000 '
              f'message: "{text_format_bytes(tunnel_request)}"')
    v.message("request-with-metadata", "agentcube.v1.wire.Request",
              f'method: "/agentcube.v1.SessionService/ListSessions" {auth} '
              'metadata { key: "x-request-id" value: "42" } metadata { key: "x-request-id" value: "43" }')
    v.message("response-health", "agentcube.v1.wire.Response",
              f'status {{ }} message: "{text_format_bytes(v.messages["health-response"])}"')
    v.message("response-create-session", "agentcube.v1.wire.Response",
              f'status {{ }} message: "{text_format_bytes(created)}"')
    v.message("response-open-tunnel", "agentcube.v1.wire.Response",
              f'status {{ }} message: "{text_format_bytes(tunnel_response)}"')
    v.message("response-delete-session", "agentcube.v1.wire.Response", "status { }")
    v.message("response-not-found", "agentcube.v1.wire.Response",
              f'status {{ code: 5 message: "session {ID} not found" }}')
    v.message("response-permission-denied", "agentcube.v1.wire.Response",
              f'status {{ code: 7 message: "session {ID} belongs to another caller" }}')
    v.message("response-unauthenticated", "agentcube.v1.wire.Response",
              "status { code: 16 message: \"missing 'authorization' metadata (Bearer token)\" }")
    v.message("response-rate-limited", "agentcube.v1.wire.Response",
              'status { code: 8 message: "too many CreateSession calls: 5 per second per caller (bursts of 20); '
              'retry in 150 ms" details { type: "retry-after-ms" value: "150" } }')
    v.message("response-with-trailers", "agentcube.v1.wire.Response",
              'status { code: 14 message: "server is shutting down; retry on a new connection" } '
              'trailers { key: "x-served-by" value: "agentcubed" }')

    v.comment("Prefaces (§2).")
    v.block("preface", "preface-v1", *hex_lines("hex", b"ACUBE\x00\x00\x01"), "version: 1")
    v.block("preface", "preface-v2", *hex_lines("hex", b"ACUBE\x00\x00\x02"), "version: 2")

    v.comment("Frames (§3): each kind, with its payload.")
    v.frame("frame-settings-client", "SETTINGS", 0, "settings-client")
    v.frame("frame-settings-server", "SETTINGS", 0, "settings-server")
    v.frame("frame-request-health", "REQUEST", 1, "request-health")
    v.frame("frame-response-health", "RESPONSE", 1, "response-health")
    v.frame("frame-request-create-session", "REQUEST", 1, "request-create-session")
    v.frame("frame-response-create-session", "RESPONSE", 1, "response-create-session")
    v.frame("frame-response-rate-limited", "RESPONSE", 3, "response-rate-limited")
    v.frame("frame-response-not-found", "RESPONSE", 4294967295, "response-not-found")
    v.frame("frame-cancel", "CANCEL", 5, "-")
    v.frame("frame-ping", "PING", 0, payload_hex=bytes(range(8)))
    v.frame("frame-ping-ack", "PING", 0, flags=1, payload_hex=bytes(range(8)))
    v.frame("frame-goaway-shutdown", "GOAWAY", 0, "goaway-shutdown")
    v.frame("frame-goaway-client", "GOAWAY", 0, "-")
    v.block("frame", "frame-unknown-type", *hex_lines("hex", struct.pack(">IBBI", 9, 9, 0x80, 0) + b"abc"),
            "type: 9", "flags: 128", "call_id: 0", *hex_lines("payload_hex", b"abc"))

    v.comment("The tunnel switch (§9): after the OpenTunnel REQUEST (client) and its RESPONSE (server)\n"
              "every byte is tunnel data, here the start of the SSH conversation.")
    v.block("tunnel", "tunnel-client", "side: client",
            *hex_lines("hex", b"ACUBE\x00\x00\x01" + frame("SETTINGS", 0, v.messages["settings-client"])
                       + frame("REQUEST", 1, v.messages["request-open-tunnel"])),
            *hex_lines("raw", b"SSH-2.0-paramiko_3.4.0\r\n"))
    v.block("tunnel", "tunnel-server", "side: server",
            *hex_lines("hex", b"ACUBE\x00\x00\x01" + frame("SETTINGS", 0, v.messages["settings-server"])
                       + frame("RESPONSE", 1, v.messages["response-open-tunnel"])),
            *hex_lines("raw", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"))

    v.comment("Exchanges: what the server answers (checked against a live server by the Python and C suites).")
    health = wire_pb2.Request(method="/agentcube.v1.Health/Check").SerializeToString()

    def goaway(name, send, code, message, last_call_id=0, preface=True):
        v.block("exchange", name, *([] if preface else ["preface: none"]), *hex_lines("send", send),
                "expect: goaway", f"code: {code}", f"message: {message}".rstrip(), f"last_call_id: {last_call_id}")

    def response(name, send, call_id, code, message):
        v.block("exchange", name, *hex_lines("send", send), "expect: response", f"call_id: {call_id}",
                f"code: {code}", f"message: {message}".rstrip())

    response("health-without-token", frame("REQUEST", 1, health), 1, "OK", "")
    response("unknown-frame-type-ignored", struct.pack(">IBBI", 9, 9, 0, 0) + b"abc" + frame("REQUEST", 2, health),
             2, "OK", "")
    response("unknown-method", frame("REQUEST", 1, wire_pb2.Request(method="/agentcube.v1.Nope/Nope").SerializeToString()),
             1, "UNIMPLEMENTED", "unknown method '/agentcube.v1.Nope/Nope'")
    response("missing-token", frame("REQUEST", 1, wire_pb2.Request(
        method="/agentcube.v1.SessionService/ListSessions").SerializeToString()),
        1, "UNAUTHENTICATED", "missing 'authorization' metadata (Bearer token)")
    response("malformed-request-payload", frame("REQUEST", 1, b"\xff\xff"), 1, "INVALID_ARGUMENT",
             "malformed agentcube.v1.wire.Request")
    response("malformed-method-message", frame("REQUEST", 1, wire_pb2.Request(
        method="/agentcube.v1.Health/Check", message=b"\xff").SerializeToString()),
        1, "INVALID_ARGUMENT", "malformed agentcube.v1.HealthCheckRequest")
    response("nul-in-string", frame("REQUEST", 1, wire_pb2.Request(
        method="/agentcube.v1.Health/Check", message=b"\x0a\x01\x00").SerializeToString()),
        1, "INVALID_ARGUMENT", "HealthCheckRequest.service contains a NUL byte")
    v.block("exchange", "ping", *hex_lines("send", frame("PING", 0, bytes(range(8)))), "expect: ping-ack",
            *hex_lines("payload_hex", bytes(range(8))))
    goaway("length-below-header", b"\x00\x00\x00\x05\x00\x00\x00\x00\x00", "INVALID_ARGUMENT",
           "frame length 5 is shorter than the 6-byte frame header")
    goaway("length-over-maximum", b"\x00\x40\x00\x01", "RESOURCE_EXHAUSTED",
           "frame length 4194305 exceeds the maximum frame size 4194304")
    goaway("request-call-id-zero", frame("REQUEST", 0, health), "INVALID_ARGUMENT",
           "REQUEST frames need a non-zero call id")
    goaway("response-from-client", frame("RESPONSE", 1), "INVALID_ARGUMENT", "a client must not send RESPONSE frames")
    goaway("ping-of-7-bytes", frame("PING", 0, b"1234567"), "INVALID_ARGUMENT", "a PING carries exactly 8 bytes, not 7")
    goaway("malformed-settings", frame("SETTINGS", 0, b"\xff\xff"), "INVALID_ARGUMENT", "malformed SETTINGS payload")
    goaway("max-frame-size-below-16k", frame("SETTINGS", 0, wire_pb2.Settings(max_frame_size=1024).SerializeToString()),
           "INVALID_ARGUMENT", "max_frame_size 1024 is below the minimum 16384")
    goaway("violation-after-a-call", frame("REQUEST", 9, health) + frame("RESPONSE", 9), "INVALID_ARGUMENT",
           "a client must not send RESPONSE frames", last_call_id=9)
    goaway("not-a-preface", b"HELLO, WORLD", "INVALID_ARGUMENT",
           "the connection did not start with the AgentCube preface 'ACUBE\\0' + version", preface=False)
    goaway("version-zero", b"ACUBE\x00\x00\x00", "FAILED_PRECONDITION",
           "protocol version 0 is not supported (this server speaks 1)", preface=False)
    v.block("exchange", "version-2-offered", "preface: none", *hex_lines("send", b"ACUBE\x00\x00\x02"),
            "expect: version", "version: 1")
    v.block("exchange", "http-request", "preface: none", *hex_lines("send", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            "expect: http", "| HTTP/1.0 400 Bad Request", "| Content-Type: text/plain", "| Connection: close", "|",
            "| This port speaks the AgentCube protocol (see docs/protocol.md), not HTTP.")
    return v.text()


def text_format_bytes(data):
    """``data`` escaped as text format writes a bytes field (octal for what is not printable)."""
    return text_format.MessageToString(wire_pb2.Request(message=data), as_utf8=False)[len('message: "'):-2]


if __name__ == "__main__":
    text = build()
    if sys.argv[1:] == ["--check"]:
        with open(OUT, encoding="utf-8") as file:
            if file.read() != text:
                sys.exit(f"error: {OUT} differs from what scripts/generate-protocol-vectors.py writes")
        print("Protos/testdata/vectors.txt is fresh.")
    else:
        with open(OUT, "w", encoding="utf-8") as file:
            file.write(text)
