#!/usr/bin/env python3
"""gosleuth evidence factory.

Builds the Go programs under factory/programs/ with several Go releases and
turns them into evidence (panic text, SIGQUIT dumps, pprof goroutine dumps,
race reports, pprof profiles, an execution trace, core files).

Subcommands (see factory/README.md for the full contract):

    build     [--go V ...] [--program P ...] [--force]
    evidence  [--go V ...] [--case C ...] [--force]
    cores     [--go V ...] [--case C ...] [--goroutines N] [--force]
    fixtures  [--go V ...] [--force]

Progress goes to stderr; the last line of stdout is the output directory
(one line per --go version, the last one last).  Python 3.11, stdlib only.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fcntl
import glob
import hashlib
import json
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

FACTORY = Path(__file__).resolve().parent
PROGRAMS_DIR = FACTORY / "programs"
REPO = FACTORY.parent
FIXTURES = REPO / "fixtures"

# Bump when the way artifacts are produced changes (invalidates the cache).
RECIPE_VERSION = "3"

DEFAULT_VERSIONS = ["installed", "go1.21.13", "go1.22.12", "go1.23.12", "go1.24.13", "go1.25.7"]
# Older releases (also served by the module proxy as toolchains). Only their
# text evidence cases (OLD_TEXT_CASES) are required; the other evidence cases
# (pprof profiles, trace, lockorder, parked) and cores are best effort:
# skipped, and recorded as skipped, when they fail.
OLD_VERSIONS = ["go1.17.13", "go1.18.10", "go1.19.13", "go1.20.14"]
# Names accepted by --go for a list of releases.
VERSION_GROUPS = {"default": DEFAULT_VERSIONS, "old": OLD_VERSIONS,
                  "all": OLD_VERSIONS + DEFAULT_VERSIONS}
# `fixtures` without --go: the default releases, then the old ones.
FIXTURE_VERSIONS = DEFAULT_VERSIONS + OLD_VERSIONS

PROGRAMS = ["crash", "racepanic", "rpcrace", "leak", "metricsdeadlock", "lockorder",
            "mapwrites", "goleak", "parked", "variants", "loadgen", "testtimeout", "tracer",
            "flightrec", "gcsys", "cpushare"]
# Programs that need a newer release than the oldest of the matrix (not
# built, and their cases not run, for older ones).
MIN_MINOR = {"flightrec": 25, "cpushare": 21}
# Helper programs are built with default flags only.
HELPERS = {"loadgen"}
RACE_PROGRAMS = {"racepanic", "rpcrace"}

BUILD_VARIANTS = [
    ("", []),
    (".stripped", ["-ldflags=-s -w"]),
    (".pie", ["-buildmode=pie"]),
    (".noopt", ["-gcflags=all=-N -l"]),
]

EVIDENCE_CASES = ["crash", "racepanic", "rpcrace", "mapwrites", "leak", "metricsdeadlock",
                  "lockorder", "goleak", "parked", "variants", "testtimeout", "citest",
                  "tracer", "gcsys"]
# Evidence cases made only when asked for (a test names them): they need a
# newer release than the oldest of the matrix.
ON_DEMAND_CASES = ["flightrec"]
CORE_CASES = ["crash", "crash-noopt", "metricsdeadlock", "lockorder", "parked"]
DEFAULT_CORE_CASES = ["crash", "crash-noopt", "metricsdeadlock", "lockorder"]  # parked on demand
# Core cases that run a variant of another program: case -> (program, binary).
CORE_BINARY = {"crash-noopt": ("crash", "crash.noopt")}
# The evidence cases that must succeed for OLD_VERSIONS.
OLD_TEXT_CASES = ["crash", "racepanic", "rpcrace", "mapwrites", "variants", "goleak",
                  "metricsdeadlock"]
# The binaries each evidence case runs. For old releases only these are built
# on the way to evidence (`build` still builds every variant).
CASE_BINS = {
    "crash": ["crash"], "racepanic": ["racepanic", "racepanic.test"],
    "rpcrace": ["rpcrace.race"], "mapwrites": ["mapwrites"], "leak": ["leak"],
    "metricsdeadlock": ["metricsdeadlock", "loadgen"], "lockorder": ["lockorder"],
    "goleak": ["goleak"], "parked": ["parked"], "variants": ["variants"],
    "crash-noopt": ["crash.noopt"],
    # `go test` builds what it runs.
    "testtimeout": [], "citest": [], "tracer": ["tracer"], "flightrec": ["flightrec"],
    "gcsys": ["gcsys"],
}

# variants subcommands, each run under GOTRACEBACK=all ...
VARIANT_NAMES = [
    "error", "typed", "stringer", "multiline", "errorf", "index", "slice", "nilmap",
    "divzero", "closeclosed", "nilfunc", "nilptr", "nested", "repanic", "repanicdiff",
    "panicdefer", "generic", "goexit", "deadlock", "stackoverflow", "unlock",
    "lockosthread", "labels", "elided", "stackexit", "states",
]
# ... plus these extra runs: (file suffix, subcommand, env)
VARIANT_EXTRA = [
    ("nested.single", "nested", {"GOTRACEBACK": "single"}),
    ("error.single", "error", {"GOTRACEBACK": "single"}),
    ("nilptr.default", "nilptr", {}),
    ("nested.system", "nested", {"GOTRACEBACK": "system"}),
    ("states.system", "states", {"GOTRACEBACK": "system"}),
    ("error.crash", "error", {"GOTRACEBACK": "crash"}),
    ("nilptr.crash", "nilptr", {"GOTRACEBACK": "crash"}),
    ("nested.ancestors", "nested", {"GOTRACEBACK": "all", "GODEBUG": "tracebackancestors=5"}),
]

# What gosleuth's tests read, by the role a release has in a test run
# (`prepare`, which scripts/test.sh runs): keep in step with the tests and
# with crates/testkit/src/lib.rs. Anything missing is still made when a
# test asks for it; this only makes it ahead, two releases at a time.
#   tests:  every test runs on it (the newest and the oldest release by
#           default): every evidence case, the default cores, and these
#           binaries besides those the cases run.
#   layout: only the tests of the runtime's per-release layout (the
#           releases between newest and oldest by default).
#   text:   only the text parsers' tests (go1.17-go1.20 by default).
TEST_BINARIES = ["crash", "crash.noopt", "parked", "parked.stripped", "parked.pie",
                 "parked.noopt", "lockorder", "lockorder.stripped", "metricsdeadlock",
                 "leak", "leak.stripped", "leak.pie", "leak.noopt",
                 "variants", "variants.stripped", "variants.pie", "variants.noopt"]
LAYOUT_BINARIES = ["parked", "parked.stripped"]
TEST_VERSIONS = ["installed", "go1.21.13"]          # testkit's DEFAULT_GO_VERSIONS
LAYOUT_VERSIONS = DEFAULT_VERSIONS                  # testkit's layout_go_versions()
PREPARE_ROLES = ("tests", "layout", "text")

FIXTURE_MAX = 64 * 1024
METRICS_LOAD = 12000      # connections opened against metricsdeadlock
METRICS_MIN_BLOCKED = 10000



def log(*args):
    print("[factory]", *args, file=sys.stderr, flush=True)


class FactoryError(Exception):
    pass


# ---------------------------------------------------------------------------
# Go toolchains

_installed_version = None


def installed_version() -> str:
    global _installed_version
    if _installed_version is None:
        env = dict(os.environ, GOTOOLCHAIN="local")
        out = subprocess.run(["go", "env", "GOVERSION"], env=env, capture_output=True,
                             text=True, timeout=60, check=True).stdout.strip()
        _installed_version = out
    return _installed_version


def resolve_version(v: str) -> str:
    if v == "installed":
        return installed_version()
    if not re.fullmatch(r"go1\.\d+(\.\d+)?((rc|beta)\d+)?", v):
        raise FactoryError(f"bad Go version {v!r} (want e.g. go1.23.12 or 'installed')")
    return v


def go_minor(version: str) -> int:
    """go1.19.13 -> 19 (a resolved version)."""
    m = re.match(r"go1\.(\d+)", version)
    if not m:
        raise FactoryError(f"cannot read the minor version of {version!r}")
    return int(m.group(1))


def is_old(version: str) -> bool:
    """Releases before go1.21 (no GOTOOLCHAIN of their own): see go_env."""
    return go_minor(version) < 21


_base_go_env = None

# Settings that the go env config file may hold and that old toolchains run
# with GOENV=off still need (taken from the installed go, so the usual module
# cache, build cache and proxy are used).
_CARRIED_GO_ENV = ("GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOSUMDB", "GONOSUMDB",
                   "GONOPROXY", "GOPRIVATE", "GOINSECURE", "GOTMPDIR")


def base_go_env() -> dict:
    global _base_go_env
    if _base_go_env is None:
        env = dict(os.environ, GOTOOLCHAIN="local")
        out = subprocess.run(["go", "env", "-json", *_CARRIED_GO_ENV], env=env,
                             capture_output=True, text=True, timeout=60, check=True).stdout
        _base_go_env = {k: v for k, v in json.loads(out).items() if v}
    return _base_go_env


def go_env(version: str, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    for k in ("GOTRACEBACK", "GODEBUG", "GORACE", "GOOS", "GOARCH", "GOFLAGS", "GOWORK"):
        env.pop(k, None)
    env["GOTOOLCHAIN"] = "local" if version == installed_version() else version
    env["GOFLAGS"] = "-buildvcs=false"
    env["GOWORK"] = "off"
    if is_old(version):
        # The go env config file may set flags old releases reject (GOFLAGS=
        # -buildvcs=false on the dev machine: no -buildvcs before go1.18, and an
        # empty GOFLAGS variable does not override the file). Run them without
        # the file, carrying the locations over explicitly.
        env["GOENV"] = "off"
        env.update(base_go_env())
        if go_minor(version) < 18:
            env.pop("GOFLAGS")
        if go_minor(version) == 19:
            # go1.19's module index fails on every main package here with
            # 'import "": import of unknown directory'; turn the index off.
            env["GODEBUG"] = "goindex=0"
    env["CGO_ENABLED"] = "1"  # -race needs cgo on older releases
    if extra:
        env.update(extra)
    return env


def run_env(extra: dict | None = None) -> dict:
    """Environment for running the built programs."""
    env = dict(os.environ)
    for k in ("GOTRACEBACK", "GODEBUG", "GORACE", "GOMAXPROCS"):
        env.pop(k, None)
    env["http_proxy"] = env["https_proxy"] = ""
    env["no_proxy"] = "127.0.0.1,localhost"
    if extra:
        env.update(extra)
    return env


# ---------------------------------------------------------------------------
# Manifest / cache


def out_root() -> Path:
    base = os.environ.get("GOSLEUTH_FACTORY_DIR")
    if base:
        return Path(base).expanduser()
    return Path("~/.cache/gosleuth/factory").expanduser()


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def program_sources_hash(programs) -> str:
    h = hashlib.sha256()
    for prog in sorted(set(programs)):
        d = PROGRAMS_DIR / prog
        for f in sorted(d.rglob("*")):
            if f.is_file() and (f.suffix in (".go", ".mod", ".sum") or f.name == "go.mod"):
                h.update(str(f.relative_to(PROGRAMS_DIR)).encode() + b"\0")
                h.update(f.read_bytes() + b"\0")
    return h.hexdigest()


def inputs_hash(version: str, programs, spec) -> str:
    blob = json.dumps({"recipe": RECIPE_VERSION, "go": version,
                       "sources": program_sources_hash(programs), "spec": spec},
                      sort_keys=True).encode()
    return sha256_bytes(blob)


class Manifest:
    def __init__(self, outdir: Path, version: str):
        self.outdir = outdir
        self.path = outdir / "manifest.json"
        self.data = {"goversion": version, "artifacts": {}, "groups": {}, "timings": {}}
        if self.path.exists():
            try:
                self.data.update(json.loads(self.path.read_text()))
            except (ValueError, OSError):
                log(f"warning: unreadable {self.path}, starting a new manifest")

    def save(self):
        self.outdir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    def fresh(self, group: str, inputs: str) -> bool:
        g = self.data["groups"].get(group)
        if not g or g.get("inputs") != inputs:
            return False
        for rel in g.get("artifacts", []):
            a = self.data["artifacts"].get(rel)
            p = self.outdir / rel
            if not a or not p.exists() or p.stat().st_size != a.get("size"):
                return False
        return True

    def record(self, group: str, inputs: str, rels, extra=None):
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        for rel in rels:
            p = self.outdir / rel
            entry = {"size": p.stat().st_size, "inputs": inputs, "group": group, "created": now}
            if p.stat().st_size <= 64 << 20:
                entry["sha256"] = sha256_file(p)
            self.data["artifacts"][rel] = entry
        g = {"inputs": inputs, "artifacts": list(rels), "created": now}
        if extra:
            g.update(extra)
        self.data["groups"][group] = g
        self.save()

    def timing(self, step: str, seconds: float):
        self.data["timings"][step] = round(seconds, 1)
        self.save()


# ---------------------------------------------------------------------------
# Process helpers

def _limits(core: bool):
    def fn():
        lim = resource.RLIM_INFINITY if core else 0
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (lim, lim) if core else (0, 0))
        except (ValueError, OSError):
            pass
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return fn


def run_capture(cmd, outfile: Path, env=None, cwd=None, timeout=120, core=False):
    """Run cmd with stdout+stderr interleaved into outfile. Returns (rc, text, timed_out)."""
    outfile.parent.mkdir(parents=True, exist_ok=True)
    with open(outfile, "wb") as f:
        p = subprocess.Popen([str(c) for c in cmd], stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                             preexec_fn=_limits(core), start_new_session=True)
        timed_out = False
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(p)
            rc = p.wait(timeout=30)
    return rc, outfile.read_text(errors="replace"), timed_out


def kill_group(p: subprocess.Popen, sig=signal.SIGKILL):
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


class Server:
    """A program we start, whose first stdout line is its listen address."""

    def __init__(self, cmd, errfile: Path, env=None, cwd=None, core=False, first_line_timeout=30):
        errfile.parent.mkdir(parents=True, exist_ok=True)
        self.errfile = errfile
        self._err = open(errfile, "wb")
        self.proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE,
                                     stderr=self._err, stdin=subprocess.DEVNULL, env=env,
                                     cwd=cwd, preexec_fn=_limits(core), start_new_session=True)
        self.pid = self.proc.pid
        self.addr = None
        if first_line_timeout:
            self.addr = self.readline(first_line_timeout)

    def readline(self, timeout):
        fd = self.proc.stdout
        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise FactoryError(f"pid {self.pid}: no output line within {timeout}s")
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            ch = os.read(fd.fileno(), 1)
            if not ch:
                raise FactoryError(f"pid {self.pid}: exited (rc={self.proc.poll()}) before printing a line; "
                                   f"stderr: {self.errfile.read_text(errors='replace')[-2000:]}")
            buf += ch
        return buf.decode().strip()

    def url(self, path):
        return f"http://{self.addr}{path}"

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        kill_group(self.proc)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        self._err.close()


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout=60) -> bytes:
    with _opener.open(url, timeout=timeout) as r:
        return r.read()


def http_save(url: str, dest: Path, timeout=60) -> int:
    data = http_get(url, timeout)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return len(data)


def debug1_count(text: str, needle: str) -> int:
    """Sum of goroutine counts of debug=1 records whose frames mention needle."""
    total = 0
    for rec in text.split("\n\n"):
        m = re.search(r"^(\d+) @", rec, re.M)
        if m and needle in rec:
            total += int(m.group(1))
    return total


def debug1_total(text: str) -> int:
    m = re.search(r"goroutine profile: total (\d+)", text)
    return int(m.group(1)) if m else -1


def debug1_count_all(text: str, needles) -> int:
    """Sum of goroutine counts of debug=1 records whose frames mention every needle."""
    total = 0
    for rec in text.split("\n\n"):
        m = re.search(r"^(\d+) @", rec, re.M)
        if m and all(n in rec for n in needles):
            total += int(m.group(1))
    return total


def wait_debug1(srv, what: str, done, timeout=60.0) -> str:
    """Polls the server's debug=1 goroutine profile until done(text) holds:
    the state a case needs is waited for, never assumed after a sleep (on a
    loaded machine a sleep may not be enough)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        d1 = http_get(srv.url("/debug/pprof/goroutine?debug=1"), timeout=60).decode()
        if done(d1):
            return d1
        if time.monotonic() > deadline:
            raise FactoryError(f"{what} not reached within {timeout:.0f}s")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def lockorder_deadlocked(d1: str) -> bool:
    """Both transfer goroutines wait for the other's mutex (a goroutine still
    in its 50 ms sleep, or between two transfers, is not there yet)."""
    return debug1_count_all(d1, ["main.transfer", "runtime_SemacquireMutex"]) == 2


