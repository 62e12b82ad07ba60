#!/usr/bin/env python3
"""Tables and chart of benches/http/compare.sh: medians over rounds, ratios within each round.

Usage: report.py OUT_DIR SVG_PATH

Reads OUT_DIR/results.tsv (one line per wrk run) and OUT_DIR/bytes.tsv (one line per session
model and route, from real responses), prints two Markdown tables, and writes a bar chart of the
req/s medians (whiskers: min and max over the rounds) to SVG_PATH. Standard library only.
"""

import csv
import statistics
import sys
from html import escape

# Workloads in display order: (name in results.tsv, label, colour).
WORKLOADS = [
    ("none", "no session (floor)", "#9e9e9e"),
    ("ours", "sealed cookie", "#1f77b4"),
    ("ours-redis", "sealed cookie + Redis revocations", "#17becf"),
    ("ours-4k", "sealed cookie, largest (~4 KB)", "#aec7e8"),
    ("server-store", "actix-session + Redis", "#d62728"),
    ("server-store-10k", "actix-session + Redis, 10 KB session", "#ff9896"),
]
ROUTES = ["read", "write"]
COMPARATOR = "ours"


def load(out_dir):
    with open(f"{out_dir}/results.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for r in rows:
        for k in ("req_per_s", "p99_us", "server_cpu_us", "redis_cpu_us"):
            r[k] = float(r[k])
    return rows


def summarize(rows):
    """(workload, route) -> medians, min/max req/s, and per-round ratios to the comparator."""
    by = {}
    for r in rows:
        by.setdefault((r["workload"], r["route"]), []).append(r)
    comparator = {(r["round"], r["route"]): r["req_per_s"] for r in rows if r["workload"] == COMPARATOR}
    stats = {}
    for (w, route), sel in by.items():
        rps = [r["req_per_s"] for r in sel]
        ratios = [r["req_per_s"] / comparator[r["round"], route] for r in sel
                  if (r["round"], route) in comparator]
        stats[w, route] = {
            "rounds": len(sel),
            "rps": statistics.median(rps),
            "rps_min": min(rps),
            "rps_max": max(rps),
            "ratio": statistics.median(ratios) if ratios else None,
            "p99_us": statistics.median(r["p99_us"] for r in sel),
            "server_cpu_us": statistics.median(r["server_cpu_us"] for r in sel),
            "redis_cpu_us": statistics.median(r["redis_cpu_us"] for r in sel),
        }
    return stats


def fmt_us(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def throughput_table(stats):
    lines = [
        "| route | session model | req/s (median) | min–max | × sealed cookie | p99 | "
        "app CPU/req | Redis CPU/req |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for route in ROUTES:
        for w, label, _ in WORKLOADS:
            s = stats.get((w, route))
            if not s:
                continue
            ratio = f"{s['ratio']:.2f}" if s["ratio"] is not None else "–"
            lines.append(
                f"| {route} | {label} | {s['rps']:,.0f} | {s['rps_min']:,.0f}–{s['rps_max']:,.0f} "
                f"| {ratio} | {fmt_us(s['p99_us'])} | {s['server_cpu_us']:.1f} µs "
                f"| {s['redis_cpu_us']:.1f} µs |"
            )
    return "\n".join(lines)


def bytes_table(out_dir):
    with open(f"{out_dir}/bytes.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    lines = [
        "| session | route | cookie (name=value) | `Cookie:` request header | `Set-Cookie:` response "
        "header | browser ↔ app total | app ↔ Redis (sent + received) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        redis = f"{int(r['redis_in']) + int(r['redis_out']):,} ({r['redis_in']} + {r['redis_out']})"
        lines.append(
            f"| {r['session']} | {r['route']} | {int(r['cookie']):,} | {int(r['request_header']):,} "
            f"| {int(r['response_header']):,} "
            f"| **{int(r['request_header']) + int(r['response_header']):,}** | {redis} |"
        )
    return "\n".join(lines)


def chart(stats, path, subtitle):
    width, height = 900, 470
    left, right, top, bottom = 70, 20, 60, 150
    plot_w, plot_h = width - left - right, height - top - bottom
    present = [w for w in WORKLOADS if any((w[0], r) in stats for r in ROUTES)]
    peak = max(s["rps_max"] for s in stats.values())
    # A round step (1, 2 or 5 times a power of ten) giving at most 8 gridlines.
    step = next(m * 10**e for e in range(0, 9) for m in (1, 2, 5) if peak / (m * 10**e) <= 8)
    y_max = (int(peak // step) + 1) * step

    def y(v):
        return top + plot_h - v / y_max * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">'
        "Requests per second, one actix worker, 16 connections (higher is better)</text>",
        f'<text x="{width / 2}" y="44" text-anchor="middle" fill="#555">{escape(subtitle)}</text>',
    ]
    for v in range(0, y_max + 1, step):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,}</text>')
    group_w = plot_w / len(ROUTES)
    bar_w = group_w * 0.8 / len(present)
    for gi, route in enumerate(ROUTES):
        gx = left + gi * group_w + group_w * 0.1
        out.append(f'<text x="{left + gi * group_w + group_w / 2:.1f}" y="{top + plot_h + 20}" '
                   f'text-anchor="middle" font-size="14" font-weight="bold">{route} route</text>')
        for bi, (w, label, colour) in enumerate(present):
            s = stats.get((w, route))
            if not s:
                continue
            x = gx + bi * bar_w
            out.append(f'<rect x="{x + 2:.1f}" y="{y(s["rps"]):.1f}" width="{bar_w - 4:.1f}" '
                       f'height="{top + plot_h - y(s["rps"]):.1f}" fill="{colour}">'
                       f'<title>{escape(label)}, {route}: {s["rps"]:,.0f} req/s</title></rect>')
            cx = x + bar_w / 2
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(s["rps_min"]):.1f}" '
                       f'y2="{y(s["rps_max"]):.1f}" stroke="black"/>')
            out.append(f'<text x="{cx:.1f}" y="{y(s["rps_max"]) - 5:.1f}" text-anchor="middle" '
                       f'font-size="11">{s["rps"]:,.0f}</text>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
               'stroke="black"/>')
    # Legend, two columns under the plot.
    for i, (_, label, colour) in enumerate(present):
        lx = left + (i % 2) * plot_w / 2
        ly = top + plot_h + 45 + (i // 2) * 20
        out.append(f'<rect x="{lx:.1f}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 18:.1f}" y="{ly}">{escape(label)}</text>')
    out.append(f'<text x="{left}" y="{height - 10}" fill="#555" font-size="11">bars: median over '
               'rounds; whiskers: min and max. Made by scripts/with-redis.sh '
               'benches/http/compare.sh</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    out_dir, svg = sys.argv[1], sys.argv[2]
    subtitle = sys.argv[3] if len(sys.argv) > 3 else ""
    rows = load(out_dir)
    stats = summarize(rows)
    rounds = max(s["rounds"] for s in stats.values())
    print(f"### Throughput and latency (medians of {rounds} rounds; × = median of per-round ratios "
          f"to the sealed cookie)\n")
    print(throughput_table(stats))
    print("\n### Bytes per request (from real responses, curl -D; Redis: INFO stats deltas)\n")
    print(bytes_table(out_dir))
    chart(stats, svg, subtitle)
    print(f"\nchart: {svg}")


if __name__ == "__main__":
    main()
