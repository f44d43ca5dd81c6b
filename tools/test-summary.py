#!/usr/bin/env python3
"""Sum meson's testlog.json files into the one line CI reads: `N passed, M failed`.

A test passes when meson says OK or EXPECTEDFAIL. Everything else (FAIL, ERROR,
TIMEOUT, SKIP) counts as failed: a skip would hide a missing feature.
"""
import json
import sys

passed = failed = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"test-summary: {path}: missing — the test run did not start", file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        if t.get("result") in ("OK", "EXPECTEDFAIL"):
            passed += 1
        else:
            failed += 1
            print(f"FAILED: {path}: {t.get('name')} ({t.get('result')})", file=sys.stderr)
print(f"{passed} passed, {failed} failed")
