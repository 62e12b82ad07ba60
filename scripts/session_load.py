#!/usr/bin/env python3
"""Load client for the login example (`examples/login.rs`), Python 3 stdlib only.

Driven by scripts/measure-revocation-growth.sh and scripts/measure-crafted-header.sh, which
start the server and stop it. Every connection is a keep-alive `http.client` connection to
127.0.0.1; every answer is checked (status 200), and a connection the server closed is reopened
and counted.

  session_load.py growth  --port P --pid PID --workload login|anonymous [--users U] --warmup W --count N
  session_load.py crafted --port P --pid PID --requests R --rounds K [--values V]
                          [--flood forged|chunk-names]
  session_load.py probe   --port P                       # requests per second the client reaches
"""

import argparse
import http.client
import json
import math
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
# The most cookies the server's sessions span in the chunk-name flood: measure-crafted-header.sh
# starts it with COOKIE_CHUNKS set to this.
CHUNK_COOKIES = int(os.environ.get("COOKIE_CHUNKS", "3"))
# Past any session a Cookie header budget of 8 or 16 KiB lets through: where the search for a
# real session over CHUNK_COOKIES cookies (POST /big?bytes=N) stops.
BIG_SEARCH_END = 1 << 15


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = None
        self.reconnects = -1
        self.requests = 0
        # The (name, value) of every cookie the last response set (removals, Max-Age=0, left out).
        self.set_cookies = []

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
        self.set_cookies = []
        for value in resp.headers.get_all("Set-Cookie") or []:
            pair, _, attributes = value.partition(";")
            name, _, val = pair.partition("=")
            if name.strip() == COOKIE_NAME:
                cookie = val.strip()
            if "max-age=0" not in (a.strip().lower() for a in attributes.split(";")):
                self.set_cookies.append((name.strip(), val.strip()))
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


def forged_kinds(client, args):
    """The `forged` flood: as many forged values of the session cookie as fit, against the same
    size under the name `other`, and one valid cookie. Returns (kinds, attack kind, facts)."""
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
        "forged": (f"{values:,} forged `{COOKIE_NAME}` values", header_forged),
        "other-name": (f"{values:,} `other` values", header_other),
        "plain": (f"one valid `{COOKIE_NAME}` cookie", f"{COOKIE_NAME}={real}"),
    }
    # Too big: one more value past what fits must be refused (431), proving `fit` is the limit.
    extra = max(fit + 8, int((HEAD_LIMIT + pair) / pair))
    status = head_status(args.port, crafted_header(COOKIE_NAME, forged_values(real, extra)))
    facts = {"values": values, "fit": fit, "requested_values": args.values,
             "header_bytes": len(header_forged), "cookie_len": len(real),
             "too_big_values": extra, "too_big_status": status,
             "summary": f"{values:,} values per header ({args.values:,} asked; {fit:,} fit), "
                        f"Cookie header {len(header_forged):,} bytes, cookie value {len(real)} "
                        f"characters; {extra:,} values answered {status}."}
    return kinds, "forged", facts


def head_status(port, cookie_header):
    """The status of a request carrying `cookie_header`, or why there was none."""
    probe = Client(port)
    try:
        status, _, _ = probe.request("GET", "/whoami", expect=None, headers={"Cookie": cookie_header})
    except (http.client.HTTPException, OSError) as err:
        status = f"no answer ({type(err).__name__})"
    return status


def chunk_name(index):
    """The name of chunk `index` of the session cookie: the cookie's own name, then `<name>-1`..."""
    return COOKIE_NAME if index == 0 else f"{COOKIE_NAME}-{index}"


def session_chunks(client, parts):
    """The values of a real session over exactly `parts` cookies, in chunk order, and the
    `POST /big` byte count that made it: the middle of the counts that take `parts` cookies
    (found by halving, the count only grows with the bytes), then `POST /counter` on it (so a
    `/whoami` with it shows `counter` 1). None if no byte count gives `parts` cookies: the
    server's sessions stay in one cookie."""
    def cookies(n):
        status, _, body = client.request("POST", f"/big?bytes={n}", expect=None)
        if status == 413:
            return math.inf
        if status != 200:
            sys.exit(f"POST /big?bytes={n}: status {status}: {body[:200]!r}")
        return len(client.set_cookies)

    def first_reaching(k):
        low, high = 0, BIG_SEARCH_END
        while low < high:
            mid = (low + high) // 2
            if cookies(mid) >= k:
                high = mid
            else:
                low = mid + 1
        return low

    first, past = first_reaching(parts), first_reaching(parts + 1)
    if first >= past or cookies(first) != parts:
        return None
    n = first + (past - first) // 2
    if cookies(n) != parts:
        sys.exit(f"POST /big?bytes={n} did not set {parts} cookies")
    header = "; ".join(f"{k}={v}" for k, v in client.set_cookies)
    client.request("POST", "/counter", headers={"Cookie": header})
    got = dict(client.set_cookies)
    values = [got.get(chunk_name(k)) for k in range(parts)]
    if None in values or len(got) != parts:
        sys.exit(f"POST /counter on a session of {parts} cookies set {sorted(got)}")
    return values, n


