#!/usr/bin/env python3
"""Print the events of TensorBoard event files as JSON lines, with only the standard library.

An independent check of gradguard's EventFileWriter (it shares no code with the Java reader): it verifies
both masked CRC-32C checksums of every record, decodes Event / Summary.Value / HistogramProto by field
number, and prints one JSON object per event:

    {"offset": 0, "wall_time": 1.0, "step": 0, "file_version": "brain.Event:2", "values": []}
    {"offset": 45, "wall_time": 2.0, "step": 1, "values": [{"tag": "loss", "simple_value": 0.5}]}

A histogram value prints as {"tag": ..., "histo": {"min", "max", "num", "sum", "sum_squares",
"bucket_limit", "bucket"}}. A truncated final record ends the file quietly, as in TensorBoard; a bad
checksum exits with status 1 and names the file and the record's offset.

Usage: python3 scripts/tfevents_dump.py FILE_OR_LOGDIR...
"""
import json
import os
import struct
import sys


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def fields(buf):
    """Yields (field number, wire type, value) of a message; length-delimited values are bytes."""
    pos = 0

    def varint():
        nonlocal pos
        result, shift = 0, 0
        while True:
            b = buf[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result

    while pos < len(buf):
        tag = varint()
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value = varint()
        elif wire == 1:
            value = buf[pos:pos + 8]
            pos += 8
        elif wire == 2:
            n = varint()
            value = buf[pos:pos + n]
            pos += n
        elif wire == 5:
            value = buf[pos:pos + 4]
            pos += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield number, wire, value


def f64(b):
    return struct.unpack("<d", b)[0]


def doubles(wire, b):
    return [f64(b)] if wire == 1 else list(struct.unpack("<%dd" % (len(b) // 8), b))


def histogram(buf):
    names = {1: "min", 2: "max", 3: "num", 4: "sum", 5: "sum_squares"}
    h = {"min": 0.0, "max": 0.0, "num": 0.0, "sum": 0.0, "sum_squares": 0.0, "bucket_limit": [], "bucket": []}
    for number, wire, value in fields(buf):
        if number in names:
            h[names[number]] = f64(value)
        elif number == 6:
            h["bucket_limit"] += doubles(wire, value)
        elif number == 7:
            h["bucket"] += doubles(wire, value)
    return h


def summary_value(buf):
    v = {}
    for number, _, value in fields(buf):
        if number == 1:
            v["tag"] = value.decode("utf-8")
        elif number == 2:
            v["simple_value"] = struct.unpack("<f", value)[0]
        elif number == 5:
            v["histo"] = histogram(value)
    return v


def event(buf):
    e = {"wall_time": 0.0, "step": 0, "values": []}
    for number, _, value in fields(buf):
        if number == 1:
            e["wall_time"] = f64(value)
        elif number == 2:
            e["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3:
            e["file_version"] = value.decode("utf-8")
        elif number == 5:
            e["values"] = [summary_value(v) for n, _, v in fields(value) if n == 1]
    return e


def read_events(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        (length_crc,) = struct.unpack_from("<I", data, pos + 8)
        if masked_crc32c(data[pos:pos + 8]) != length_crc:
            raise ValueError("%s: record at byte %d: bad length checksum" % (path, pos))
        end = pos + 12 + length + 4
        if end > len(data):
            return
        body = data[pos + 12:pos + 12 + length]
        (body_crc,) = struct.unpack_from("<I", data, end - 4)
        if masked_crc32c(body) != body_crc:
            raise ValueError("%s: record at byte %d: bad data checksum" % (path, pos))
        yield dict(offset=pos, **event(body))
        pos = end


def main(args):
    paths = []
    for arg in args:
        if os.path.isdir(arg):
            paths += sorted(os.path.join(arg, n) for n in os.listdir(arg) if "tfevents" in n)
        else:
            paths.append(arg)
    try:
        for path in paths:
            for e in read_events(path):
                print(json.dumps(e))
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
