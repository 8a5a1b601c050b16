#!/usr/bin/env python3
"""Validates JUnit XML (a file, or - for stdin) against docs/junit.xsd with
xmlschema and prints what a JUnit consumer reads from it as JSON: the
totals of <testsuites> and, per suite, its counts and its cases' outcomes
({"suites": {name: {"tests": n, ..., "cases": {case: outcome}}}}).
Exits 1 with the validation error when the XML is invalid.

Needs the xmlschema package (scripts/test.sh installs it in a venv)."""
import json
import sys
from pathlib import Path
import xml.etree.ElementTree as ET

import xmlschema

schema = xmlschema.XMLSchema(str(Path(__file__).resolve().parent.parent / "docs" / "junit.xsd"))
data = sys.stdin.read() if sys.argv[1] == "-" else Path(sys.argv[1]).read_text()
try:
    schema.validate(data)
except xmlschema.XMLSchemaValidationError as e:
    print(f"invalid JUnit XML: {e.reason} at {e.path}", file=sys.stderr)
    sys.exit(1)
root = ET.fromstring(data)
out = {k: int(root.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
out["suites"] = {}
for s in root.iter("testsuite"):
    cases = {}
    for c in s.iter("testcase"):
        kind = next((k for k in ("failure", "error", "skipped") if c.find(k) is not None), "pass")
        cases[c.get("name")] = kind
    suite = {k: int(s.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    suite["cases"] = cases
    out["suites"].setdefault(s.get("name"), []).append(suite)
print(json.dumps(out, sort_keys=True))
