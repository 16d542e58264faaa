# SPDX-License-Identifier: MIT
"""The "proxy" section of `make bench` (docs/performance.md, "Proxy").

`vfiokit proxy` needs a device bound to the kernel's vfio-pci, which this
machine does not have: scripts/peers/bench-proxy.sh boots the peers guest
(host QEMU, TCG, two edu devices) and runs bench/bench_proxy_kernel.c in it. Its
JSON lines become the section: printed as a table, and added to
results.json under "proxy". When the guest cannot run (not root, no QEMU,
...), the section says "skipped" and why; when the run fails, "failed".
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, '..', 'scripts', 'peers', 'bench-proxy.sh')
SKIP = 77
# Operations per figure and side, alternating rounds; quick mode for a look.
FULL = ('4000', '8')
QUICK = ('500', '2')


def run_guest(quick):
    """Run the guest; return the section: status, reason, runs."""
    n, rounds = QUICK if quick else FULL
    print(f'bench: {SCRIPT} -n {n} -r {rounds} (kernel VFIO in a TCG guest)',
          file=sys.stderr, flush=True)
    try:
        proc = subprocess.run([SCRIPT, '-n', n, '-r', rounds], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {'status': 'failed', 'reason': str(e), 'runs': []}
    if proc.returncode == SKIP:
        reason = proc.stdout.strip().removeprefix('SKIP: ') or 'cannot run here'
        return {'status': 'skipped', 'reason': reason, 'runs': []}
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {'status': 'failed', 'reason': ' / '.join(tail), 'runs': []}
    return {'status': 'ok', 'reason': '', 'runs': parse(proc.stdout)}


def parse(text):
    """bench_proxy_kernel's lines: a header ("bench") opens a run, figures follow."""
    runs = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith('{'):
            continue
        obj = json.loads(line)
        if 'bench' in obj:
            runs.append({'header': obj, 'figures': []})
        elif runs:
            runs[-1]['figures'].append(obj)
    return runs


def fmt(v):
    if v is None:
        return '-'
    return f'{v:.4f}' if v < 1 else f'{v:.2f}'


def print_section(section):
    print('\n== proxy: `vfiokit proxy` against the device opened directly '
          '(kernel VFIO, edu, TCG guest: compare ratios, not times)')
    if section['status'] != 'ok':
        print(f'{section["status"]}: {section["reason"]}')
        return
    for run in section['runs']:
        h = run['header']
        print(f'-- {h["mode"]}: {h["target"]} ({h["device"]})')
        hdr = f'{"figure":28} {"direct us":>10} {"proxy us":>10} {"ratio":>8}  target'
        print(hdr)
        print('-' * len(hdr))
        for f in run['figures']:
            if 'direct_median' in f:
                target = f'{f["target"]} {f["verdict"]} ({f["speed_ratio"]:.3f})' \
                    if 'target' in f else ''
                print(f'{f["figure"]:28} {fmt(f["direct_median"]):>10} '
                      f'{fmt(f["proxy_median"]):>10} {f["ratio"]:>8.3f}  {target}')
            else:
                print(f'{f["figure"]:28} {fmt(f["median"]):>10} {"":>10} {"":>8}')


def report(results_dir, quick):
    """Run, print the section and add it to results_dir/results.json."""
    section = run_guest(quick)
    print_section(section)
    path = os.path.join(results_dir, 'results.json')
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = {}
    data['proxy'] = section
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)
    return section