def b64url(n, seed):
    """`n` base64url characters, the same for the same seed (xorshift)."""
    x = (0x9E3779B97F4A7C15 ^ (seed * 0x2545F4914F6CDD1D)) & 0xFFFFFFFFFFFFFFFF or 1
    out = []
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        out.append(B64URL[x % 64])
    return "".join(out)


def vary(value, n, at):
    """`value` with the 4 characters at `at` replaced by a base64url spelling of `n`."""
    digits, k = [], n
    for _ in range(4):
        digits.append(B64URL[k % 64])
        k //= 64
    return value[:at] + "".join(digits) + value[at + 4:]


def chunk_flood(chunks, budget, max_pairs):
    """The chunk-name flood, as (name, value) pairs within `budget` bytes of Cookie header:

    1. the real session's other chunks (`id-1`, `id-2`), first, so they are the values the
       server keeps for those names (it keeps each chunk name's first value);
    2. 3 distinct forged first chunks (`id=3.<...>` with 4 characters of ciphertext changed in
       the middle): each is joined with the real chunks, passes the format checks and fails at
       the AEAD tag, the most a first value can cost;
    3. until the budget is spent: chunk names in range and out of it (`id-1`..`id-9` again,
       `id-99`, `id-10`), malformed ones (`id-01`, `id-0`, `id-00`, `id-1a`, `id-`, `id--1`,
       `id-1-1`), with values of every size from 0 to 4,181 characters (Fibonacci, the sizes
       up to 144 twice as often: hundreds of pairs), every fifth in double quotes; and every
       third round of names one more first value, the first forged chunk with its end changed
       (compared in full with it, and halfway with the other two, before it is skipped).
    """
    first, rest = chunks[0], chunks[1:]
    pairs = [(chunk_name(k), v) for k, v in enumerate(rest, 1)]
    forged = [vary(first, n, len(first) // 2) for n in range(1, 4)]
    pairs += [(COOKIE_NAME, v) for v in forged]
    names = ([chunk_name(k) for k in range(1, 10)]
             + [f"{COOKIE_NAME}-{s}" for s in ("99", "10", "01", "0", "00", "1a", "", "-1", "1-1")]
             + [COOKIE_NAME])
    fibonacci = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181]
    # 31 sizes against 19 names: every name meets every size.
    sizes = fibonacci + fibonacci[:12]
    used = sum(len(k) + 1 + len(v) for k, v in pairs) + 2 * (len(pairs) - 1)
    i = 0
    while len(pairs) < max_pairs:
        name = names[i % len(names)]
        if name == COOKIE_NAME and (i // len(names)) % 3 == 0:
            value = vary(forged[0], 4 + i, len(first) - 6)
        else:
            value = b64url(sizes[i % len(sizes)], i)
            if i % 5 == 0:
                value = f'"{value}"'
        cost = 2 + len(name) + 1 + len(value)
        if used + cost > budget:
            # The largest values no longer fit: the next sizes are smaller, until none is.
            if not value or len(value) <= 2:
                break
            i += 1
            continue
        pairs.append((name, value))
        used += cost
        i += 1
    return pairs


def chunk_kinds(client, args):
    """The `chunk-names` flood (a server whose sessions span up to CHUNK_COOKIES cookies):
    [`chunk_flood`] against the same pairs under a name of the same length that is not ours, and
    a valid session of CHUNK_COOKIES cookies. Returns (kinds, attack kind, facts)."""
    found = session_chunks(client, CHUNK_COOKIES)
    if found is None:
        sys.exit(f"the server's sessions do not span {CHUNK_COOKIES} cookies (POST /big sets one "
                 "cookie or answers 413): it does not read COOKIE_CHUNKS; not measured")
    chunks, big = found
    pairs = chunk_flood(chunks, HEAD_LIMIT - HEAD_MARGIN - len("Cookie: \r\n"), args.values)
    flood = "; ".join(f"{k}={v}" for k, v in pairs)
    # Not ours, the same length: every pair keeps its size.
    other = "x" * len(COOKIE_NAME)
    assert other != COOKIE_NAME
    header_other = "; ".join(f"{other + k[len(COOKIE_NAME):]}={v}" for k, v in pairs)
    assert len(header_other) == len(flood)
    plain = "; ".join(f"{chunk_name(k)}={v}" for k, v in enumerate(chunks))
    kinds = {
        "chunk-names": (f"{len(pairs):,} pairs under `{COOKIE_NAME}` and `{COOKIE_NAME}-*` names",
                        flood),
        "other-name": (f"the same {len(pairs):,} pairs under `{other}` and `{other}-*`", header_other),
        "plain": (f"one valid session over {CHUNK_COOKIES} cookies", plain),
    }
    # Too big: the flood padded past the head limit must be refused (431), proving the flood
    # is as large as a request can be.
    status = head_status(args.port, flood + "; pad=" + "x" * (HEAD_LIMIT - len(flood)))
    facts = {"pairs": len(pairs), "header_bytes": len(flood), "session_bytes": len(plain),
             "big": big, "too_big_status": status,
             "summary": f"{len(pairs):,} pairs per header ({CHUNK_COOKIES - 1} real chunks, 3 "
                        f"forged first chunks, then chunk names in and out of range, malformed "
                        f"ones and more first values), Cookie header {len(flood):,} bytes; the "
                        f"valid session (POST /big?bytes={big}) "
                        f"is {CHUNK_COOKIES} cookies, {len(plain):,} bytes of Cookie header; "
                        f"the flood padded to {HEAD_LIMIT:,} bytes answered {status}."}
    return kinds, "chunk-names", facts


def crafted(args):
    client = Client(args.port)
    hz = os.sysconf("SC_CLK_TCK")
    build = {"forged": forged_kinds, "chunk-names": chunk_kinds}[args.flood]
    kinds, attack, facts = build(client, args)
    # Sanity: each kind answers 200; the attack is refused (not signed in as anything, a
    # `refused` reason), the other name is simply no session, plain opens.
    for kind, (_, header) in kinds.items():
        _, _, body = client.request("GET", "/whoami", headers={"Cookie": header})
        answer = json.loads(body)
        sys.stderr.write(f"{kind}: Cookie header {len(header):,} bytes -> {body.decode()}\n")
        expected = {attack: "refused" in answer, "other-name": "refused" not in answer,
                    "plain": "refused" not in answer and answer.get("counter", 0) >= 1}[kind]
        if not expected:
            sys.exit(f"{kind}: unexpected answer {body.decode()}")

    rows = []
    order = list(kinds)
    for rnd in range(args.rounds):
        rot = order[rnd % 3:] + order[: rnd % 3]
        for kind in rot:
            headers = {"Cookie": kinds[kind][1]}
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
    result = dict(facts)
    result.update({"flood": args.flood, "attack": attack, "requests": args.requests,
                   "rounds": args.rounds, "hz": hz, "reconnects": client.reconnects,
                   "rows": rows, "kinds": list(kinds)})
    for kind, (label, header) in kinds.items():
        sel = [r for r in rows if r["kind"] == kind]
        result[kind] = {"label": label, "cookie_header_bytes": len(header),
                        "median_us": statistics.median(r["us_per_request"] for r in sel),
                        "min_us": min(r["us_per_request"] for r in sel),
                        "max_us": max(r["us_per_request"] for r in sel),
                        "median_req_per_s": statistics.median(r["req_per_s"] for r in sel)}
    ratios = []
    for rnd in range(1, args.rounds + 1):
        f = next(r for r in rows if r["round"] == rnd and r["kind"] == attack)
        o = next(r for r in rows if r["round"] == rnd and r["kind"] == "other-name")
        ratios.append(f["us_per_request"] / o["us_per_request"] if o["ticks"] else float("inf"))
    result["ratio_median_of_rounds"] = statistics.median(ratios)
    other = result["other-name"]["median_us"]
    result["ratio_of_medians"] = result[attack]["median_us"] / other if other else float("inf")
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
    c.add_argument("--values", type=int, default=1800,
                   help="most values (forged) or pairs (chunk-names) per header")
    c.add_argument("--flood", choices=("forged", "chunk-names"), default="forged")
    q = sub.add_parser("probe")
    q.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    {"growth": growth, "crafted": crafted, "probe": probe}[args.cmd](args)


if __name__ == "__main__":
    main()
