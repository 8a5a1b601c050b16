#!/usr/bin/env python3
"""Writes a large `go test` CI log for benches/ci-log.sh: SIZE megabytes of
test2json events (or plain -v output with --plain) of passing packages,
each with a hundred tests and their log lines, with the factory's citest
output (build failures, a panic, a race, a timeout) every 50 packages.

  python3 benches/ci-log.py SIZE_MB FACTORY_TEXT_DIR OUT [--plain]"""
import json
import sys

size = int(sys.argv[1]) << 20
text_dir = sys.argv[2]
out_path = sys.argv[3]
plain = "--plain" in sys.argv
failing = open(f"{text_dir}/citest.{'v' if plain else 'json'}.txt").read()


def package(k: int) -> str:
    pkg = f"example.com/svc/internal/pkg{k}"
    lines = []
    t = "2026-12-07T10:00:00.000000000Z"
    for i in range(100):
        name = f"TestHandler{i}/case_{i % 7}"
        if plain:
            lines.append(f"=== RUN   {name}")
            lines.append(f"    handler_test.go:{40 + i}: request {i} served in {i % 13}ms")
            lines.append(f"--- PASS: {name} (0.00s)")
            continue
        for ev in ({"Time": t, "Action": "run", "Package": pkg, "Test": name},
                   {"Time": t, "Action": "output", "Package": pkg, "Test": name,
                    "Output": f"=== RUN   {name}\n"},
                   {"Time": t, "Action": "output", "Package": pkg, "Test": name,
                    "Output": f"    handler_test.go:{40 + i}: request {i} served in {i % 13}ms\n"},
                   {"Time": t, "Action": "output", "Package": pkg, "Test": name,
                    "Output": f"--- PASS: {name} (0.00s)\n"},
                   {"Time": t, "Action": "pass", "Package": pkg, "Test": name, "Elapsed": 0}):
            lines.append(json.dumps(ev, separators=(",", ":")))
    if plain:
        lines += ["PASS", f"ok  \t{pkg}\t0.042s"]
    else:
        lines.append(json.dumps({"Time": t, "Action": "pass", "Package": pkg, "Elapsed": 0.042},
                                separators=(",", ":")))
    return "\n".join(lines) + "\n"


written = 0
k = 0
with open(out_path, "w") as out:
    while written < size:
        block = failing if k % 50 == 49 else package(k)
        out.write(block)
        written += len(block)
        k += 1
print(f"{out_path}: {written >> 20} MB, {k} packages", file=sys.stderr)