# ---------------------------------------------------------------------------
# Build

def binary_names(prog: str):
    """(artifact name, kind, flags) for every binary of prog."""
    if prog in HELPERS:
        return [(prog, "build", [])]
    out = [(prog + suf, "build", flags) for suf, flags in BUILD_VARIANTS]
    if prog in RACE_PROGRAMS:
        out.append((prog + ".race", "build", ["-race"]))
    if prog == "racepanic":
        out.append((prog + ".test", "test", []))
        out.append((prog + ".race.test", "test", ["-race"]))
    return out


def build(version: str, outdir: Path, man: Manifest, programs, force=False, only=None):
    t0 = time.monotonic()
    bindir = outdir / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    env = go_env(version)
    failures = []
    built = 0
    for prog in programs:
        src = PROGRAMS_DIR / prog
        if not (src / "go.mod").exists():
            raise FactoryError(f"unknown program {prog}")
        if prog in MIN_MINOR and go_minor(version) < MIN_MINOR[prog]:
            log(f"{version}: {prog} skipped (needs go1.{MIN_MINOR[prog]})")
            continue
        for name, kind, flags in binary_names(prog):
            if only is not None and name not in only:
                continue
            rel = f"bin/{name}"
            spec = {"kind": kind, "flags": flags}
            inp = inputs_hash(version, [prog], spec)
            group = f"build:{name}"
            if not force and man.fresh(group, inp):
                continue
            tmp = bindir / (name + ".tmp")
            if kind == "build":
                cmd = ["go", "build", *flags, "-o", str(tmp), "."]
            else:
                cmd = ["go", "test", "-c", *flags, "-o", str(tmp), "."]
            t1 = time.monotonic()
            r = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=900)
            if r.returncode < 0:
                # Killed by a signal from outside (not a compile error): once more.
                log(f"{version}: build of {name} killed by signal {-r.returncode}; retrying once")
                r = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True,
                                   timeout=900)
            if r.returncode != 0 or not tmp.exists():
                log(f"{version}: BUILD FAILED {name} (exit status {r.returncode}): "
                    f"{' '.join(cmd)}\n{r.stderr[-3000:]}")
                failures.append(name)
                continue
            os.replace(tmp, bindir / name)
            built += 1
            man.record(group, inp, [rel], {"cmd": cmd, "seconds": round(time.monotonic() - t1, 1)})
            log(f"{version}: built {rel} ({time.monotonic() - t1:.1f}s)")
    if built:
        man.timing("build", time.monotonic() - t0)
    if failures:
        raise FactoryError(f"{version}: build failures: {', '.join(failures)}")


