#!/usr/bin/env python3
"""Throughput side by side: `gosleuth logs` against Drain3 on a large,
realistic service log, or on inputs that defeat clustering.

    benches/logs-vs-drain3.py [--mb 1024] [--drain3-mb 32] [--shape service]
    benches/logs-vs-drain3.py --shape random-bytes --mb 100 --drain3-mb 4
    benches/logs-vs-drain3.py --shape random-words --mb 100 --drain3-mb 4
    benches/logs-vs-drain3.py --shape free-text --mb 100 --drain3-mb 4

--shape picks the input (made once, seeded, so every run reads the same
bytes): `service` (below), `random-bytes`, `random-words` (lines of 1 to
20 random words: every line a new message) or `free-text` (logfmt records
whose `query="..."` field holds 1 to 6 words of a 20,000-word vocabulary
and whose `sort=` field one word of it).

Makes (or reuses) a log of --mb megabytes by replaying the factory's
service log (fixtures/text/embedded/crash.service-log.txt: 3,000 lines of
ten message kinds at four levels, with a real Go panic in the middle) with
varied ids, sizes and durations and advancing timestamps; the panic is kept
once, in the middle. The file goes to $GOSLEUTH_BENCH_DIR (default
~/.cache/gosleuth/bench) and is not committed.

Then times `gosleuth logs` on the whole file (wall clock, page cache warm,
best of 2, every core) and on its first --drain3-mb megabytes, and Drain3
(`pip install drain3`; default config plus its example masking rules) on
those same first megabytes, since Drain3 needs far too long for the whole
file. Prints MB/s for each and the ratio.
"""

import argparse
import datetime
import os
import re
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "fixtures/text/embedded/crash.service-log.txt")
NUM = re.compile(r"\d+")
STAMP = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} ")


def generate(path, mb):
    with open(SEED, encoding="utf-8") as f:
        seed = f.read().splitlines()
    # Split each ordinary line into its stamp and a format string whose
    # numbers vary per round; runtime lines (the panic) are kept verbatim,
    # once.
    plain, panic = [], []
    for i, line in enumerate(seed):
        m = STAMP.match(line)
        if m and " Handling: " not in line and "Buy item" not in line:
            body = line[m.end():].replace("{", "{{").replace("}", "}}")
            nums = [int(n) for n in NUM.findall(body)]
            plain.append((i, NUM.sub("{}", body), nums))
        else:
            panic.append(line)
    base = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc).timestamp()
    target = mb * 1_000_000
    written = 0
    rnd = 0
    rounds_for_panic = None
    with open(path + ".tmp", "w", encoding="utf-8") as out:
        while written < target:
            chunk = []
            for i, fmt, nums in plain:
                t = base + rnd * 2200 + i * 0.7
                stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(t))
                salt = rnd * 7919 + i
                vals = [(n + salt * 131) % (10 ** max(len(str(n)), 3)) for n in nums]
                chunk.append(stamp + " " + fmt.format(*vals))
            if rounds_for_panic is None and written >= target // 2:
                chunk.extend(panic)
                rounds_for_panic = rnd
            s = "\n".join(chunk) + "\n"
            out.write(s)
            written += len(s)
            rnd += 1
    os.replace(path + ".tmp", path)


def generate_hostile(path, mb, shape):
    import random

    rnd = random.Random(20261121)
    target = mb * 1_000_000
    written = 0
    with open(path + ".tmp", "wb") as out:
        if shape == "random-bytes":
            while written < target:
                chunk = rnd.randbytes(min(1 << 20, target - written))
                out.write(chunk)
                written += len(chunk)
        else:
            letters = "abcdefghijklmnopqrstuvwxyz"
            word = lambda n: "".join(rnd.choices(letters, k=rnd.randint(1, n)))
            vocab = [word(8) for _ in range(20_000)]
            i = 0
            while written < target:
                lines = []
                for _ in range(1000):
                    if shape == "random-words":
                        lines.append(" ".join(word(9) for _ in range(rnd.randint(1, 20))))
                    else:
                        q = " ".join(rnd.choice(vocab) for _ in range(rnd.randint(1, 6)))
                        lines.append(
                            f"time=2026-11-21T10:{i // 600 % 60:02d}:{i // 10 % 60:02d}Z level=info "
                            f'msg=search user={rnd.randint(1, 99999)} query="{q}" '
                            f"sort={rnd.choice(vocab)} took={rnd.randint(1, 900)}ms"
                        )
                    i += 1
                data = ("\n".join(lines) + "\n").encode()
                out.write(data)
                written += len(data)
    os.replace(path + ".tmp", path)


