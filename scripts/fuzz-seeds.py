#!/usr/bin/env python3
"""Rebuilds the committed seeds of the log fuzz targets (FuzzRecord, FuzzSegment,
FuzzIndexCheckpoint, FuzzHead) from a template store exported by a fuzz binary:

    STRATA_FUZZ_EXPORT_TEMPLATE=/tmp/template .build-fuzz/release/FuzzSegment /dev/null
    scripts/fuzz-seeds.py /tmp/template
"""
import os, struct, sys

template = sys.argv[1]
out = os.path.join(os.path.dirname(__file__), '..', 'Fuzz', 'corpus')

def put(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), 'wb') as f:
        f.write(data)

segdir = os.path.join(template, 'segments')
segments = sorted(n for n in os.listdir(segdir) if n.endswith('.seg'))
for i, name in enumerate(segments):
    data = open(os.path.join(segdir, name), 'rb').read()
    # Trailing zero padding is preallocation: keep the records and one end marker.
    end = len(data.rstrip(b'\0')) + 8
    body = data[:end]
    # FuzzSegment: control 0 replaces the newest segment, 1 the oldest (checksums repaired).
    put('FuzzSegment', 'segment-%d.bin' % i, bytes([0 if i == len(segments) - 1 else 1]) + body)
    at, n = 64, 0
    while at + 8 <= len(body):
        length = struct.unpack_from('<I', body, at)[0]
        if length == 0:
            break
        record = body[at:at + 8 + length]
        if n < 6:
            put('FuzzRecord', 'segment-%d-record-%d.bin' % (i, n), b'\x00' + record)
        n += 1
        at += 8 + length
    put('FuzzRecord', 'segment-%d-run.bin' % i, b'\x00' + body[64:])

ckpt = open(os.path.join(template, 'index.ckpt'), 'rb').read()
put('FuzzIndexCheckpoint', 'template.bin', b'\x00' + ckpt[:-4])   # the harness appends the CRC
put('FuzzIndexCheckpoint', 'template-raw.bin', b'\x01' + ckpt)

head = open(os.path.join(template, 'HEAD'), 'rb').read()
put('FuzzHead', 'template.bin', b'\x00' + head[:64])
put('FuzzHead', 'template-magic.bin', b'\x01' + head[:40])
put('FuzzHead', 'ahead.bin', b'\x01' + head[:8] + struct.pack('<QQQQ', 20, 4096, 10**6, 7))