def need_bins(version, outdir, man, programs, case=None):
    """Build what a case needs: the binaries it runs (`build` makes the
    other variants when asked)."""
    only = set(CASE_BINS[case]) if case is not None else None
    build(version, outdir, man, programs, only=only)


def all_binary_names():
    """Every binary `build` can make, in build order: name -> program."""
    return {name: prog for prog in PROGRAMS for name, _, _ in binary_names(prog)}


# ---------------------------------------------------------------------------
# Evidence cases.  Each returns the list of artifact paths (relative to outdir).

class Ctx:
    def __init__(self, version, outdir: Path, man: Manifest, force: bool, goroutines: int):
        self.version = version
        self.outdir = outdir
        self.man = man
        self.force = force
        self.goroutines = goroutines
        self.bin = outdir / "bin"
        self.text = outdir / "text"
        self.pprof = outdir / "pprof"
        self.trace = outdir / "trace"
        self.core = outdir / "core"
        self.notes = []
        self.load_info = {}

    def rel(self, p: Path) -> str:
        return str(p.relative_to(self.outdir))


def expect(cond, msg):
    if not cond:
        raise FactoryError(msg)


def retry_capture(ctx, name, cmd, outfile, check, tries, env=None, timeout=60, cwd=None):
    last = ""
    for i in range(1, tries + 1):
        rc, text, to = run_capture(cmd, outfile, env=env, timeout=timeout, cwd=cwd)
        if check(rc, text):
            log(f"{ctx.version}: {name}: got it on try {i} (rc={rc})")
            return rc, text
        last = f"rc={rc} timed_out={to} tail={text[-300:]!r}"
    raise FactoryError(f"{name}: wanted output not produced in {tries} tries ({last})")


def case_crash(ctx: Ctx):
    arts = []
    bin_ = ctx.bin / "crash"
    with tempfile.TemporaryDirectory() as td:
        for suffix, env in (("panic", {}), ("panic.all", {"GOTRACEBACK": "all"})):
            out = ctx.text / f"crash.{suffix}.txt"
            retry_capture(ctx, f"crash.{suffix}", [bin_], out,
                          lambda rc, t: rc == 2 and "main.Handler" in t
                          and "nil pointer dereference" in t and len(t) < FIXTURE_MAX,
                          tries=200, env=run_env(env), timeout=30, cwd=td)
            arts.append(ctx.rel(out))
    return arts


def case_racepanic(ctx: Ctx):
    arts = []
    out = ctx.text / "racepanic.race.txt"
    src = PROGRAMS_DIR / "racepanic"
    retry_capture(ctx, "racepanic.race",
                  ["go", "test", "-race", "-run", "^TestPanic$", "-count=2000", "."], out,
                  lambda rc, t: "WARNING: DATA RACE" in t
                  and "slice bounds out of range [:5] with capacity 0" in t
                  and "WrapPanic" in t and len(t) < FIXTURE_MAX,
                  tries=10, env=go_env(ctx.version), timeout=300, cwd=src)
    arts.append(ctx.rel(out))
    # Same test without -race (prebuilt test binary), and the plain binary.
    with tempfile.TemporaryDirectory() as td:
        out = ctx.text / "racepanic.test.txt"
        retry_capture(ctx, "racepanic.test", [ctx.bin / "racepanic.test", "-test.run", "^TestPanic$",
                                              "-test.count", "20000"], out,
                      lambda rc, t: "capacity 0" in t and len(t) < FIXTURE_MAX, tries=10, env=run_env(), timeout=60, cwd=td)
        arts.append(ctx.rel(out))
        out = ctx.text / "racepanic.panic.txt"
        try:
            retry_capture(ctx, "racepanic.panic", [ctx.bin / "racepanic"], out,
                          lambda rc, t: "capacity 0" in t and len(t) < FIXTURE_MAX,
                          tries=20, env=run_env(), timeout=60, cwd=td)
            arts.append(ctx.rel(out))
        except FactoryError as e:
            ctx.notes.append(f"racepanic.panic skipped: {e}")
            out.unlink(missing_ok=True)
    return arts


def case_rpcrace(ctx: Ctx):
    out = ctx.text / "rpcrace.race.txt"
    # The window (the leaked goroutine writing between RPCCall's return and the
    # comparison) is narrow: with GOMAXPROCS=2 on a busy 2-core machine it can
    # take minutes; GOMAXPROCS=8 gets there in about a second. Bounded tries;
    # if none logs "abnormal response!", keep a run that has the race reports.
    with tempfile.TemporaryDirectory() as td:
        try:
            retry_capture(ctx, "rpcrace.race", [ctx.bin / "rpcrace.race"], out,
                          lambda rc, t: "WARNING: DATA RACE" in t and "abnormal response!" in t,
                          tries=4, env=run_env({"GOMAXPROCS": "8"}), timeout=60, cwd=td)
        except FactoryError as e:
            t = out.read_text(errors="replace") if out.exists() else ""
            if t.count("WARNING: DATA RACE") < 2:  # the tests read two races
                raise
            ctx.notes.append(f"rpcrace: no 'abnormal response!' within the time limit; kept a killed run: {e}")
            log(f"{ctx.version}: WARNING rpcrace: kept a run without 'abnormal response!' (killed after 60s)")
    return [ctx.rel(out)]


def case_mapwrites(ctx: Ctx):
    out = ctx.text / "mapwrites.fatal.txt"
    with tempfile.TemporaryDirectory() as td:
        retry_capture(ctx, "mapwrites.fatal", [ctx.bin / "mapwrites"], out,
                      lambda rc, t: "fatal error: concurrent map writes" in t and "main.Touch" in t,
                      tries=20, env=run_env(), timeout=60, cwd=td)
    return [ctx.rel(out)]


def case_leak(ctx: Ctx):
    arts = []
    with tempfile.TemporaryDirectory() as td:
        srv = Server([ctx.bin / "leak", "-addr", "127.0.0.1:0"], Path(td) / "stderr.txt",
                     env=run_env(), cwd=td)
        try:
            time.sleep(1.0)
            t_old = time.monotonic()

            def save(path, dest):
                n = http_save(srv.url(path), dest, timeout=60)
                expect(n > 0, f"empty {path}")
                arts.append(ctx.rel(dest))

            # gc=1: profile the heap as of a fresh GC, so the diff shows the leak.
            save("/debug/pprof/heap?gc=1", ctx.pprof / "leak.heap.old.pb.gz")
            save("/debug/pprof/profile?seconds=2", ctx.pprof / "leak.cpu.pb.gz")
            save("/debug/pprof/trace?seconds=1", ctx.trace / "leak.trace")
            save("/debug/pprof/allocs", ctx.pprof / "leak.allocs.pb.gz")
            save("/debug/pprof/goroutine", ctx.pprof / "leak.goroutine.pb.gz")
            save("/debug/pprof/mutex", ctx.pprof / "leak.mutex.pb.gz")
            save("/debug/pprof/block", ctx.pprof / "leak.block.pb.gz")
            save("/debug/pprof/goroutine?debug=1", ctx.text / "leak.debug1.txt")
            save("/debug/pprof/goroutine?debug=2", ctx.text / "leak.debug2.txt")
            left = 6.0 - (time.monotonic() - t_old)
            if left > 0:
                time.sleep(left)
            save("/debug/pprof/heap?gc=1", ctx.pprof / "leak.heap.new.pb.gz")
        finally:
            srv.stop()
    for a in arts:
        if a.endswith(".pb.gz"):
            expect((ctx.outdir / a).read_bytes()[:2] == b"\x1f\x8b", f"{a} is not gzip")
    expect("main.AddSSH" in (ctx.text / "leak.debug2.txt").read_text() or
           "main.main" in (ctx.text / "leak.debug2.txt").read_text(), "leak debug2 lacks main")
    return arts


def start_metrics_hang(ctx: Ctx, td: str, env: dict, core=False):
    """Start metricsdeadlock + loadgen; return (server, [loadgens]) once >10k are blocked."""
    # -interval 1ns: the consumer feeds itself a SetM per metric, so the hang
    # comes with the hundredth request, not when load wins a race (and the
    # cores hold a duration that is not zero, for the value tests to read).
    srv = Server([ctx.bin / "metricsdeadlock", "-addr", "127.0.0.1:0", "-interval", "1ns"],
                 Path(td) / "server.stderr",
                 env=env, cwd=td, core=core)
    gens = []
    try:
        want = METRICS_LOAD
        blocked = 0
        for attempt in range(4):
            n = want if attempt == 0 else max(500, METRICS_LOAD - blocked + 200)
            g = Server([ctx.bin / "loadgen", "-addr", srv.addr, "-n", n, "-c", 128],
                       Path(td) / f"loadgen{attempt}.stderr", env=run_env(), cwd=td,
                       first_line_timeout=240)
            gens.append(g)
            log(f"{ctx.version}: loadgen: {g.addr}")
            # Settled: the goroutines in CountS and the total unchanged over
            # three polls 0.5 s apart (a loaded server may still be accepting
            # the connections loadgen opened).
            seen = []
            for poll in range(120):
                time.sleep(0.5)
                d1 = http_get(srv.url("/debug/pprof/goroutine?debug=1"), timeout=60).decode()
                nb = debug1_count(d1, "CountS")
                seen.append((nb, debug1_total(d1)))
                blocked = nb
                if len(seen) >= 3 and len(set(seen[-3:])) == 1 and (nb > 0 or poll >= 6):
                    break
            log(f"{ctx.version}: metricsdeadlock: {blocked} goroutines in CountS, total {debug1_total(d1)}")
            if blocked >= METRICS_MIN_BLOCKED:
                ctx.load_info = {"goroutines_in_CountS": blocked, "goroutines_total": debug1_total(d1),
                                 "loadgen_rounds": len(gens)}
                return srv, gens
        raise FactoryError(f"metricsdeadlock: only {blocked} goroutines blocked in CountS")
    except BaseException:
        for g in gens:
            g.stop()
        srv.stop()
        raise


