#!/usr/bin/env python3
"""Reads a Perfetto trace (a file) with Perfetto's own protobuf schema (the
`perfetto` package from PyPI) and prints what it holds as JSON: per track
(by name), slices begun and ended and the names of the slices begun, the
packets, and the flows (ids seen on two events or more). Exits 1 when the
file is not a valid Trace message.

Needs perfetto and protobuf (scripts/test.sh installs them in a venv)."""
import json
import sys
from collections import Counter, defaultdict

from google.protobuf.message import DecodeError
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

try:
    trace = pb.Trace.FromString(open(sys.argv[1], "rb").read())
except DecodeError as e:
    print(f"not a Perfetto trace: {e}", file=sys.stderr)
    sys.exit(1)
names = {}
tracks = defaultdict(lambda: {"begin": 0, "end": 0, "names": Counter()})
flows = Counter()
for p in trace.packet:
    if p.HasField("track_descriptor"):
        names[p.track_descriptor.uuid] = p.track_descriptor.name
    if p.HasField("track_event"):
        ev = p.track_event
        t = tracks[ev.track_uuid]
        if ev.type == pb.TrackEvent.TYPE_SLICE_BEGIN:
            t["begin"] += 1
            t["names"][ev.name] += 1
        elif ev.type == pb.TrackEvent.TYPE_SLICE_END:
            t["end"] += 1
        for f in ev.flow_ids:
            flows[f] += 1
out = {
    "packets": len(trace.packet),
    "tracks": {names.get(u, str(u)): {"begin": t["begin"], "end": t["end"],
                                      "names": dict(t["names"])}
               for u, t in tracks.items()},
    "flows": sum(1 for n in flows.values() if n >= 2),
    "unpaired_flows": sum(1 for n in flows.values() if n < 2),
}
print(json.dumps(out, sort_keys=True))
