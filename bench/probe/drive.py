#!/usr/bin/env python3
"""drive.py - the schedulers of bench/probe.sh for the two peers. Their own
CPU is never counted: only the exporter's (from /proc, by probe.sh) and the
curl processes' (from wait4's rusage, here).

  drive.py blackbox EXPORTER TARGET_BASE N INTERVAL_S T0_MS END_MS OUT
      Like Prometheus scraping 1,000 blackbox targets: target i (of N,
      TARGET_BASE%04d) is asked of the exporter at T0 + i*INTERVAL/N +
      k*INTERVAL, k = 0, 1, ..., while that is before END_MS, as
      GET /probe?module=http_2xx&target=URL on a pool of keep-alive
      connections (Prometheus keeps its scrape connections open too). One
      line per request in OUT: "sched_ms sent_ms done_ms i ok", ok 1 when
      the exporter said probe_success 1, 0 when it said 0, -1 when the
      request itself failed or took over 10 s.

  drive.py curl URL_GLOB PARALLEL INTERVAL_S T0_MS END_MS OUT
      Every INTERVAL from T0 (absolute ticks, so a slow run does not push
      the next one) while before END_MS: one `curl --parallel
      --parallel-max PARALLEL -s --no-progress-meter -o /dev/null -w '%{http_code}\\n' --max-time
      5 URL_GLOB`. One line per run in OUT: "start_ms end_ms utime_s stime_s
      maxrss_kib ok failed", utime/stime/maxrss from the child's rusage.

Both write their own CPU seconds (user + system, not the children's) to
OUT.cpu when they end, so the report can say what the drivers cost.

Times are milliseconds since the epoch (T0_MS and END_MS come from
probe.sh, so that its windows and these schedules agree).
"""
import asyncio
import os
import resource
import subprocess
import sys
import time
import urllib.parse


def now_ms():
    return time.time() * 1000.0


def sleep_until(ms):
    while True:
        d = ms - now_ms()
        if d <= 0:
            return
        time.sleep(d / 1000.0)


# --- blackbox_exporter --------------------------------------------------------
POOL_MAX = 64
REQ_TIMEOUT_S = 10


class Pool:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.idle = []
        self.sem = asyncio.Semaphore(POOL_MAX)

    async def get(self):
        await self.sem.acquire()
        if self.idle:
            return self.idle.pop()
        try:
            return await asyncio.open_connection(self.host, self.port)
        except Exception:
            self.sem.release()
            raise

    def put(self, conn, reuse):
        if reuse:
            self.idle.append(conn)
        else:
            conn[1].close()
        self.sem.release()


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdr = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdr[k.strip().lower()] = v.strip().lower()
    if "content-length" in hdr:
        body = await reader.readexactly(int(hdr["content-length"]))
    elif hdr.get("transfer-encoding") == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.read()
        hdr["connection"] = "close"
    return status, hdr.get("connection") != "close", body


async def one_probe(pool, hostport, i, url, sched, out):
    sent = now_ms()
    ok = -1
    conn = None
    reuse = False
    try:
        conn = await asyncio.wait_for(pool.get(), REQ_TIMEOUT_S)
        q = urllib.parse.urlencode({"module": "http_2xx", "target": url})
        req = ("GET /probe?%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sov-bench-probe-driver\r\n"
               "X-Prometheus-Scrape-Timeout-Seconds: 5\r\n\r\n" % (q, hostport))
        conn[1].write(req.encode())
        status, reuse, body = await asyncio.wait_for(read_response(conn[0]), REQ_TIMEOUT_S)
        if status == 200:
            if b"\nprobe_success 1" in body:
                ok = 1
            elif b"\nprobe_success 0" in body:
                ok = 0
    except Exception:
        reuse = False
    if conn is not None:
        pool.put(conn, reuse)
    out.append("%.0f %.0f %.0f %d %d\n" % (sched, sent, now_ms(), i, ok))


async def blackbox(exporter, base, n, interval, t0, end, path):
    host, port = exporter.rsplit(":", 1)
    pool = Pool(host, int(port))
    out = []
    tasks = set()
    urls = [base % (i + 1) for i in range(n)]
    step = interval * 1000.0 / n
    k = 0
    with open(path, "w") as f:
        while True:
            tick = t0 + k * interval * 1000.0
            if tick >= end:
                break
            for i in range(n):
                sched = tick + i * step
                if sched >= end:
                    break
                d = sched - now_ms()
                if d > 0:
                    await asyncio.sleep(d / 1000.0)
                t = asyncio.ensure_future(one_probe(pool, exporter, i, urls[i], sched, out))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
            k += 1
            f.writelines(out)
            out.clear()
        if tasks:
            await asyncio.wait(list(tasks))
        f.writelines(out)


# --- the curl loop ---------------------------------------------------------------
def curl_loop(glob, parallel, interval, t0, end, path):
    # -s alone leaves curl 7.88's parallel progress meter on
    argv = ["curl", "--parallel", "--parallel-max", str(parallel), "-s", "--no-progress-meter",
            "-o", "/dev/null", "-w", "%{http_code}\\n", "--max-time", "5", glob]
    k = 0
    with open(path, "w") as f:
        while True:
            tick = t0 + k * interval * 1000.0
            if tick >= end:
                break
            sleep_until(tick)
            start = now_ms()
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            codes = p.stdout.read().split()
            p.stdout.close()
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = status  # reaped here, not by Popen
            ok = sum(1 for c in codes if c == b"200")
            f.write("%.0f %.0f %.6f %.6f %d %d %d\n" % (start, now_ms(), ru.ru_utime, ru.ru_stime,
                                                       ru.ru_maxrss, ok, len(codes) - ok))
            f.flush()
            k += 1


def main(a):
    if len(a) == 9 and a[1] == "blackbox":
        asyncio.run(blackbox(a[2], a[3], int(a[4]), float(a[5]), float(a[6]), float(a[7]), a[8]))
    elif len(a) == 8 and a[1] == "curl":
        curl_loop(a[2], int(a[3]), float(a[4]), float(a[5]), float(a[6]), a[7])
    else:
        sys.stderr.write("usage: see the header of bench/probe/drive.py\n")
        return 2
    ru = resource.getrusage(resource.RUSAGE_SELF)
    with open(a[-1] + ".cpu", "w") as f:
        f.write("%.2f\n" % (ru.ru_utime + ru.ru_stime))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