def case_metricsdeadlock(ctx: Ctx):
    arts = []
    with tempfile.TemporaryDirectory() as td:
        srv, gens = start_metrics_hang(ctx, td, run_env())
        try:
            for dbg in (1, 2):
                dest = ctx.text / f"metricsdeadlock.debug{dbg}.txt"
                http_save(srv.url(f"/debug/pprof/goroutine?debug={dbg}"), dest, timeout=120)
                arts.append(ctx.rel(dest))
            d1 = (ctx.text / "metricsdeadlock.debug1.txt").read_text()
            expect(debug1_count(d1, "CountS") > METRICS_MIN_BLOCKED, "debug1: too few in CountS")
            expect(debug1_count(d1, "startInChannelConsumer") >= 1, "debug1: consumer not found")
            srv.signal(signal.SIGQUIT)
            rc = srv.wait(120)
            expect(rc is not None, "metricsdeadlock did not exit after SIGQUIT")
        finally:
            for g in gens:
                g.stop()
            srv.stop()
        dest = ctx.text / "metricsdeadlock.sigquit.txt"
        shutil.copyfile(srv.errfile, dest)
        t = dest.read_text(errors="replace")
        expect("SIGQUIT" in t and t.count("main.(*Metrics).CountS") > METRICS_MIN_BLOCKED,
               "sigquit dump lacks CountS goroutines")
        arts.append(ctx.rel(dest))
    return arts


def case_lockorder(ctx: Ctx):
    arts = []
    with tempfile.TemporaryDirectory() as td:
        srv = Server([ctx.bin / "lockorder", "-addr", "127.0.0.1:0"], Path(td) / "stderr.txt",
                     env=run_env(), cwd=td)
        try:
            wait_debug1(srv, "lockorder: both transfers blocked", lockorder_deadlocked)
            for dbg in (1, 2):
                dest = ctx.text / f"lockorder.debug{dbg}.txt"
                http_save(srv.url(f"/debug/pprof/goroutine?debug={dbg}"), dest)
                arts.append(ctx.rel(dest))
            expect(lockorder_deadlocked((ctx.text / "lockorder.debug1.txt").read_text()),
                   "lockorder: expected 2 goroutines blocked in main.transfer")
            srv.signal(signal.SIGQUIT)
            expect(srv.wait(60) is not None, "lockorder did not exit after SIGQUIT")
        finally:
            srv.stop()
        dest = ctx.text / "lockorder.sigquit.txt"
        shutil.copyfile(srv.errfile, dest)
        expect("main.transfer" in dest.read_text(), "lockorder sigquit lacks main.transfer")
        arts.append(ctx.rel(dest))
    return arts


def case_goleak(ctx: Ctx):
    arts = []
    with tempfile.TemporaryDirectory() as td:
        # -tick 100ms keeps both dumps small enough to be committed as fixtures.
        srv = Server([ctx.bin / "goleak", "-addr", "127.0.0.1:0", "-tick", "100ms"],
                     Path(td) / "stderr.txt", env=run_env(), cwd=td)
        try:
            # t1 at ~0.8 s with at least one leaked fetchQuote, t2 ~1.1 s
            # later once there are more (waited for, not assumed).
            time.sleep(0.8)

            def quotes(d1):
                return debug1_count(d1, "main.fetchQuote")

            c1 = quotes(wait_debug1(srv, "goleak: a leaked fetchQuote", lambda d: quotes(d) >= 1))
            http_save(srv.url("/debug/pprof/goroutine?debug=2"), ctx.text / "goleak.t1.txt")
            c1 = max(c1, (ctx.text / "goleak.t1.txt").read_text().count("main.fetchQuote"))
            time.sleep(1.1)
            wait_debug1(srv, "goleak: more fetchQuote goroutines", lambda d: quotes(d) > c1)
            http_save(srv.url("/debug/pprof/goroutine?debug=2"), ctx.text / "goleak.t2.txt")
            http_save(srv.url("/debug/pprof/goroutine?debug=1"), ctx.text / "goleak.debug1.txt")
        finally:
            srv.stop()
    for n in ("goleak.t1.txt", "goleak.t2.txt", "goleak.debug1.txt"):
        arts.append(f"text/{n}")
    c1 = (ctx.text / "goleak.t1.txt").read_text().count("main.fetchQuote")
    c2 = (ctx.text / "goleak.t2.txt").read_text().count("main.fetchQuote")
    expect(0 < c1 < c2, f"goleak: fetchQuote did not grow ({c1} -> {c2})")
    return arts


def case_parked(ctx: Ctx):
    out = ctx.text / "parked.sigquit.txt"
    with tempfile.TemporaryDirectory() as td:
        srv = Server([ctx.bin / "parked", "-n", "14", "-depth", "120"], Path(td) / "stderr.txt",
                     env=run_env(), cwd=td, first_line_timeout=60)
        try:
            expect(srv.addr == "ready", f"parked printed {srv.addr!r}")
            srv.signal(signal.SIGQUIT)
            expect(srv.wait(60) is not None, "parked did not exit after SIGQUIT")
        finally:
            srv.stop()
        shutil.copyfile(srv.errfile, out)
    t = out.read_text()
    if go_minor(ctx.version) < 19:
        # go1.17/go1.18 stop the 120-deep goroutine at 100 walked frames but,
        # counting hidden runtime frames, print 97 and no "frames elided" line.
        expect(t.count("main.deep(") >= 90 and "main.blockedSend" in t, "parked dump incomplete")
    else:
        expect("frames elided" in t and "main.blockedSend" in t, "parked dump incomplete")
    return [ctx.rel(out)]


def case_variants(ctx: Ctx):
    arts = []
    names = list(VARIANT_NAMES)
    if go_minor(ctx.version) < 18:
        # No type parameters before go1.18: the program has no generic case
        # (generic_go117.go), so there is no variants.generic.txt.
        names.remove("generic")
        ctx.notes.append("variants.generic: not made (go1.17 has no generics)")
    runs = [(n, n, {"GOTRACEBACK": "all"}) for n in names] + VARIANT_EXTRA
    with tempfile.TemporaryDirectory() as td:
        for fname, sub, env in runs:
            out = ctx.text / f"variants.{fname}.txt"
            rc, text, to = run_capture([ctx.bin / "variants", sub], out, env=run_env(env),
                                       timeout=60, cwd=td)
            if to or (rc == 0 and sub != "labels"):
                raise FactoryError(f"variants {fname}: rc={rc} timed_out={to}")
            arts.append(ctx.rel(out))
    checks = {
        "typed": "main.T(5)", "goexit": "main called runtime.Goexit", "deadlock": "all goroutines are asleep",
        "stackoverflow": "stack overflow", "unlock": "unlock of unlocked mutex", "elided": "frames elided",
        "labels": "# labels:", "lockosthread": "locked to thread", "nested": "in goroutine",
        "generic": "main.Reduce[", "closeclosed": "close of closed channel", "divzero": "divide by zero",
        "nilmap": "assignment to entry in nil map", "nested.ancestors": "originating from goroutine",
    }
    if go_minor(ctx.version) < 18:
        del checks["generic"]
    if go_minor(ctx.version) < 21:
        del checks["nested"]  # "created by ... in goroutine N" came in go1.21
        # go1.17-go1.20 print "...additional frames elided..." only when
        # exactly 100 frames were printed; this panic's 100-frame walk
        # includes a hidden runtime frame, so 99 are printed and the elision
        # goes unmentioned.
        del checks["elided"]
        ctx.notes.append("variants.elided: no elision line (go1.17-go1.20 print 99 frames "
                         "and no '...additional frames elided...' for this panic)")
    for k, needle in checks.items():
        t = (ctx.text / f"variants.{k}.txt").read_text(errors="replace")
        if needle not in t:
            ctx.notes.append(f"variants.{k}: expected {needle!r} not found")
            log(f"{ctx.version}: WARNING variants.{k}: {needle!r} not found")
    return arts


def case_testtimeout(ctx: Ctx):
    """`go test -timeout 2s` of a test stuck on a recursive lock (Store.Incr
    calls Get under the same sync.Mutex), plain and with -json, and
    `go test -json` of a test that panics (a write to a nil map)."""
    arts = []
    src = PROGRAMS_DIR / "testtimeout"
    hang = ["-timeout", "2s", "-run", "^(TestGet|TestIncr)$", "."]
    runs = [
        ("testtimeout.timeout.txt", ["go", "test", *hang],
         lambda rc, t: "panic: test timed out after 2s" in t and ").Get(" in t
         and ").Incr(" in t),
        ("testtimeout.timeout.json.txt", ["go", "test", "-json", *hang],
         lambda rc, t: '"Action":"output"' in t and "test timed out after 2s" in t
         and ").Get(" in t),
        ("testtimeout.nilmap.json.txt", ["go", "test", "-json", "-run", "^TestNilMap$", "."],
         lambda rc, t: '"Action":"output"' in t and "assignment to entry in nil map" in t),
    ]
    for name, cmd, check in runs:
        out = ctx.text / name
        retry_capture(ctx, name, cmd, out, check, tries=3, env=go_env(ctx.version),
                      timeout=300, cwd=src)
        arts.append(ctx.rel(out))
    return arts


# The packages of factory/programs/citest and how each ends (see its README).
CITEST_TIMEOUT = "10s"


