#!/usr/bin/env python3
"""Paced logouts against the example app: RATE times a second for DURATION seconds, each a
`POST /login` (a fresh user, which waits for nothing) then a `POST /logout` with its cookie (which
waits for Redis's acknowledgement). Prints one JSON line: how many logouts, their statuses, and
their latency percentiles (ms). Each logout runs on a thread of its own, so a slow one never
delays the pace.

    logout_pacer.py BASE_URL RATE DURATION"""

import http.client
import json
import sys
import threading
import time
import urllib.parse

BASE, RATE, DURATION = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
HOST = urllib.parse.urlparse(BASE)
results = []
lock = threading.Lock()


def one(n):
    conn = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=10)
    try:
        conn.request("POST", "/login", body=f"user=pacer-{n}",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        res = conn.getresponse()
        res.read()
        cookie = "; ".join(v.split(";", 1)[0] for k, v in res.getheaders()
                           if k.lower() == "set-cookie")
        started = time.monotonic()
        conn.request("POST", "/logout", headers={"Cookie": cookie})
        res = conn.getresponse()
        res.read()
        status = res.status
    except (OSError, http.client.HTTPException):
        status, started = 0, time.monotonic()
    finally:
        conn.close()
    with lock:
        results.append((status, (time.monotonic() - started) * 1000))


threads = []
start = time.monotonic()
n = 0
while (due := start + n / RATE) < start + DURATION:
    time.sleep(max(0.0, due - time.monotonic()))
    t = threading.Thread(target=one, args=(n,))
    t.start()
    threads.append(t)
    n += 1
for t in threads:
    t.join()
latencies = sorted(ms for _, ms in results)


def pct(p):
    return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 1) if latencies else None


statuses = {}
for status, _ in results:
    statuses[str(status)] = statuses.get(str(status), 0) + 1
print(json.dumps({"logouts": len(results), "statuses": statuses,
                  "p50_ms": pct(0.50), "p99_ms": pct(0.99)}))
