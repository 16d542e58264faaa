#!/usr/bin/env python3
"""Sum test results over every test executable of a meson run.

Reads meson's testlog.json, or several (one per run: plain, ASan,
valgrind, fuzzing) given as arguments, summed. A cmocka executable counts its test cases
("[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)"); a script that prints
"N passed, N failed[, N skipped]" counts those; any other executable counts
as one test by its meson result. An executable that meson saw fail but
that reported no failing case (it crashed, or timed out) adds one failure.
A testlog that does not exist (its run could not build) adds one failure.
Prints "N passed, N failed[, N skipped]" and exits 1 if anything failed.
"""
import json
import re
import sys

CMOCKA_PASSED = re.compile(r"^\[  PASSED  \] (\d+) test", re.M)
CMOCKA_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test", re.M)
CMOCKA_SKIPPED = re.compile(r"^\[  SKIPPED \] (\d+) test", re.M)
PLAIN = re.compile(r"^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$", re.M)


def counts_of(entry):
    out = (entry.get("stdout") or "") + (entry.get("stderr") or "")
    result = entry.get("result", "")
    passed = failed = skipped = 0
    found = False
    for regex, kind in ((CMOCKA_PASSED, 0), (CMOCKA_FAILED, 1), (CMOCKA_SKIPPED, 2)):
        for m in regex.finditer(out):
            found = True
            n = int(m.group(1))
            if kind == 0:
                passed += n
            elif kind == 1:
                failed += n
            else:
                skipped += n
    if not found:
        for m in PLAIN.finditer(out):
            found = True
            passed += int(m.group(1))
            failed += int(m.group(2))
            skipped += int(m.group(3) or 0)
    if not found:
        if result == "SKIP":
            return 0, 0, 1
        return (1, 0, 0) if result in ("OK", "EXPECTEDFAIL") else (0, 1, 0)
    if result not in ("OK", "EXPECTEDFAIL", "SKIP") and failed == 0:
        failed += 1
    return passed, failed, skipped


def main():
    paths = sys.argv[1:] or ["build/meson-logs/testlog.json"]
    totals = [0, 0, 0]
    for path in paths:
        try:
            with open(path) as f:
                for line in f:
                    if line.strip():
                        for i, n in enumerate(counts_of(json.loads(line))):
                            totals[i] += n
        except FileNotFoundError:
            print(f"test-summary: {path} not found", file=sys.stderr)
            totals[1] += 1
    line = f"{totals[0]} passed, {totals[1]} failed"
    if totals[2]:
        line += f", {totals[2]} skipped"
    print(line)
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