def case_citest(ctx: Ctx):
    """`go test -race -timeout 10s ./...` of the citest module, whose packages
    fail in every way CI sees (a failed assertion, a panicking subtest, a
    data race, a hang, a build failure, a vet failure, a flaky test): plain,
    `-v` and `-json`, and the plain and -json runs wrapped as a GitHub
    Actions log and the -v run as a GitLab job log. The -v run passes the
    flaky test (CITEST_FLAKY unset), the others fail it."""
    arts = []
    src = PROGRAMS_DIR / "citest"
    args = ["-race", "-timeout", CITEST_TIMEOUT, "./..."]

    def check(rc, t):
        return (rc != 0 and "test timed out after " + CITEST_TIMEOUT in t
                and "WARNING: DATA RACE" in t and "undefined: Missing" in t
                and "wrong type string" in t and "TestConfig" in t)
    runs = [
        ("citest.plain.txt", ["go", "test", *args], "fail"),
        ("citest.v.txt", ["go", "test", "-v", *args], ""),
        ("citest.json.txt", ["go", "test", "-json", *args], "fail"),
    ]
    texts = {}
    for name, cmd, flaky in runs:
        out = ctx.text / name
        env = go_env(ctx.version, {"CITEST_FLAKY": flaky})
        _, texts[name] = retry_capture(ctx, name, cmd, out, check, tries=3, env=env,
                                       timeout=300, cwd=src)
        arts.append(ctx.rel(out))
    for name, source, wrap in [("citest.github.txt", "citest.plain.txt", github_log),
                               ("citest.json.github.txt", "citest.json.txt", github_log),
                               ("citest.gitlab.txt", "citest.v.txt", gitlab_log)]:
        out = ctx.text / name
        out.write_text(wrap(texts[source], "go test " + " ".join(args)))
        arts.append(ctx.rel(out))
    return arts


def ci_clock(i: int) -> str:
    """The time of a CI log's line i: a fixed start, 7 ms a line."""
    ms = i * 7
    t = 1796634000 + ms // 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{ms % 1000:03d}0000Z"


def github_log(text: str, command: str) -> str:
    """`text` as the raw log of a GitHub Actions step shows it: every line
    after a timestamp with seven decimals, the step's command in a
    `##[group]` with ANSI colours, and the `##[error]` line of a failed
    step."""
    head = [f"##[group]Run {command}", f"\x1b[36;1m{command}\x1b[0m",
            "shell: /usr/bin/bash -e {0}", "env:", "  GOTOOLCHAIN: local", "##[endgroup]"]
    tail = ["##[error]Process completed with exit code 1."]
    lines = head + text.splitlines() + tail
    return "".join(f"{ci_clock(i)} {line}\n" for i, line in enumerate(lines))


def gitlab_log(text: str, command: str) -> str:
    """`text` as a GitLab job log shows it: collapsible section markers
    (`section_start:T:name\\r\\x1b[0K`), ANSI colours, the job's command
    after `$ `, and the failure line."""
    esc = "\x1b"
    out = [f"{esc}[0KRunning with gitlab-runner 17.5.0 (8ad3b2ba){esc}[0;m",
           f"section_start:1796634000:step_script\r{esc}[0K{esc}[0K{esc}[36;1m"
           f"Executing \"step_script\" stage of the job script{esc}[0;m{esc}[0;m",
           f"{esc}[32;1m$ {command}{esc}[0;m"]
    # Some CI tools colour go test's verdicts.
    colour = {"--- FAIL": "31", "FAIL": "31", "--- PASS": "32", "ok  ": "32"}
    for line in text.splitlines():
        code = next((c for k, c in colour.items() if line.lstrip().startswith(k)), None)
        out.append(f"{esc}[{code}m{line}{esc}[0m" if code else line)
    out += [f"section_end:1796634060:step_script\r{esc}[0K"
            f"{esc}[31;1mERROR: Job failed: exit code 1\n{esc}[0;m"]
    return "\n".join(out) + "\n"


def write_trace(ctx: Ctx, prog: str, first_word: str, extra=()):
    """Runs `bin/PROG -o trace/PROG.trace` (and `extra` arguments), its
    stdout into `trace/PROG.txt`, and checks it ran (stdout starts with
    `first_word`)."""
    trace_dir = ctx.outdir / "trace"
    trace_dir.mkdir(parents=True, exist_ok=True)
    out = trace_dir / f"{prog}.trace"
    log_file = trace_dir / f"{prog}.txt"
    rc, text, _ = run_capture([ctx.bin / prog, "-o", out, *extra], log_file, env=run_env(),
                              timeout=120)
    expect(rc == 0 and text.startswith(first_word), f"{prog}: rc={rc} {text[-300:]!r}")
    return [ctx.rel(out), ctx.rel(log_file)]


def case_tracer(ctx: Ctx):
    """`bin/tracer -o trace/tracer.trace`: an execution trace of known
    behaviour (40 goroutines contending on a mutex in user regions of one
    task, three forced GC cycles and no others), with what the runtime
    counted in `trace/tracer.txt` (gc=N from MemStats). Go 1.21 writes the
    old trace format (the reader refuses it by name)."""
    return write_trace(ctx, "tracer", "gc=")


def case_flightrec(ctx: Ctx):
    """`bin/flightrec -o trace/flightrec.trace`: a snapshot of Go 1.25's
    flight recorder (FlightRecorder.WriteTo) taken while 8 goroutines
    contend on a mutex. The program needs Go 1.25 or later."""
    if go_minor(ctx.version) < 25:
        raise FactoryError(f"flightrec needs Go 1.25 or later (the flight recorder), not {ctx.version}")
    return write_trace(ctx, "flightrec", "increments")


def case_gcsys(ctx: Ctx):
    """`bin/gcsys -o trace/gcsys.trace`: an execution trace of 200 ms of
    allocation churn (GC cycles back to back, mark assists) then 8,000
    write system calls into a pipe, with the runtime's own counts in
    `trace/gcsys.txt` (gc=N, writes, bytes), and the program's own CPU
    profile over the same stretch in `trace/gcsys.cpu.pb.gz` (its samples
    are in the trace too)."""
    trace_dir = ctx.outdir / "trace"
    trace_dir.mkdir(parents=True, exist_ok=True)
    cpu = trace_dir / "gcsys.cpu.pb.gz"
    return write_trace(ctx, "gcsys", "gc=", ["-cpu", cpu]) + [ctx.rel(cpu)]


CASE_FUNCS = {
    "crash": (case_crash, ["crash"]),
    "racepanic": (case_racepanic, ["racepanic"]),
    "rpcrace": (case_rpcrace, ["rpcrace"]),
    "mapwrites": (case_mapwrites, ["mapwrites"]),
    "leak": (case_leak, ["leak"]),
    "metricsdeadlock": (case_metricsdeadlock, ["metricsdeadlock", "loadgen"]),
    "lockorder": (case_lockorder, ["lockorder"]),
    "goleak": (case_goleak, ["goleak"]),
    "parked": (case_parked, ["parked"]),
    "variants": (case_variants, ["variants"]),
    "testtimeout": (case_testtimeout, ["testtimeout"]),
    "citest": (case_citest, ["citest"]),
    "tracer": (case_tracer, ["tracer"]),
    "flightrec": (case_flightrec, ["flightrec"]),
    "gcsys": (case_gcsys, ["gcsys"]),
}


# Bump a case's number when its recipe in this file changes.
CASE_RECIPES = {"gcsys": 3, "citest": 1, "goleak": 4, "parked": 3, "racepanic": 2, "leak": 2, "rpcrace": 3,
                "lockorder": 1, "metricsdeadlock": 1}
# The same for the cores of a case (a case not listed keeps recipe 0).
CORE_RECIPES = {"lockorder": 1, "metricsdeadlock": 1}


def optional_for(version, kind, case) -> bool:
    """For old releases only the text evidence is required; the rest (pprof
    profiles, the other evidence cases, cores) is best effort."""
    return is_old(version) and (kind == "cores" or case not in OLD_TEXT_CASES)


def skipped_earlier(man: Manifest, group: str, inp: str):
    s = man.data.setdefault("skipped", {}).get(group)
    return s["reason"] if s and s.get("inputs") == inp else None


def record_skip(man: Manifest, group: str, inp: str, reason: str):
    """An optional step that failed for an old release: recorded (and not
    retried until its inputs change or --force), not a failure."""
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    man.data.setdefault("skipped", {})[group] = {"inputs": inp, "reason": reason[:2000],
                                                 "created": now}
    man.save()


def clear_skip(man: Manifest, group: str):
    if man.data.get("skipped", {}).pop(group, None) is not None:
        man.save()


def evidence(version, outdir, man, cases, force=False):
    t0 = time.monotonic()
    failures = []
    for case in cases:
        fn, progs = CASE_FUNCS[case]
        inp = inputs_hash(version, progs, {"evidence": case, "recipe": CASE_RECIPES.get(case, 0)})
        group = f"evidence:{case}"
        if not force and man.fresh(group, inp):
            log(f"{version}: evidence {case}: up to date")
            continue
        optional = optional_for(version, "evidence", case)
        if optional and not force and skipped_earlier(man, group, inp):
            log(f"{version}: evidence {case}: skipped (optional for old releases; failed earlier: "
                f"{skipped_earlier(man, group, inp)[:200]})")
            continue
        try:
            need_bins(version, outdir, man, progs, case)
            ctx = Ctx(version, outdir, man, force, 0)
            t1 = time.monotonic()
            arts = fn(ctx)
            dt = time.monotonic() - t1
            man.record(group, inp, arts, {"seconds": round(dt, 1), "notes": ctx.notes})
            man.timing(f"evidence:{case}", dt)
            clear_skip(man, group)
            log(f"{version}: evidence {case}: {len(arts)} artifacts ({dt:.1f}s)")
        except Exception as e:  # keep going with the other cases
            if optional:
                log(f"{version}: evidence {case} SKIPPED (optional for old releases): {e}")
                record_skip(man, group, inp, str(e))
                continue
            log(f"{version}: evidence {case} FAILED: {e}")
            failures.append(f"{case}: {e}")
    man.timing("evidence", time.monotonic() - t0)
    return failures


# ---------------------------------------------------------------------------
# Cores

