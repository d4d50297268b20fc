#!/usr/bin/env python3
"""Counts the message sets (record batches) a topic's backlog is stored in.

    benchmarks/message_sets.py HOST:PORT TOPIC PARTITIONS

Reads every partition from offset 0 with plain Kafka Fetch requests (v4) to
the bootstrap broker (a one-broker cluster such as `nsmd broker`, which leads
every partition) and parses only the record batch headers, so the count is
the broker's own, independent of librdkafka. A consumer pays per message set
(the batch header, its CRC, a fetch-queue op), so the average batch size
sets the ceiling of any consumer (shared/notes/kafka-mock-facts.md).

Prints one line: "message_sets topic=T messages=N sets=S per_set=A".
"""
import socket
import struct
import sys

FETCH_API, FETCH_VERSION = 1, 4
MAX_BYTES = 16 << 20


def recv_exact(sock, n):
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def fetch(sock, correlation, topic, partition, offset):
    """Returns (error_code, high_watermark, records bytes) of one partition."""
    name = topic.encode()
    body = struct.pack(">hhih", FETCH_API, FETCH_VERSION, correlation, 4) + b"sets"
    body += struct.pack(">iiiib", -1, 100, 1, MAX_BYTES, 0)  # replica, wait, min, max, isolation
    body += struct.pack(">ih", 1, len(name)) + name
    body += struct.pack(">iiqi", 1, partition, offset, MAX_BYTES)
    sock.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    resp = recv_exact(sock, size)
    pos = 4 + 4 + 4  # correlation id, throttle time, topic count
    name_len = struct.unpack_from(">h", resp, pos)[0]
    pos += 2 + name_len + 4  # topic name, partition count
    _, error, high, _ = struct.unpack_from(">ihqq", resp, pos)
    pos += 4 + 2 + 8 + 8
    aborted = struct.unpack_from(">i", resp, pos)[0]
    pos += 4 + max(aborted, 0) * 16
    records_len = struct.unpack_from(">i", resp, pos)[0]
    pos += 4
    return error, high, resp[pos:pos + max(records_len, 0)]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    host, port = sys.argv[1].rsplit(":", 1)
    topic, partitions = sys.argv[2], int(sys.argv[3])
    sock = socket.create_connection((host, int(port)))
    messages = sets = correlation = 0
    for partition in range(partitions):
        offset = 0
        while True:
            correlation += 1
            error, high, records = fetch(sock, correlation, topic, partition, offset)
            if error != 0:
                sys.exit(f"message_sets: partition {partition}: Kafka error {error}")
            if offset >= high:
                break
            pos, progressed = 0, False
            # Record batch (magic 2): baseOffset int64, batchLength int32, then
            # batchLength bytes; lastOffsetDelta at byte 23, recordCount at 57.
            while pos + 61 <= len(records):
                base, length = struct.unpack_from(">qi", records, pos)
                if pos + 12 + length > len(records):
                    break  # a partial batch at the end of the response
                count = struct.unpack_from(">i", records, pos + 57)[0]
                last_delta = struct.unpack_from(">i", records, pos + 23)[0]
                if base + last_delta >= offset:
                    messages += count
                    sets += 1
                    offset = base + last_delta + 1
                    progressed = True
                pos += 12 + length
            if not progressed:
                sys.exit(f"message_sets: partition {partition}: no batch at offset {offset}")
    print(f"message_sets topic={topic} messages={messages} sets={sets} "
          f"per_set={messages / max(sets, 1):.1f}")


if __name__ == "__main__":
    main()