def wall(cmd, **kw):
    """Wall-clock seconds of a run; CPU seconds (user + system) are added
    to CPU[cmd-kind] so that a busy machine can be told apart from a slow
    program."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return dt


LAST_CPU = [0.0]


def best(cmd, n):
    """Best wall time of n runs, with the CPU seconds of that run."""
    runs = []
    for _ in range(n):
        w = wall(cmd)
        runs.append((w, LAST_CPU[0]))
    return min(runs)


def drain3_seconds(path, nbytes):
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import importlib.util

    spec = importlib.util.spec_from_file_location("loghub", os.path.join(os.path.dirname(__file__), "logs-loghub.py"))
    loghub = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loghub)
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, m) for p, m in loghub.MASKING]
    miner = TemplateMiner(config=config)
    with open(path, encoding="utf-8", errors="replace") as f:
        data = f.read(nbytes)
    lines = data.splitlines()
    t0 = time.perf_counter()
    for l in lines:
        miner.add_log_message(l)
    return time.perf_counter() - t0, len(data.encode()), len(miner.drain.clusters)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--drain3-mb", type=int, default=32, help="0: do not run Drain3")
    ap.add_argument("--gosleuth", default=os.path.join(ROOT, "target/release/gosleuth"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--shape", default="service", choices=["service", "random-bytes", "random-words", "free-text"])
    args = ap.parse_args()

    work = os.environ.get("GOSLEUTH_BENCH_DIR", os.path.expanduser("~/.cache/gosleuth/bench"))
    os.makedirs(work, exist_ok=True)
    big = os.path.join(work, f"{args.shape}-{args.mb}mb.log")
    if not os.path.exists(big):
        print(f"making {big}", file=sys.stderr)
        if args.shape == "service":
            generate(big, args.mb)
        else:
            generate_hostile(big, args.mb, args.shape)
    size = os.path.getsize(big)
    sample = os.path.join(work, f"{args.shape}-{args.mb}mb.first-{args.drain3_mb}mb.log")
    if not os.path.exists(sample):
        with open(big, "rb") as f, open(sample, "wb") as out:
            data = f.read(args.drain3_mb * 1_000_000)
            out.write(data[: data.rfind(b"\n") + 1])
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "gosleuth"], cwd=ROOT, check=True)

    gs = [args.gosleuth, "logs", "--color", "never"]
    wall(gs + [big])  # warm the page cache
    t_big, c_big = best(gs + [big], 2)
    t_sample, _ = best(gs + [sample], 3)
    t_one, c_one = best(gs + ["--threads", "1", sample], 3)
    t_big1, c_big1 = best(gs + ["--threads", "1", big], 1)
    mb = size / 1e6
    smb = os.path.getsize(sample) / 1e6
    print(f"input: {big} ({mb:.0f} MB); sample: first {smb:.0f} MB")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other work slows the wall-clock figures)")
    print(f"gosleuth logs, {mb:.0f} MB, all cores:  {t_big:7.2f} s  {mb / t_big:7.0f} MB/s  ({c_big:.2f} CPU s: {mb / c_big:.0f} MB per CPU second)")
    print(f"gosleuth logs, {mb:.0f} MB, 1 thread:   {t_big1:7.2f} s  {mb / t_big1:7.0f} MB/s  ({c_big1:.2f} CPU s)")
    print(f"gosleuth logs, {smb:.0f} MB, all cores:   {t_sample:7.2f} s  {smb / t_sample:7.0f} MB/s")
    print(f"gosleuth logs, {smb:.0f} MB, 1 thread:    {t_one:7.2f} s  {smb / t_one:7.0f} MB/s  ({c_one:.2f} CPU s)")
    if args.drain3_mb == 0:
        return
    d_s, d_bytes, d_clusters = drain3_seconds(sample, os.path.getsize(sample))
    print(f"Drain3,        {smb:.0f} MB:              {d_s:7.2f} s  {d_bytes / 1e6 / d_s:7.1f} MB/s  ({d_clusters} clusters)")
    print(f"ratio: gosleuth is {d_s / t_sample:.0f}x faster than Drain3 on the same {smb:.0f} MB "
          f"({d_s / t_one:.0f}x on one thread)")


if __name__ == "__main__":
    main()