def core_pattern():
    try:
        return Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError:
        return ""


def crash_cores_available():
    pat = core_pattern()
    if not pat or pat.startswith("|"):
        return False, pat
    return True, pat


def find_core(cwd: Path, pid: int, since: float):
    """Find the core the kernel wrote for pid per core_pattern (plain patterns only)."""
    pat = core_pattern()
    directory = Path(pat).parent if pat.startswith("/") else cwd
    base = Path(pat).name
    globpat = re.sub(r"%.", "*", base.replace("*", "?")) + "*"
    cands = []
    for f in glob.glob(str(directory / globpat)):
        p = Path(f)
        try:
            st = p.stat()
        except OSError:
            continue
        if st.st_mtime + 2 < since or not p.is_file():
            continue
        score = 1 if str(pid) in p.name else 0
        cands.append((score, st.st_mtime, p))
    if not cands:
        return None
    cands.sort()
    return cands[-1][2]


def wait_core_written(p: Path, timeout=120):
    last = -1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = p.stat().st_size
        if s == last and s > 0:
            return
        last = s
        time.sleep(0.5)


def do_gcore(ctx: Ctx, pid: int, case: str):
    dest = ctx.core / f"{case}.gcore.core"
    ctx.core.mkdir(parents=True, exist_ok=True)
    prefix = ctx.core / f"{case}.gcore.tmp"
    r = subprocess.run(["gcore", "-o", str(prefix), str(pid)], capture_output=True, text=True,
                       timeout=900)
    produced = Path(f"{prefix}.{pid}")
    if r.returncode != 0 or not produced.exists():
        raise FactoryError(f"gcore failed rc={r.returncode}: {r.stderr[-1000:]}")
    os.replace(produced, dest)
    dig_holes(dest)
    return dest


def dig_holes(p: Path):
    """gdb writes never-touched (all-zero) memory out in full; punch holes so
    the file is sparse on disk. The content (and the apparent size) is unchanged."""
    if shutil.which("fallocate"):
        subprocess.run(["fallocate", "--dig-holes", str(p)], capture_output=True, timeout=600)


def disk_usage(p: Path) -> int:
    return p.stat().st_blocks * 512


def write_meta(ctx: Ctx, name: str, meta: dict):
    p = ctx.core / f"{name}.json"
    p.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return p


