#!/usr/bin/env python3
"""Load client for the login example (`examples/login.rs`), Python 3 stdlib only.

Driven by scripts/measure-revocation-growth.sh and scripts/measure-crafted-header.sh, which
start the server and stop it. Every connection is a keep-alive `http.client` connection to
127.0.0.1; every answer is checked (status 200), and a connection the server closed is reopened
and counted.

  session_load.py growth  --port P --pid PID --workload login|anonymous [--users U] --warmup W --count N
  session_load.py crafted --port P --pid PID --requests R --rounds K [--values V]
  session_load.py probe   --port P                       # requests per second the client reaches
"""

import argparse
import http.client
import json
import os
import statistics
import sys
import time

COOKIE_NAME = os.environ.get("COOKIE_NAME", "id")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# actix-http 3.x refuses a request head (request line + headers) of 131,072 bytes or more with
# 431 (h1/decoder.rs `MAX_BUFFER_SIZE`); leave room for the request line and other headers.
HEAD_LIMIT = 131_072
HEAD_MARGIN = 1_024


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = None
        self.reconnects = -1
        self.requests = 0

    def _connect(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        self.reconnects += 1

    def request(self, method, path, body=None, headers=None, expect=200):
        """Sends one request; returns (status, session cookie value or None if absent, body)."""
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        self.requests += 1
        if resp.getheader("Connection", "").lower() == "close" or resp.will_close:
            self.conn.close()
            self.conn = None
        if expect is not None and resp.status != expect:
            sys.exit(f"{method} {path}: status {resp.status} (expected {expect}): {data[:200]!r}")
        cookie = None
        for value in resp.headers.get_all("Set-Cookie") or []:
            pair = value.split(";", 1)[0]
            name, _, val = pair.partition("=")
            if name.strip() == COOKIE_NAME:
                cookie = val.strip()
        return resp.status, cookie, data


def rss_bytes(pid):
    """Resident set size: smaps_rollup's Rss (falls back to status VmRSS), in bytes."""
    for path, key in ((f"/proc/{pid}/smaps_rollup", "Rss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except OSError:
            continue
    sys.exit(f"cannot read the RSS of pid {pid}")


def cpu_ticks(pid):
    """utime + stime of the whole process (all threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")" closing comm, field 3 (state) is index 0, so utime (14) and stime (15)
    # are at 11 and 12.
    return int(fields[11]) + int(fields[12])


# --- growth ---------------------------------------------------------------------------------


class LoginWorkload:
    """POST /login for users cycling over `users`, each carrying its own previous cookie, so each
    login revokes that user's previous signed-in session."""

    requests_per_op = 1

    def __init__(self, client, users):
        self.client = client
        self.users = [f"user{n:04d}" for n in range(users)]
        self.cookies = [None] * users
        self.next = 0
        self.refused_checks = 0
        self.checks = 0

    def op(self):
        i = self.next
        self.next = (i + 1) % len(self.users)
        headers = dict(FORM)
        if self.cookies[i]:
            headers["Cookie"] = f"{COOKIE_NAME}={self.cookies[i]}"
        _, cookie, _ = self.client.request("POST", "/login", f"user={self.users[i]}", headers)
        if not cookie:
            sys.exit("POST /login set no session cookie")
        self.cookies[i] = cookie

    def check(self):
        """Outside the measured phases: is every user's latest cookie still signed in?"""
        for i, cookie in enumerate(self.cookies):
            if cookie is None:
                continue
            _, _, body = self.client.request(
                "GET", "/whoami", headers={"Cookie": f"{COOKIE_NAME}={cookie}"})
            self.checks += 1
            if json.loads(body).get("user") != self.users[i]:
                self.refused_checks += 1


class AnonymousWorkload:
    """POST /counter without a cookie (a fresh anonymous session), then POST /logout with it."""

    requests_per_op = 2

    def __init__(self, client):
        self.client = client
        self.checks = self.refused_checks = 0

    def op(self):
        _, cookie, _ = self.client.request("POST", "/counter")
        if not cookie:
            sys.exit("POST /counter set no session cookie")
        self.client.request("POST", "/logout", headers={"Cookie": f"{COOKIE_NAME}={cookie}"})

    def check(self):
        pass


def run_ops(workload, requests):
    ops = max(1, requests // workload.requests_per_op)
    start = time.perf_counter()
    for _ in range(ops):
        workload.op()
    return ops * workload.requests_per_op, time.perf_counter() - start


def growth(args):
    client = Client(args.port)
    if args.workload == "login":
        workload = LoginWorkload(client, args.users)
        name = ("login renewing the previous cookie, 1 user" if args.users == 1 else
                f"login renewing the previous cookie, {args.users:,} users")
    else:
        workload = AnonymousWorkload(client)
        name = "anonymous sessions created and purged"
    rss_start = rss_bytes(args.pid)
    warm_reqs, warm_s = run_ops(workload, args.warmup)
    workload.check()
    rss_before = rss_bytes(args.pid)
    reqs, secs = run_ops(workload, args.count)
    rss_after = rss_bytes(args.pid)
    workload.check()
    per_req = (rss_after - rss_before) / reqs
    row = {
        "workload": name, "warmup": warm_reqs, "requests": reqs, "seconds": secs,
        "warmup_seconds": warm_s, "req_per_s": reqs / secs, "rss_start": rss_start,
        "rss_before": rss_before, "rss_after": rss_after, "bytes_per_request": per_req,
        "checks": workload.checks, "refused_checks": workload.refused_checks,
        "reconnects": client.reconnects,
    }
    print(json.dumps(row))


# --- crafted headers ------------------------------------------------------------------------


def forged_values(real, count):
    """`count` distinct forgeries of `real`: the 4 characters before its last 2 (bytes of the tag,
    which ends the cookie) replaced; the last 2 characters are kept so the base64url stays
    canonical and decodes to the same length. Each one passes the format checks, reaches the
    AEAD tag check and fails it."""
    out, seen = [], {real}
    n = 1
    while len(out) < count:
        digits, k = [], n
        for _ in range(4):
            digits.append(B64URL[k % 64])
            k //= 64
        value = real[:-6] + "".join(digits) + real[-2:]
        n += 1
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


def crafted_header(name, values):
    return "; ".join(f"{name}={v}" for v in values)


def crafted(args):
    client = Client(args.port)
    hz = os.sysconf("SC_CLK_TCK")
    _, real, _ = client.request("POST", "/counter")
    if not real:
        sys.exit("POST /counter set no session cookie")
    pair = len(f"{COOKIE_NAME}={real}; ")
    fit = (HEAD_LIMIT - HEAD_MARGIN - len("Cookie: \r\n")) // pair
    values = min(args.values, fit)
    forged = forged_values(real, values)
    header_forged = crafted_header(COOKIE_NAME, forged)
    # The same size under another name: the same values, each cut by the difference in name
    # length so every pair keeps its length, then padded or cut to exactly the same size.
    other = "other"
    cut = max(0, len(other) - len(COOKIE_NAME))
    header_other = crafted_header(other, [v[: len(v) - cut] for v in forged])
    if len(header_other) < len(header_forged):
        header_other += "x" * (len(header_forged) - len(header_other))
    header_other = header_other[: len(header_forged)]
    assert len(header_other) == len(header_forged)
    kinds = {
        "forged": {"Cookie": header_forged},
        "other-name": {"Cookie": header_other},
        "plain": {"Cookie": f"{COOKIE_NAME}={real}"},
    }
    # Sanity: each kind answers 200; forged is refused (not signed in as anything), plain opens.
    for kind, headers in kinds.items():
        _, _, body = client.request("GET", "/whoami", headers=headers)
        sys.stderr.write(f"{kind}: Cookie header {len(headers['Cookie']):,} bytes -> {body.decode()}\n")
    # Too big: one more value past what fits must be refused (431), proving `fit` is the limit.
    probe = Client(args.port)
    extra = max(fit + 8, int((HEAD_LIMIT + pair) / pair))
    try:
        status, _, _ = probe.request("GET", "/whoami", expect=None,
                                     headers={"Cookie": crafted_header(COOKIE_NAME,
                                                                       forged_values(real, extra))})
    except (http.client.HTTPException, OSError) as err:
        status = f"no answer ({type(err).__name__})"
    sys.stderr.write(f"{extra} values ({extra * pair:,} bytes): status {status}\n")

    rows = []
    order = list(kinds)
    for rnd in range(args.rounds):
        rot = order[rnd % 3:] + order[: rnd % 3]
        for kind in rot:
            headers = kinds[kind]
            before = cpu_ticks(args.pid)
            start = time.perf_counter()
            for _ in range(args.requests):
                client.request("GET", "/whoami", headers=headers)
            secs = time.perf_counter() - start
            ticks = cpu_ticks(args.pid) - before
            us = ticks / hz * 1e6 / args.requests
            rows.append({"round": rnd + 1, "kind": kind, "ticks": ticks, "seconds": secs,
                         "us_per_request": us, "req_per_s": args.requests / secs})
            sys.stderr.write(f"round {rnd + 1} {kind}: {ticks} ticks, {secs:.1f} s, "
                             f"{us:.2f} us/request, {args.requests / secs:.0f} req/s\n")
    result = {"values": values, "fit": fit, "requested_values": args.values,
              "header_bytes": len(header_forged), "cookie_len": len(real),
              "too_big_values": extra, "too_big_status": status,
              "requests": args.requests, "rounds": args.rounds, "hz": hz,
              "reconnects": client.reconnects, "rows": rows}
    for kind in kinds:
        sel = [r for r in rows if r["kind"] == kind]
        result[kind] = {"median_us": statistics.median(r["us_per_request"] for r in sel),
                        "min_us": min(r["us_per_request"] for r in sel),
                        "max_us": max(r["us_per_request"] for r in sel),
                        "median_req_per_s": statistics.median(r["req_per_s"] for r in sel)}
    ratios = []
    for rnd in range(1, args.rounds + 1):
        f = next(r for r in rows if r["round"] == rnd and r["kind"] == "forged")
        o = next(r for r in rows if r["round"] == rnd and r["kind"] == "other-name")
        ratios.append(f["us_per_request"] / o["us_per_request"] if o["ticks"] else float("inf"))
    result["ratio_median_of_rounds"] = statistics.median(ratios)
    result["ratio_of_medians"] = result["forged"]["median_us"] / result["other-name"]["median_us"]
    print(json.dumps(result))


# --- probe ----------------------------------------------------------------------------------


def probe(args):
    client = Client(args.port)
    for label, workload, n in (("login", LoginWorkload(client, 1), 3000),
                               ("anonymous", AnonymousWorkload(client), 3000)):
        reqs, secs = run_ops(workload, n)
        print(f"{label}: {reqs / secs:.0f} req/s")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("growth")
    g.add_argument("--port", type=int, required=True)
    g.add_argument("--pid", type=int, required=True)
    g.add_argument("--workload", choices=("login", "anonymous"), required=True)
    g.add_argument("--users", type=int, default=1)
    g.add_argument("--warmup", type=int, required=True)
    g.add_argument("--count", type=int, required=True)
    c = sub.add_parser("crafted")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--pid", type=int, required=True)
    c.add_argument("--requests", type=int, required=True)
    c.add_argument("--rounds", type=int, default=3)
    c.add_argument("--values", type=int, default=1800)
    q = sub.add_parser("probe")
    q.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    {"growth": growth, "crafted": crafted, "probe": probe}[args.cmd](args)


if __name__ == "__main__":
    main()
