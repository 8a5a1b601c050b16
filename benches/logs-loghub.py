#!/usr/bin/env python3
"""Template-clustering accuracy of `gosleuth logs` on the Loghub-2k samples,
side by side with Drain3.

    benches/logs-loghub.py [LOGHUB_2K_DIR] [--gosleuth PATH] [--similarity X]

LOGHUB_2K_DIR defaults to /work/shared/data/loghub-2k: one folder per system
with `<X>_2k.log` and the ground truth `<X>_2k.log_structured.csv` (Loghub,
https://github.com/logpai/loghub; cite: Zhu et al., Loghub, ISSRE 2023). The
data is not part of this repository and never read by the test suite.

Grouping accuracy (GA), as Loghub defines it: a line is correct when the set
of lines put in its group is exactly the set of lines sharing its
ground-truth EventId; GA = correct lines / all lines.

gosleuth reads the raw lines (it finds timestamps, levels and headers
itself) and prints every line's template with `--format json --assignments`;
lines it puts in no template (continuation or blank lines) count as groups
of their own. Drain3 (`pip install drain3`) runs with its default
configuration (sim_th 0.4, depth 4, max_children 100) and the masking rules
of its example drain3.ini, twice: on the same raw lines, and on Loghub's
pre-extracted `Content` column (the setting Loghub benchmarks use, which
needs a hand-written per-system header regex gosleuth does not get).
"""

import argparse
import collections
import csv
import json
import os
import subprocess
import sys
import time

MASKING = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
]


def grouping_accuracy(truth, predicted):
    """Loghub's GA: lines whose predicted group equals their true group."""
    assert len(truth) == len(predicted), (len(truth), len(predicted))
    by_pred = collections.defaultdict(list)
    for i, p in enumerate(predicted):
        by_pred[p].append(i)
    truth_size = collections.Counter(truth)
    correct = 0
    for members in by_pred.values():
        ids = {truth[i] for i in members}
        if len(ids) == 1 and truth_size[truth[members[0]]] == len(members):
            correct += len(members)
    return correct / len(truth)


def drain3_groups(lines):
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, m) for p, m in MASKING]
    miner = TemplateMiner(config=config)
    ids = [miner.add_log_message(l)["cluster_id"] for l in lines]
    return ids


def gosleuth_groups(binary, path, similarity):
    cmd = [binary, "logs", "--format", "json", "--assignments", path]
    if similarity is not None:
        cmd[2:2] = ["--similarity", str(similarity)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    # Unassigned lines are groups of their own.
    return [a if a is not None else f"line{i}" for i, a in enumerate(doc["assignments"])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", default="/work/shared/data/loghub-2k")
    ap.add_argument("--gosleuth", default="target/release/gosleuth")
    ap.add_argument("--similarity", type=float, default=None)
    ap.add_argument("--no-drain3", action="store_true")
    args = ap.parse_args()

    systems = sorted(d for d in os.listdir(args.data) if os.path.isdir(os.path.join(args.data, d)))
    rows = []
    for s in systems:
        log = os.path.join(args.data, s, f"{s}_2k.log")
        structured = log + "_structured.csv"
        if not (os.path.exists(log) and os.path.exists(structured)):
            continue
        with open(structured, newline="", encoding="utf-8") as f:
            recs = list(csv.DictReader(f))
        truth = [r["EventId"] for r in recs]
        content = [r["Content"] for r in recs]
        with open(log, encoding="utf-8", errors="replace", newline="") as f:
            raw = [l.rstrip("\r\n") for l in f.read().split("\n")]
        if raw and raw[-1] == "":
            raw.pop()
        t0 = time.perf_counter()
        ours = gosleuth_groups(args.gosleuth, log, args.similarity)[: len(truth)]
        t_ours = time.perf_counter() - t0
        ga_ours = grouping_accuracy(truth, ours)
        ga_raw = ga_content = float("nan")
        if not args.no_drain3:
            ga_raw = grouping_accuracy(truth, drain3_groups(raw[: len(truth)]))
            ga_content = grouping_accuracy(truth, drain3_groups(content))
        rows.append((s, ga_ours, ga_raw, ga_content, t_ours))
        print(f"{s:12} gosleuth {ga_ours:.3f}  drain3(raw) {ga_raw:.3f}  drain3(content) {ga_content:.3f}", file=sys.stderr)

    print("| data set | gosleuth logs (raw lines) | Drain3 (same raw lines) | Drain3 (Loghub Content column) |")
    print("|---|---:|---:|---:|")
    for s, a, b, c, _ in rows:
        print(f"| {s} | {a:.3f} | {b:.3f} | {c:.3f} |")
    n = max(len(rows), 1)
    avg = [sum(r[i] for r in rows) / n for i in (1, 2, 3)]
    print(f"| **average** | **{avg[0]:.3f}** | **{avg[1]:.3f}** | **{avg[2]:.3f}** |")


if __name__ == "__main__":
    main()