def hung_case_cores(ctx: Ctx, case: str, crash_ok: bool):
    """gcore a hung service, then SIGQUIT it under GOTRACEBACK=crash for a kernel core."""
    arts = []
    binary = ctx.bin / case
    env = run_env({"GOTRACEBACK": "crash"})
    with tempfile.TemporaryDirectory(dir=ctx.core) as td:
        gens = []
        if case == "metricsdeadlock":
            srv, gens = start_metrics_hang(ctx, td, env, core=True)
            extra = dict(ctx.load_info)
        elif case == "lockorder":
            srv = Server([binary, "-addr", "127.0.0.1:0"], Path(td) / "stderr.txt", env=env,
                         cwd=td, core=True)
            try:
                wait_debug1(srv, "lockorder: both transfers blocked", lockorder_deadlocked)
            except BaseException:
                srv.stop()
                raise
            extra = {}
        elif case == "parked":
            n = ctx.goroutines or 10000
            srv = Server([binary, "-n", n], Path(td) / "stderr.txt", env=env, cwd=td, core=True,
                         first_line_timeout=600)
            expect(srv.addr == "ready", f"parked printed {srv.addr!r}")
            extra = {"goroutines_requested": n}
        else:
            raise FactoryError(case)
        try:
            if srv.addr and srv.addr != "ready":
                dbg = ctx.core / f"{case}.gcore.debug2.txt"
                http_save(srv.url("/debug/pprof/goroutine?debug=2"), dbg, timeout=300)
                arts.append(ctx.rel(dbg))
            t1 = time.monotonic()
            core = do_gcore(ctx, srv.pid, case)
            log(f"{ctx.version}: gcore {case}: {core.stat().st_size >> 20} MiB, "
                f"{disk_usage(core) >> 20} MiB on disk ({time.monotonic() - t1:.1f}s)")
            meta = {"pid": srv.pid, "binary": str(binary), "variant": "default",
                    "goversion": ctx.version, "method": "gcore", "core": str(core),
                    "gotraceback": "crash", "text": f"{case}.gcore.debug2.txt" if arts else None,
                    "size": core.stat().st_size, "disk_usage": disk_usage(core), **extra}
            arts += [ctx.rel(core), ctx.rel(write_meta(ctx, f"{case}.gcore", meta))]
            if crash_ok:
                since = time.time()
                srv.signal(signal.SIGQUIT)
                # printing a crash-level dump of N goroutines takes a while for big N
                rc = srv.wait(300 + extra.get("goroutines_requested", 0) // 1000)
                expect(rc is not None, f"{case} did not die after SIGQUIT")
                for g in gens:
                    g.stop()
                kcore = find_core(Path(td), srv.pid, since)
                expect(kcore is not None, f"{case}: no core file found (core_pattern={core_pattern()!r})")
                wait_core_written(kcore)
                dest = ctx.core / f"{case}.crash.core"
                os.replace(kcore, dest)
                dig_holes(dest)
                txt = ctx.core / f"{case}.crash.txt"
                srv.stop()
                shutil.copyfile(srv.errfile, txt)
                meta = {"pid": srv.pid, "binary": str(binary), "variant": "default",
                        "goversion": ctx.version, "method": "GOTRACEBACK=crash + SIGQUIT",
                        "exit_status": rc, "core": str(dest), "text": txt.name,
                        "size": dest.stat().st_size, "disk_usage": disk_usage(dest), **extra}
                arts += [ctx.rel(dest), ctx.rel(txt), ctx.rel(write_meta(ctx, f"{case}.crash", meta))]
                log(f"{ctx.version}: crash core {case}: {dest.stat().st_size >> 20} MiB")
        finally:
            for g in gens:
                g.stop()
            srv.stop()
    return arts


def handler_arg_of_crash(text: str):
    """The argument of main.Handler in the crashing goroutine's traceback
    (the first goroutine of the output), or None."""
    m = re.search(r"^goroutine \d+.*?\n\n", text + "\n\n", re.M | re.S)
    h = m and re.search(r"^main\.Handler\(0x([0-9a-f]+)\)", m.group(0), re.M)
    return int(h.group(1), 16) if h else None


def crash_program_core(ctx: Ctx, case="crash", binary_name="crash"):
    """Runs the crash program until it panics in main.Handler with a core.
    The -N -l build (case crash-noopt) must also show seed 001's situation:
    Handler called with an id below 1000 (the loop still running), so the
    captured loop variable and Handler's argument differ; the program's
    schedule makes it so on the first try, and it is checked in the
    crashing goroutine's traceback."""
    binary = ctx.bin / binary_name
    env = run_env({"GOTRACEBACK": "crash"})
    with tempfile.TemporaryDirectory(dir=ctx.core) as td:
        for i in range(1, 51):
            out = Path(td) / "out.txt"
            since = time.time()
            with open(out, "wb") as f:
                p = subprocess.Popen([str(binary)], stdout=f, stderr=subprocess.STDOUT, cwd=td,
                                     env=env, preexec_fn=_limits(True), start_new_session=True)
                try:
                    rc = p.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    kill_group(p)
                    p.wait(30)
                    continue
            text = out.read_text(errors="replace")
            kcore = find_core(Path(td), p.pid, since)
            wanted = "main.Handler" in text
            if case == "crash-noopt":
                wanted = handler_arg_of_crash(text) not in (None, 1000)
            if kcore and wanted:
                wait_core_written(kcore)
                dest = ctx.core / f"{case}.crash.core"
                os.replace(kcore, dest)
                txt = ctx.core / f"{case}.crash.txt"
                shutil.copyfile(out, txt)
                variant = "noopt" if binary_name.endswith(".noopt") else "default"
                meta = {"pid": p.pid, "binary": str(binary), "variant": variant,
                        "goversion": ctx.version, "method": "GOTRACEBACK=crash panic",
                        "exit_status": rc, "core": str(dest), "text": txt.name, "tries": i}
                log(f"{ctx.version}: {case} core: {dest.stat().st_size >> 20} MiB (try {i})")
                return [ctx.rel(dest), ctx.rel(txt), ctx.rel(write_meta(ctx, f"{case}.crash", meta))]
            if kcore:
                kcore.unlink()
    raise FactoryError(f"{case}: no core after 50 tries")


def cores(version, outdir, man, cases, goroutines, force=False):
    t0 = time.monotonic()
    ok, pat = crash_cores_available()
    if not ok:
        log(f"NOTE: kernel core_pattern is {pat!r} (a pipe to a helper, or empty): crash cores are "
            f"UNAVAILABLE on this machine; producing gcore snapshots only")
    failures = []
    for case in cases:
        program, binary_name = CORE_BINARY.get(case, (case, case))
        progs = [program] + (["loadgen"] if case == "metricsdeadlock" else [])
        spec = {"cores": case, "crash_ok": ok}
        if case in CORE_RECIPES:
            spec["recipe"] = CORE_RECIPES[case]
        if case == "parked":
            spec["n"] = goroutines or 10000
        # A core belongs to the binary that made it: a binary rebuilt since
        # (another recipe, --force) makes its cores stale, which `core`
        # would refuse. So the binary's bytes are part of the key.
        try:
            need_bins(version, outdir, man, progs, case if case in CASE_BINS else None)
            exe = outdir / "bin" / binary_name
            spec["binary"] = sha256_file(exe) if exe.exists() else None
        except Exception as e:
            if optional_for(version, "cores", case):
                log(f"{version}: cores {case} SKIPPED (optional for old releases): {e}")
            else:
                log(f"{version}: cores {case} FAILED: {e}")
                failures.append(f"{case}: {e}")
            continue
        inp = inputs_hash(version, progs, spec)
        group = f"cores:{case}"
        if not force and man.fresh(group, inp):
            log(f"{version}: cores {case}: up to date")
            continue
        optional = optional_for(version, "cores", case)
        if optional and not force and skipped_earlier(man, group, inp):
            log(f"{version}: cores {case}: skipped (optional for old releases; failed earlier: "
                f"{skipped_earlier(man, group, inp)[:200]})")
            continue
        try:
            ctx = Ctx(version, outdir, man, force, goroutines)
            ctx.core.mkdir(parents=True, exist_ok=True)
            t1 = time.monotonic()
            if program == "crash":
                if not ok:
                    log(f"{version}: cores {case}: skipped (crash cores unavailable, nothing to gcore)")
                    continue
                arts = crash_program_core(ctx, case, binary_name)
            else:
                arts = hung_case_cores(ctx, case, ok)
            dt = time.monotonic() - t1
            for a in arts:
                if a.endswith(".core"):
                    check_core_gdb(ctx.outdir / a, ctx.bin / binary_name, ctx)
            man.record(group, inp, arts, {"seconds": round(dt, 1), "crash_cores": ok,
                                          "core_pattern": pat, "notes": ctx.notes})
            man.timing(f"cores:{case}", dt)
            clear_skip(man, group)
            log(f"{version}: cores {case}: {len(arts)} artifacts ({dt:.1f}s)")
        except Exception as e:
            if optional:
                log(f"{version}: cores {case} SKIPPED (optional for old releases): {e}")
                record_skip(man, group, inp, str(e))
                continue
            log(f"{version}: cores {case} FAILED: {e}")
            failures.append(f"{case}: {e}")
    man.timing("cores", time.monotonic() - t0)
    return failures


def check_core_gdb(core: Path, binary: Path, ctx: Ctx):
    r = subprocess.run(["gdb", "-nx", "-batch", "-ex", "info threads", str(binary), str(core)],
                       capture_output=True, text=True, timeout=300)
    threads = len(re.findall(r"^\*?\s+\d+\s+(Thread|LWP|process)", r.stdout, re.M))
    if threads == 0:
        raise FactoryError(f"gdb shows no threads in {core.name}: {r.stdout[-500:]} {r.stderr[-500:]}")
    log(f"{ctx.version}: gdb: {core.name}: {threads} threads")


# ---------------------------------------------------------------------------
# Fixtures

EMBED_HOST = "host"
EMBED_SVC = "svc[1234]"


def _panic_block(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def write_embedded(src_text: str, src_name: str, dest: Path):
    dest.mkdir(parents=True, exist_ok=True)
    lines = _panic_block(src_text)
    base = _dt.datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=_dt.timezone.utc)

    def ts_nano(i):
        t = base + _dt.timedelta(microseconds=37 * i)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}{(i * 7) % 1000:03d}Z"

    written = []

    def w(name, content):
        (dest / name).write_bytes(content.encode())
        written.append(name)

    w("crash.journald.txt", "".join(f"Nov 21 10:00:00 {EMBED_HOST} {EMBED_SVC}: {l}\n" for l in lines))
    w("crash.journald-short-iso.txt",
      "".join(f"2026-11-21T10:00:00+00:00 {EMBED_HOST} {EMBED_SVC}: {l}\n" for l in lines))
    w("crash.docker-timestamps.txt", "".join(f"{ts_nano(i)} {l}\n" for i, l in enumerate(lines)))
    w("crash.docker-json.log", "".join(
        json.dumps({"log": l + "\n", "stream": "stderr", "time": ts_nano(i)}, ensure_ascii=False,
                   separators=(",", ":")) + "\n" for i, l in enumerate(lines)))
    # JSON-lines logger: ordinary lines, then one line with the whole trace in "stacktrace".
    pstart = next((i for i, l in enumerate(lines) if l.startswith("panic:")), 0)
    jl = []
    for i in range(5):
        jl.append(json.dumps({"level": "info", "ts": f"2026-11-21T09:59:5{i}.000Z", "caller": "svc/main.go:42",
                              "msg": "request served", "request_id": f"req-{4711 + i}"}))
    jl.append(json.dumps({"level": "fatal", "ts": "2026-11-21T10:00:00.123Z", "caller": "svc/recover.go:17",
                          "msg": lines[pstart] if lines else "panic",
                          "stacktrace": "\n".join(lines[pstart:])}))
    w("crash.jsonl.txt", "\n".join(jl) + "\n")
    w("crash.crlf.txt", "".join(l + "\r\n" for l in lines))
    # A service log of a few thousand ordinary lines with the crash buried in the middle.
    out = []
    levels = ["INFO", "INFO", "INFO", "WARN", "INFO", "ERROR", "INFO", "DEBUG"]
    msgs = ["handled request method=GET path=/api/orders/{id} status=200 dur={ms}ms",
            "cache miss key=user:{id}", "slow query table=orders id={id} dur={ms}ms",
            "upstream returned 503 for order {id}, retrying", "published event order.created id={id}",
            "failed to refresh token for client {id}: context deadline exceeded",
            "gc pause {ms}us", "connection pool stats open={ms} idle={id}"]
    t = _dt.datetime(2026, 11, 21, 9, 0, 0)
    for i in range(3000):
        if i == 1500:
            # The crashing process's own log.Printf lines get this log's clock.
            stamp = f"{t:%Y/%m/%d %H:%M:%S} "
            out.extend(re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", stamp, l) for l in lines)
            out.append(f"{t:%Y/%m/%d %H:%M:%S} INFO service restarted by supervisor (exit status 2)")
        k = (i * 7 + i // 13) % len(msgs)
        lv = levels[(i * 5) % len(levels)]
        msg = msgs[k].format(id=100000 + (i * 7919) % 90000, ms=(i * 37) % 900)
        out.append(f"{t:%Y/%m/%d %H:%M:%S} {lv} {msg}")
        t += _dt.timedelta(milliseconds=731)
    w("crash.service-log.txt", "\n".join(out) + "\n")
    return written


def fixtures(versions, force=False):
    textroot = FIXTURES / "text"
    textroot.mkdir(parents=True, exist_ok=True)
    summary = {}
    skipped = []
    for v in versions:
        outdir = out_root() / v
        src = outdir / "text"
        dest = textroot / v
        if not src.is_dir():
            log(f"{v}: no evidence in {src}; run evidence first")
            continue
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        n = 0
        recorded = Manifest(outdir, v).data["artifacts"]
        for f in sorted(src.glob("*.txt")):
            if f"text/{f.name}" not in recorded:
                # left behind by a failed (or, for old releases, skipped) case
                log(f"{v}: not copying {f.name}: not a recorded artifact")
                continue
            if f.stat().st_size >= FIXTURE_MAX:
                skipped.append(f"{v}/{f.name} ({f.stat().st_size} bytes)")
                continue
            shutil.copyfile(f, dest / f.name)
            n += 1
        summary[v] = n
        log(f"{v}: {n} fixtures copied")
    # Embedded variants from the first version's crash panic (installed by default).
    emb = []
    for v in versions:
        p = out_root() / v / "text" / "crash.panic.txt"
        if p.exists():
            emb = write_embedded(p.read_text(), f"{v}/crash.panic.txt", textroot / "embedded")
            emb_src = v
            break
    total = sum(f.stat().st_size for f in FIXTURES.rglob("*") if f.is_file())
    readme = [
        "# gosleuth fixtures",
        "",
        "Generated by the evidence factory; do not edit by hand. Regenerate with:",
        "",
        "```",
        "python3 factory/factory.py build",
        "python3 factory/factory.py evidence",
        "python3 factory/factory.py fixtures",
        "```",
        "",
        f"(versions: {' '.join(versions)}; the factory's cache dir is "
        "`${GOSLEUTH_FACTORY_DIR:-~/.cache/gosleuth/factory}`.)",
        "",
        "- `text/<goversion>/*.txt`: runtime output exactly as the Go runtime printed it",
        "  (stdout and stderr interleaved), copied from `<factory dir>/<goversion>/text/`.",
        "  Only files under 64 KiB are copied: the 12,000-goroutine metricsdeadlock dumps",
        "  and other large artifacts stay in the factory cache (the hang's compact",
        "  `metricsdeadlock.debug1.txt`, a few KiB, is included). See factory/README.md",
        "  for what each program and case does.",
        "- `.gitattributes` turns off end-of-line conversion for everything here.",
        "- The offline tests (`cargo test`) snapshot what `gosleuth` prints for every",
        "  file under `text/` (`crates/cli/tests/it/fixtures.rs`); after regenerating,",
        "  review and accept the snapshot changes as docs/testing.md says.",
    ]
    old = [v for v in versions if is_old(v)]
    if old:
        readme += [
            f"- {', '.join(old)} (`--go old`): the text cases (crash, racepanic, rpcrace,",
            "  mapwrites, variants, goleak, metricsdeadlock) always; leak, lockorder and",
            "  parked only where they succeeded (best effort for old releases, see",
            "  factory/README.md); go1.17 has no `variants.generic.txt` (no generics).",
        ]
    if emb:
        readme += [
            f"- `text/embedded/`: the real panic `{emb_src}/crash.panic.txt` wrapped as it",
            "  appears in logs: `crash.journald.txt` (journald default prefix),",
            "  `crash.journald-short-iso.txt` (`journalctl -o short-iso`),",
            "  `crash.docker-timestamps.txt` (`docker logs --timestamps`),",
            "  `crash.docker-json.log` (docker json-file driver lines),",
            "  `crash.jsonl.txt` (JSON-lines logger, whole trace in a `stacktrace` field),",
            "  `crash.crlf.txt` (CRLF line endings) and `crash.service-log.txt`",
            "  (3,000 ordinary service log lines with the panic in the middle).",
        ]
    readme += ["", f"Files per version: {json.dumps(summary, sort_keys=True)}.",
               f"Total size: {total // 1024} KiB.", ""]
    if skipped:
        readme += ["Not copied (64 KiB or larger):", ""] + [f"- {s}" for s in skipped] + [""]
    (FIXTURES / "README.md").write_text("\n".join(readme))
    # Keep runtime output byte for byte (no EOL normalisation of the CRLF fixture).
    (FIXTURES / ".gitattributes").write_text(
        "# Runtime output is kept byte for byte (CRLF fixtures must stay CRLF).\n* -text\n")
    log(f"fixtures: {total // 1024} KiB total under {FIXTURES}")
    return textroot


# ---------------------------------------------------------------------------
# CLI

def resolve_list(items) -> list:
    """Versions from --go values or comma-separated lists, groups expanded."""
    out = []
    for item in items:
        for v in str(item).split(","):
            v = v.strip()
            if not v:
                continue
            for v1 in VERSION_GROUPS.get(v, [v]):
                rv = resolve_version(v1)
                if rv not in out:
                    out.append(rv)
    return out


def prepare_plan(tests, layout, text):
    """(version, roles) in the order to make them: the releases every test
    runs on first (the most work), then the others."""
    # As in testkit, `all` for the tests and layout roles means the matrix
    # (the `default` group): old releases are for the text parsers.
    def matrix(vs):
        return [",".join(DEFAULT_VERSIONS) if v == "all" else v
                for item in vs for v in str(item).split(",")]
    tests = resolve_list(matrix(tests or TEST_VERSIONS))
    layout = resolve_list(matrix(layout or LAYOUT_VERSIONS))
    text = resolve_list(text or (OLD_VERSIONS + tests))
    plan = {v: ["tests"] for v in tests}
    for role, vs in (("layout", layout), ("text", text)):
        for v in vs:
            if "tests" not in plan.get(v, []):
                plan.setdefault(v, []).append(role)
    return list(plan.items())


def prepare_version(v, outdir, man, roles, force=False):
    """Makes what the tests read for release v in the given roles."""
    failures = []
    for role in roles:
        t0 = time.monotonic()
        try:
            if role == "tests":
                owner = all_binary_names()
                build(v, outdir, man, list(dict.fromkeys(owner[b] for b in TEST_BINARIES)), force,
                      only=set(TEST_BINARIES))
                failures += evidence(v, outdir, man, EVIDENCE_CASES, force)
                failures += cores(v, outdir, man, list(DEFAULT_CORE_CASES), None, force)
            elif role == "layout":
                build(v, outdir, man, ["parked"], force, only=set(LAYOUT_BINARIES))
            elif role == "text":
                failures += evidence(v, outdir, man, OLD_TEXT_CASES, force)
        except FactoryError as e:
            failures.append(str(e))
        dt = time.monotonic() - t0
        man.timing(f"prepare:{role}", dt)
        log(f"{v}: prepare {role} done in {dt:.1f}s")
    return failures


def prepare_all(plan, jobs, force=False):
    """Runs `prepare --role ...` for each planned release, `jobs` at a time
    (each a process of its own: a release's work is serial, and on two
    cores two releases overlap one's waits with the other's builds)."""
    failures = []
    pending = list(plan)
    running = []
    while pending or running:
        while pending and len(running) < max(1, jobs):
            v, roles = pending.pop(0)
            cmd = [sys.executable, str(Path(__file__).resolve()), "prepare", "--go", v,
                   "--role", ",".join(roles)] + (["--force"] if force else [])
            log(f"{v}: prepare {','.join(roles)}")
            running.append((v, subprocess.Popen(cmd, stdout=subprocess.DEVNULL)))
        time.sleep(0.2)
        for item in list(running):
            v, p = item
            if p.poll() is not None:
                running.remove(item)
                if p.returncode != 0:
                    failures.append(f"{v}: prepare failed (exit status {p.returncode}; see above)")
    return failures


def version_lock(outdir: Path, v: str):
    """Serialize factory runs on one version directory (other people may run it too)."""
    lockf = open(outdir / ".lock", "w")
    try:
        fcntl.flock(lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"{v}: another factory run holds {outdir}/.lock; waiting for it")
        fcntl.flock(lockf, fcntl.LOCK_EX)
    return lockf


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("prepare", help="make what scripts/test.sh's tests read")
    sp.add_argument("--tests", action="append", metavar="V[,V...]",
                    help=f"releases every test runs on (default: {','.join(TEST_VERSIONS)}, "
                         "like GOSLEUTH_GO_VERSIONS)")
    sp.add_argument("--layout", action="append", metavar="V[,V...]",
                    help="releases of the per-release layout tests (default: 'default', like "
                         "GOSLEUTH_LAYOUT_GO_VERSIONS)")
    sp.add_argument("--text", action="append", metavar="V[,V...]",
                    help="releases of the text parser tests (default: 'old' + the --tests ones, "
                         "like GOSLEUTH_TEXT_GO_VERSIONS)")
    sp.add_argument("--jobs", type=int, default=2, help="releases made at once (default 2)")
    sp.add_argument("--go", action="append", dest="versions", metavar="V", help=argparse.SUPPRESS)
    sp.add_argument("--role", help=argparse.SUPPRESS)
    sp.add_argument("--force", action="store_true", help="ignore the cache")
    for name in ("build", "evidence", "cores", "fixtures"):
        sp = sub.add_parser(name)
        sp.add_argument("--go", action="append", dest="versions", metavar="V",
                        help="go1.x.y, 'installed', or a group: 'default' (installed + 5 releases), "
                             "'old' (go1.17-go1.20; only the text cases must succeed), 'all' (old + default). "
                             "Repeatable. Default: 'default'; for fixtures 'default' then 'old'")
        sp.add_argument("--force", action="store_true", help="ignore the cache")
        if name == "build":
            sp.add_argument("--program", action="append", dest="programs", choices=PROGRAMS,
                            help="every binary of the program (default: every program)")
            sp.add_argument("--binary", action="append", dest="binaries", metavar="NAME",
                            choices=list(all_binary_names()),
                            help="just this binary, e.g. parked.noopt (repeatable; with "
                                 "--program, added to its binaries)")
        if name == "evidence":
            sp.add_argument("--case", action="append", dest="cases",
                            choices=EVIDENCE_CASES + ON_DEMAND_CASES)
        if name == "cores":
            sp.add_argument("--case", action="append", dest="cases", choices=CORE_CASES)
            sp.add_argument("--goroutines", type=int, default=None,
                            help="goroutines for the parked case (default 10000)")
    a = ap.parse_args(argv)

    if a.cmd == "prepare" and not a.role:
        t0 = time.monotonic()
        plan = prepare_plan(a.tests, a.layout, a.text)
        failures = prepare_all(plan, a.jobs, a.force)
        log(f"prepare: {len(plan)} releases in {time.monotonic() - t0:.1f}s")
        if failures:
            log("FAILURES:")
            for f in failures:
                log("  " + f)
        for v, _ in plan:
            print(out_root() / v, flush=True)
        return 1 if failures else 0

    versions = []
    wanted = a.versions or (FIXTURE_VERSIONS if a.cmd == "fixtures" else DEFAULT_VERSIONS)
    for v in wanted:
        for v1 in VERSION_GROUPS.get(v, [v]):
            rv = resolve_version(v1)
            if rv not in versions:
                versions.append(rv)

    failures = []
    dirs = []
    if a.cmd == "fixtures":
        for v in versions:
            outdir = out_root() / v
            outdir.mkdir(parents=True, exist_ok=True)
            lockf = version_lock(outdir, v)
            try:
                man = Manifest(outdir, v)
                failures += [f"{v}: {f}" for f in evidence(v, outdir, man, EVIDENCE_CASES, False)]
            finally:
                lockf.close()
        dirs.append(fixtures(versions, a.force))
    else:
        for v in versions:
            outdir = out_root() / v
            outdir.mkdir(parents=True, exist_ok=True)
            lockf = version_lock(outdir, v)
            man = Manifest(outdir, v)
            t0 = time.monotonic()
            try:
                if a.cmd == "prepare":
                    roles = [r for r in a.role.split(",") if r]
                    bad = [r for r in roles if r not in PREPARE_ROLES]
                    if bad:
                        raise FactoryError(f"unknown role {bad[0]!r} (want one of {PREPARE_ROLES})")
                    failures += [f"{v}: {f}" for f in prepare_version(v, outdir, man, roles, a.force)]
                elif a.cmd == "build":
                    if a.binaries:
                        owner = all_binary_names()
                        progs = list(dict.fromkeys([owner[b] for b in a.binaries] + (a.programs or [])))
                        only = set(a.binaries)
                        for p in a.programs or []:
                            only.update(name for name, _, _ in binary_names(p))
                        build(v, outdir, man, progs, a.force, only=only)
                    else:
                        build(v, outdir, man, a.programs or PROGRAMS, a.force)
                elif a.cmd == "evidence":
                    failures += [f"{v}: {f}" for f in evidence(v, outdir, man, a.cases or EVIDENCE_CASES, a.force)]
                elif a.cmd == "cores":
                    cases = a.cases or list(DEFAULT_CORE_CASES)
                    if a.goroutines and not a.cases:
                        cases.append("parked")
                    failures += [f"{v}: {f}" for f in cores(v, outdir, man, cases, a.goroutines, a.force)]
            except FactoryError as e:
                failures.append(f"{v}: {e}")
                log(f"{v}: ERROR {e}")
            finally:
                lockf.close()  # releases the lock
            log(f"{v}: {a.cmd} done in {time.monotonic() - t0:.1f}s")
            dirs.append(outdir)
    if failures:
        log("FAILURES:")
        for f in failures:
            log("  " + f)
    for d in dirs:
        print(d, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
