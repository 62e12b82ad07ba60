#!/usr/bin/env python3
"""Logout on one instance, then replay a copy of the cookie on another: how long does the copy work?

Usage: replay.py LOGOUT_PORT REPLAY_PORT [TRIALS] [WINDOW_SECONDS]

Each trial, over keep-alive connections to two bench-servers on 127.0.0.1 (benches/http/src/main.rs):
  1. POST /seed on LOGOUT_PORT: a new session; keep a copy of its cookie.
  2. GET /read on REPLAY_PORT with the copy: must answer `user` (the instances share the session).
  3. POST /logout on LOGOUT_PORT with the cookie; t0 = when its response has arrived.
  4. GET /read on REPLAY_PORT with the copy, back to back, until it answers `anonymous` (refused) or
     WINDOW_SECONDS have passed since t0.
Prints one JSON object: trials, how many were refused within the window, and over the trials the
median and max of the time from t0 to the send of the first refused replay, and of the number of
replays still accepted after t0. Standard library only; used by benches/http/compare.sh.
"""

import http.client
import json
import statistics
import sys
import time


def request(conn, method, path, cookie=None):
    headers = {"Cookie": cookie} if cookie else {}
    conn.request(method, path, headers=headers)
    resp = conn.getresponse()
    body = resp.read().decode()
    set_cookie = resp.getheader("set-cookie")
    return resp.status, body, set_cookie.split(";", 1)[0] if set_cookie else None


def main():
    logout_port, replay_port = int(sys.argv[1]), int(sys.argv[2])
    trials = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    window = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    a = http.client.HTTPConnection("127.0.0.1", logout_port, timeout=10)
    b = http.client.HTTPConnection("127.0.0.1", replay_port, timeout=10)
    refused_ms, accepted_after = [], []
    for _ in range(trials):
        status, _, cookie = request(a, "POST", "/seed")
        if status != 200 or not cookie:
            sys.exit(f"seed on :{logout_port} answered {status} without a cookie")
        status, body, _ = request(b, "GET", "/read", cookie)
        if (status, body) != (200, "user"):
            sys.exit(f"the copy is not accepted on :{replay_port} before logout: {status} {body}")
        status, _, _ = request(a, "POST", "/logout", cookie)
        if status != 200:
            sys.exit(f"logout on :{logout_port} answered {status}")
        t0 = time.perf_counter()
        accepted = 0
        while True:
            sent = time.perf_counter()
            if sent - t0 > window:
                break
            status, body, _ = request(b, "GET", "/read", cookie)
            if status != 200:
                sys.exit(f"replay on :{replay_port} answered {status}")
            if body == "anonymous":
                refused_ms.append((sent - t0) * 1e3)
                break
            accepted += 1
        accepted_after.append(accepted)
    out = {
        "trials": trials,
        "window_s": window,
        "refused_within_window": len(refused_ms),
        "first_refused_ms_median": round(statistics.median(refused_ms), 3) if refused_ms else None,
        "first_refused_ms_max": round(max(refused_ms), 3) if refused_ms else None,
        "accepted_after_logout_median": statistics.median(accepted_after),
        "accepted_after_logout_max": max(accepted_after),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
