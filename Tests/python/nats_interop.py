#!/usr/bin/env python3
"""nats-py as an independent client for Strata's JetStream tests (StrataJetStreamTests).

  nats_interop.py URL decode STREAM   reads every message of a Strata store's JetStream stream
                                      with nats-py and decodes it by docs/JETSTREAM.md (entry format 2,
                                      which is format 1 plus Strata-Head);
                                      prints one JSON line per event.
  nats_interop.py URL publish STREAM SUBJECT
                                      publishes three messages with headers (one twice, with the
                                      same Nats-Msg-Id) to a stream the Swift test created, and
                                      prints the acknowledged sequences.
  nats_interop.py URL bench SUBJECT COUNT
                                      raw JetStream publishes, one at a time, awaiting each ack;
                                      prints {"count":..,"seconds":..} (the benchmark baseline).
"""
import asyncio
import json
import struct
import sys
import time
import uuid

import nats


def decode_commit(headers, body):
    assert headers.get("Strata-Format") in ("1", "2"), headers
    kind = headers.get("Strata-Kind")
    if kind != "commit":
        return kind, []
    first = int(headers["Strata-First-Position"])
    recorded, count = struct.unpack_from("<qI", body, 0)
    if headers.get("Strata-Format") == "2":
        assert int(headers["Strata-Head"]) == first + count - 1, headers
    off = 12
    events = []

    def take(n):
        nonlocal off
        b = body[off:off + n]
        assert len(b) == n
        off += n
        return b

    for i in range(count):
        (slen,) = struct.unpack("<H", take(2))
        stream = take(slen).decode("utf-8")
        (revision,) = struct.unpack("<Q", take(8))
        eid = str(uuid.UUID(bytes=take(16))).upper()
        (tlen,) = struct.unpack("<B", take(1))
        etype = take(tlen).decode("utf-8")
        (clen,) = struct.unpack("<B", take(1))
        ctype = take(clen).decode("utf-8")
        (mlen,) = struct.unpack("<I", take(4))
        metadata = None if mlen == 0 else take(mlen - 1).decode("utf-8")
        (dlen,) = struct.unpack("<I", take(4))
        data = take(dlen).decode("utf-8")
        events.append({"position": first + i, "stream": stream, "revision": revision, "id": eid, "type": etype,
                       "contentType": ctype, "metadata": metadata, "data": data, "recordedAt": recorded})
    assert off == len(body), "trailing bytes"
    return kind, events


async def main():
    url, mode = sys.argv[1], sys.argv[2]
    nc = await nats.connect(url)
    js = nc.jetstream()
    if mode == "decode":
        stream = sys.argv[3]
        info = await js.stream_info(stream)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            kind, events = decode_commit(msg.headers or {}, msg.data)
            for e in events:
                e["subject"] = msg.subject
                print(json.dumps(e, sort_keys=True))
    elif mode == "publish":
        stream, subject = sys.argv[3], sys.argv[4]
        acks = []
        for i in range(3):
            ack = await js.publish(subject, f"py-{i}".encode(), stream=stream,
                                   headers={"Nats-Msg-Id": f"py-{i}", "Origin": "nats-py", "Index": str(i)})
            acks.append(ack.seq)
        dup = await js.publish(subject, b"py-0", headers={"Nats-Msg-Id": "py-0"})
        print(json.dumps({"seqs": acks, "duplicate": dup.duplicate, "duplicateSeq": dup.seq}))
    elif mode == "bench":
        subject, count = sys.argv[3], int(sys.argv[4])
        payload = b"x" * 200
        start = time.perf_counter()
        for _ in range(count):
            await js.publish(subject, payload)
        print(json.dumps({"count": count, "seconds": time.perf_counter() - start}))
    await nc.close()


asyncio.run(main())
