#!/usr/bin/env python3
"""logstat.py - what nginx saw of one tool, for bench/probe.sh.

  logstat.py LOG T1_MS T2_MS INTERVAL_S [GAPS_OUT]

LOG is the tool's access log, lines "$msec $uri $status
$connection_requests" (probe.sh's log_format). Only requests logged in
[T1, T2) count. Prints one line:

  done non200 new_conns targets gaps dev_p50_ms dev_p99_ms dev_max_ms

done: requests of /t/ in the window; non200: those answered otherwise;
new_conns: those that were the first on their connection; targets: how
many distinct targets were asked; gaps: the intervals between successive
requests of one target (both in the window); dev: |gap - INTERVAL| over
all targets and gaps, nearest-rank percentiles ("-" when there is none).
GAPS_OUT, when given, gets every gap in ms, one a line ("URI GAP").
"""
import sys


def pctl(v, p):
    if not v:
        return "-"
    k = -(-len(v) * p // 100)  # ceil
    return "%d" % v[max(int(k), 1) - 1]


def main(a):
    if len(a) not in (5, 6):
        sys.stderr.write(__doc__)
        return 2
    t1, t2, iv = float(a[2]), float(a[3]), float(a[4]) * 1000.0
    seen = {}
    done = non200 = newc = 0
    with open(a[1]) as f:
        for line in f:
            p = line.split()
            if len(p) < 4 or not p[1].startswith("/t/"):
                continue
            ms = round(float(p[0]) * 1000.0)
            if ms < t1 or ms >= t2:
                continue
            done += 1
            if p[2] != "200":
                non200 += 1
            if p[3] == "1":
                newc += 1
            seen.setdefault(p[1], []).append(ms)
    dev = []
    out = open(a[5], "w") if len(a) == 6 else None
    for uri, ts in seen.items():
        ts.sort()
        for x, y in zip(ts, ts[1:]):
            dev.append(abs(y - x - iv))
            if out:
                out.write("%s %d\n" % (uri, y - x))
    if out:
        out.close()
    dev.sort()
    print(done, non200, newc, len(seen), len(dev), pctl(dev, 50), pctl(dev, 99),
          "%d" % dev[-1] if dev else "-")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
