#!/usr/bin/env python3
"""The crate-dependency picture in docs/ARCHITECTURE.md, from `cargo metadata`.

    scripts/crate-graph.py           # rewrite the picture in docs/ARCHITECTURE.md
    scripts/crate-graph.py --check   # exit 1 when the picture is out of date (CI)
    scripts/crate-graph.py --print   # print the picture only

Crates are drawn in layers: a crate sits one layer above the highest crate it
depends on (normal dependencies; dev-dependencies are listed apart, since
they are test wiring, not architecture). Each crate shows its description
from its Cargo.toml and the workspace crates it uses directly. A Mermaid
block follows, which GitHub renders as a graph.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ARCHITECTURE.md"
BEGIN = "<!-- crate-graph:begin (scripts/crate-graph.py writes this block) -->"
END = "<!-- crate-graph:end -->"
PREFIX = "gosleuth-"


def short(name):
    return "cli (gosleuth)" if name == "gosleuth" else name.removeprefix(PREFIX)


def metadata():
    out = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    members = {}
    for p in json.loads(out)["packages"]:
        deps, dev = set(), set()
        for d in p["dependencies"]:
            if d["name"] == "gosleuth" or d["name"].startswith(PREFIX):
                (dev if d["kind"] == "dev" else deps).add(d["name"])
        members[p["name"]] = (p.get("description") or "", sorted(deps), sorted(dev - deps))
    return members


def layers(members):
    level = {}

    def depth(name, seen=()):
        if name in level:
            return level[name]
        if name in seen:
            sys.exit(f"crate-graph: dependency cycle through {name}")
        ds = [d for d in members[name][1] if d in members]
        level[name] = 1 + max((depth(d, seen + (name,)) for d in ds), default=-1)
        return level[name]

    for name in members:
        depth(name)
    out = {}
    for name, lv in level.items():
        out.setdefault(lv, []).append(name)
    return [sorted(out[lv], key=short) for lv in sorted(out, reverse=True)]


def picture(members):
    lines = ["```text"]
    width = max(len(short(n)) for n in members)
    for i, layer in enumerate(layers(members)):
        if i:
            lines.append("")
        for name in layer:
            desc, deps, _ = members[name]
            uses = ", ".join(short(d) for d in deps) or "(no workspace crates)"
            lines.append(f"{short(name):<{width}}  uses {uses}")
            lines.append(f"{'':<{width}}  {desc}")
    tests = sorted({short(d) for _, (_, _, dev) in members.items() for d in dev})
    lines.append("")
    lines.append(f"(dev-dependencies only, for tests: {', '.join(tests)})")
    lines.append("```")
    lines.append("")
    lines.append("```mermaid")
    lines.append("graph TD")
    for name in sorted(members, key=short):
        for d in members[name][1]:
            lines.append(f"  {short(name).split()[0]} --> {short(d)}")
    lines.append("```")
    return "\n".join(lines)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    block = f"{BEGIN}\n{picture(metadata())}\n{END}"
    if mode == "--print":
        print(block)
        return
    doc = DOC.read_text()
    if BEGIN not in doc or END not in doc:
        sys.exit(f"crate-graph: {DOC} has no {BEGIN} ... {END} block; add one where the picture goes")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + block + tail
    if mode == "--check":
        if new != doc:
            sys.exit("crate-graph: docs/ARCHITECTURE.md's crate picture is out of date; run scripts/crate-graph.py")
        return
    DOC.write_text(new)


if __name__ == "__main__":
    main()
