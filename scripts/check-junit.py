#!/usr/bin/env python3
"""Checks JUnit XML (a file, or - for stdin) the way CI systems will read
it: validates it against docs/junit.xsd (xmlschema), then reads it with
junitparser, a JUnit reader other tools use, and prints what that reader
sees as JSON: the totals and, per suite, its counts and its cases'
outcomes ({"suites": {name: [{"tests": n, ..., "cases": {case: outcome}}]}}).
The counts the XML declares must match the cases the reader finds.
Exits 1 with the reason when the XML is invalid or inconsistent.

Needs xmlschema and junitparser (scripts/test.sh installs them in a venv)."""
import io
import json
import sys
from pathlib import Path

import junitparser
import xmlschema


def fail(why: str):
    print(f"invalid JUnit XML: {why}", file=sys.stderr)
    sys.exit(1)


schema = xmlschema.XMLSchema(str(Path(__file__).resolve().parent.parent / "docs" / "junit.xsd"))
data = sys.stdin.read() if sys.argv[1] == "-" else Path(sys.argv[1]).read_text()
try:
    schema.validate(data)
except xmlschema.XMLSchemaValidationError as e:
    fail(f"{e.reason} at {e.path}")

xml = junitparser.JUnitXml.fromfile(io.BytesIO(data.encode()))
kinds = {junitparser.Failure: "failure", junitparser.Error: "error",
         junitparser.Skipped: "skipped"}
out = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "suites": {}}
for suite in xml:
    cases = {}
    counted = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for case in suite:
        results = [kinds.get(type(r), "other") for r in case.result]
        kind = results[0] if results else "pass"
        cases[case.name] = kind
        counted["tests"] += 1
        if kind in ("failure", "error", "skipped"):
            counted[{"failure": "failures", "error": "errors", "skipped": "skipped"}[kind]] += 1
    declared = {"tests": suite.tests, "failures": suite.failures, "errors": suite.errors,
                "skipped": suite.skipped}
    if declared != counted:
        fail(f"suite {suite.name}: declares {declared}, holds {counted}")
    for k in counted:
        out[k] += counted[k]
    out["suites"].setdefault(suite.name, []).append(dict(counted, cases=cases))
root = {k: getattr(xml, k) or 0 for k in ("tests", "failures", "errors", "skipped")}
if root != {k: out[k] for k in root}:
    fail(f"<testsuites> declares {root}, its suites hold {out}")
print(json.dumps(out, sort_keys=True))
