#!/usr/bin/env python3
"""Parse the raw output of one bench/run.sh run and write docs/BENCHMARKS.md.

    python3 bench/report.py bench/out/<timestamp> docs/BENCHMARKS.md

Reads OUT/meta.txt (key=value), OUT/runs.tsv (scenario, tool, rep, exit code, seconds, command),
OUT/notes.txt and OUT/raw/<scenario>.<tool>.<rep>.{out,err,time}; writes OUT/summary.json and the
markdown. Standard library only. A run that failed or cannot be parsed is reported as such, never
fatal.
"""

import json
import os
import re
import statistics
import sys

TOOLS_ORDER = ["flak", "flak-busy-poll", "flak-http3", "flak-http2", "wrk", "oha", "hey", "h2load"]


# --- parsing each tool's own output ----------------------------------------------------------------

def _ms(value, unit):
    """A wrk/hey duration to milliseconds."""
    v = float(value)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "secs": 1e3}[unit]


def parse_wrk(text):
    r = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if m:
        r["requests"] = int(m.group(1))
        r["elapsed_s"] = _ms(m.group(2), m.group(3)) / 1e3
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        r["rps"] = float(m.group(1))
    for m in re.finditer(r"^\s+(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        r["p" + m.group(1) + "_ms"] = _ms(m.group(2), m.group(3))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
    r["errors"] = errors
    return r


def parse_hey(text):
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"Total:\s+([\d.]+) secs", text)
    if m:
        r["elapsed_s"] = float(m.group(1))
    for m in re.finditer(r"^\s+(\d+(?:\.\d+)?)% in ([\d.]+) secs", text, re.M):
        p = m.group(1).rstrip("0").rstrip(".") if "." in m.group(1) else m.group(1)
        r["p" + p + "_ms"] = float(m.group(2)) * 1e3
    ok = 0
    status = {}
    section = None
    errors = 0
    for line in text.splitlines():
        if line.startswith("Status code distribution"):
            section = "status"
            continue
        if line.startswith("Error distribution"):
            section = "errors"
            continue
        m = re.match(r"^\s+\[(\d+)\]\s+(\d+) responses", line)
        if section == "status" and m:
            status[m.group(1)] = int(m.group(2))
            ok += int(m.group(2))
            continue
        m = re.match(r"^\s+\[(\d+)\]\s+", line)
        if section == "errors" and m:
            errors += int(m.group(1))
    r["status"] = status
    r["errors"] = errors + sum(v for k, v in status.items() if not k.startswith(("2", "3")))
    if status or errors:
        r["requests"] = ok + errors
    return r


def parse_oha(text):
    d = json.loads(text)
    s = d.get("summary", {})
    r = {}
    if s.get("requestsPerSec") is not None:
        r["rps"] = float(s["requestsPerSec"])
    if s.get("total") is not None:
        r["elapsed_s"] = float(s["total"])
    lp = d.get("latencyPercentiles") or {}
    for key in ("p50", "p90", "p99"):
        if lp.get(key) is not None:
            r[key + "_ms"] = float(lp[key]) * 1e3
    status = {str(k): int(v) for k, v in (d.get("statusCodeDistribution") or {}).items()}
    errs = {str(k): int(v) for k, v in (d.get("errorDistribution") or {}).items()}
    # Requests cut off when -z ran out are listed as errors ("aborted due to deadline"); they
    # never finished, like flak's "cancelled", so they are not counted as requests.
    aborted = sum(v for k, v in errs.items() if "deadline" in k.lower())
    real_errors = sum(errs.values()) - aborted
    r["status"] = status
    r["aborted"] = aborted
    r["errors"] = real_errors + sum(v for k, v in status.items() if not k.startswith(("2", "3")))
    r["requests"] = sum(status.values()) + real_errors
    return r


def parse_flak(text):
    d = json.loads(text)
    r = {
        "rps": float(d["rps"]),
        "total": int(d["total"]),
        "cancelled": int(d.get("cancelled", 0)),
        "succeeded": int(d.get("succeeded", 0)),
        "errors": int(d.get("failed", 0)),
        "elapsed_s": float(d.get("elapsed_s", 0)),
    }
    # Finished requests: responses and errors; requests cut off at the end of -z are not.
    r["requests"] = r["total"] - r["cancelled"]
    lat = d.get("latency_ms") or {}
    for key in ("p50", "p90", "p99", "p999", "mean", "max"):
        if lat.get(key) is not None:
            r[key + "_ms"] = float(lat[key])
    unc = d.get("latency_uncorrected_ms") or {}
    for key in ("p50", "p90", "p99", "p999", "mean", "max"):
        if unc.get(key) is not None:
            r["unc_" + key + "_ms"] = float(unc[key])
    for p in d.get("percentiles") or []:
        if float(p.get("p", -1)) == 95.0 and p.get("ms") is not None:
            r["p95_ms"] = float(p["ms"])
    return r


def parse_h2load(text):
    r = {}
    m = re.search(r"finished in ([\d.]+)(ms|s), ([\d.]+) req/s", text)
    if m:
        r["elapsed_s"] = float(m.group(1)) / (1e3 if m.group(2) == "ms" else 1)
        r["rps"] = float(m.group(3))
    m = re.search(
        r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout", text)
    if m:
        r["requests"] = int(m.group(3))
        r["errors"] = int(m.group(5)) + int(m.group(6)) + int(m.group(7))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        r["errors"] = r.get("errors", 0) + int(m.group(3)) + int(m.group(4))
    # h2load prints min/max/mean/sd of request times, no percentiles.
    m = re.search(r"time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", text)
    if m:
        r["mean_ms"] = _ms(m.group(5), m.group(6))
    return r


PARSERS = {"wrk": parse_wrk, "hey": parse_hey, "oha": parse_oha, "flak": parse_flak,
           "flak-busy-poll": parse_flak, "flak-http3": parse_flak, "flak-http2": parse_flak,
           "h2load": parse_h2load}


def parse_time(path):
    """/usr/bin/time -f '%U %S %M': the last line holds user s, system s, max RSS KiB."""
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
    except OSError:
        return {}
    for line in reversed(lines):
        parts = line.split()
        if len(parts) == 3:
            try:
                u, s, m = float(parts[0]), float(parts[1]), int(parts[2])
            except ValueError:
                continue
            return {"cpu_s": u + s, "user_s": u, "sys_s": s, "rss_kib": m}
    return {}


def parse_stat(base):
    """CPU 0 and CPU 1 busy time during the run, from /proc/stat before and after."""
    def load(path):
        cpus = {}
        for line in read(path).splitlines():
            parts = line.split()
            if len(parts) >= 8 and parts[0] in ("cpu0", "cpu1"):
                v = [int(x) for x in parts[1:]]
                idle = v[3] + v[4]          # idle + iowait
                cpus[parts[0]] = (sum(v[:8]) - idle, sum(v[:8]))
        return cpus
    a, b = load(base + ".stat0"), load(base + ".stat1")
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    r = {}
    for cpu in ("cpu0", "cpu1"):
        if cpu in a and cpu in b and b[cpu][1] > a[cpu][1]:
            busy = (b[cpu][0] - a[cpu][0]) / hz
            total = (b[cpu][1] - a[cpu][1]) / hz
            r[cpu + "_busy_s"] = busy
            r[cpu + "_total_s"] = total
    return r


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def load_runs(out):
    runs = []
    try:
        with open(os.path.join(out, "runs.tsv")) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) < 6:
            continue
        sc, tool, rep, rc, secs, cmd = parts[:6]
        run = {"scenario": sc, "tool": tool, "rep": rep, "rc": rc, "wall_s": secs, "command": cmd}
        if rc == "skipped":
            run["status"] = "skipped"
            run["reason"] = cmd
            runs.append(run)
            continue
        base = os.path.join(out, "raw", f"{sc}.{tool}.{rep}")
        text = read(base + ".out")
        metrics = {}
        problem = None
        try:
            metrics = PARSERS[tool](text)
        except Exception as e:  # noqa: BLE001 - any parse failure becomes a reported failure
            problem = f"output not understood ({type(e).__name__}: {e})"
        metrics.update(parse_time(base + ".time"))
        st = parse_stat(base)
        if "cpu1_busy_s" in st and metrics.get("cpu_s") is not None and st["cpu1_total_s"] > 0:
            # What ran on the load generator's CPU besides the load generator (other work on this
            # shared machine, or the hypervisor's steal): a disturbed run shows here.
            metrics["others_cpu1_pct"] = max(0.0, st["cpu1_busy_s"] - metrics["cpu_s"]) / st["cpu1_total_s"] * 100
        if "cpu0_busy_s" in st and st["cpu0_total_s"] > 0:
            metrics["cpu0_busy_pct"] = st["cpu0_busy_s"] / st["cpu0_total_s"] * 100
        if rc != "0":
            why = {"124": "killed by timeout", "137": "killed by timeout"}.get(rc, f"exit code {rc}")
            err = read(base + ".err").strip().splitlines()
            problem = why + (f": {err[-1][:200]}" if err else "")
        elif problem is None and "rps" not in metrics:
            err = read(base + ".err").strip().splitlines()
            problem = "no results in its output" + (f": {err[-1][:200]}" if err else "")
        if metrics.get("requests") and metrics.get("cpu_s") is not None:
            metrics["cpu_per_100k"] = metrics["cpu_s"] / metrics["requests"] * 1e5
        run["metrics"] = metrics
        run["status"] = "failed" if problem else "ok"
        if problem:
            run["reason"] = problem
        runs.append(run)
    return runs


def load_meta(out):
    meta = {}
    for line in read(os.path.join(out, "meta.txt")).splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            meta[k.strip()] = v.strip()
    return meta


# --- aggregation ------------------------------------------------------------------------------------

METRICS = ["rps", "requests", "cpu_s", "cpu_per_100k", "rss_kib", "p50_ms", "p99_ms"]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(runs, scenario):
    """tool -> {metric: median over ok runs, 'ok': n, 'n': n, 'reasons': [...]}"""
    agg = {}
    for run in runs:
        if run["scenario"] != scenario:
            continue
        a = agg.setdefault(run["tool"], {"ok": 0, "n": 0, "reasons": [], "runs": []})
        if run["status"] == "skipped":
            a["reasons"].append("skipped: " + run.get("reason", ""))
            continue
        a["n"] += 1
        if run["status"] == "ok":
            a["ok"] += 1
            a["runs"].append(run["metrics"])
        else:
            a["reasons"].append(f"rep {run['rep']}: " + run.get("reason", "failed"))
    for tool, a in agg.items():
        keys = set()
        for m in a["runs"]:
            keys.update(m)
        for k in keys:
            if k in ("status",):
                continue
            vals = [m.get(k) for m in a["runs"] if isinstance(m.get(k), (int, float))]
            a[k] = median(vals)
    return agg


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# --- formatting -------------------------------------------------------------------------------------

def fmt(v, digits=2):
    if v is None:
        return "n/a"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1000):
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def fmt_ratio(v, digits=2):
    return "n/a" if v is None else f"{v:.{digits}f}×"


def pct(v):
    return "n/a" if v is None else f"{v:.0f}%"


def mib(kib):
    return None if kib is None else kib / 1024.0


def tools_in(agg):
    return [t for t in TOOLS_ORDER if t in agg] + sorted(t for t in agg if t not in TOOLS_ORDER)


def throughput_table(agg, lines):
    lines.append("| tool | runs ok | req/s | requests | CPU s (user+sys) | CPU s / 100k req | peak RSS MiB | p50 ms | p99 ms | others on CPU 1 |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for t in tools_in(agg):
        a = agg[t]
        if a["ok"] == 0:
            why = "; ".join(a["reasons"]) or "no run"
            lines.append(f"| {t} | 0/{a['n']} | {why} | | | | | | | |")
            continue
        lines.append(
            f"| {t} | {a['ok']}/{a['n']} | {fmt(a.get('rps'))} | {fmt(a.get('requests'))} | "
            f"{fmt(a.get('cpu_s'))} | {fmt(a.get('cpu_per_100k'), 3)} | {fmt(mib(a.get('rss_kib')), 1)} | "
            f"{fmt(a.get('p50_ms'), 3)} | {fmt(a.get('p99_ms'), 3)} | {pct(a.get('others_cpu1_pct'))} |"
        )
    failures = [(t, r) for t in tools_in(agg) for r in agg[t]["reasons"] if agg[t]["ok"] > 0]
    for t, r in failures:
        lines.append(f"\n- {t}: {r}")
    peers = [t for t in tools_in(agg) if not t.startswith("flak")]
    for variant in [t for t in tools_in(agg) if t.startswith("flak") and agg[t]["ok"] and peers]:
        f = agg[variant]
        name = variant.replace("flak-", "flak --")
        lines.append("")
        lines.append(f"{name} ÷ peer (medians). req/s: higher is better for flak; CPU per request, RSS and latency: lower is better.")
        lines.append("")
        lines.append(f"| {name} ÷ | req/s | CPU s / 100k req | peak RSS | p50 | p99 |")
        lines.append("|---|---|---|---|---|---|")
        for p in peers:
            a = agg[p]
            if not a["ok"]:
                lines.append(f"| {p} | n/a | n/a | n/a | n/a | n/a |")
                continue
            lines.append(
                f"| {p} | {fmt_ratio(ratio(f.get('rps'), a.get('rps')))} | "
                f"{fmt_ratio(ratio(f.get('cpu_per_100k'), a.get('cpu_per_100k')))} | "
                f"{fmt_ratio(ratio(f.get('rss_kib'), a.get('rss_kib')))} | "
                f"{fmt_ratio(ratio(f.get('p50_ms'), a.get('p50_ms')))} | "
                f"{fmt_ratio(ratio(f.get('p99_ms'), a.get('p99_ms')))} |"
            )


def target(status, what, detail):
    return {"status": status, "what": what, "detail": detail}


def check(cond):
    if cond is None:
        return "not measured"
    return "met" if cond else "not met"


def main():
    if len(sys.argv) != 3:
        print("usage: report.py OUT_DIR MARKDOWN_FILE", file=sys.stderr)
        return 2
    out, md_path = sys.argv[1], sys.argv[2]
    if not os.path.isdir(out):
        print(f"report.py: {out} is not a bench/out run folder", file=sys.stderr)
        return 2
    meta = load_meta(out)
    runs = load_runs(out)
    notes = [l for l in read(os.path.join(out, "notes.txt")).splitlines() if l.strip()]
    quick = meta.get("quick") == "1"
    scen = {s: aggregate(runs, s) for s in ("a", "b", "m", "c", "d", "e1e6", "e1e7", "e10k", "g")}

    def g(s, tool, key):
        a = scen[s].get(tool)
        if not a or not a["ok"]:
            return None
        return a.get(key)

    # (c) accuracy: per repetition, flak p50 - wrk p50 (the two ran back to back), then the median.
    acc = []
    by_rep = {}
    for r in runs:
        if r["scenario"] == "c" and r["status"] == "ok":
            by_rep.setdefault(r["rep"], {})[r["tool"]] = r["metrics"]
    for rep in sorted(by_rep, key=lambda x: int(x) if x.isdigit() else 0):
        m = by_rep[rep]
        if "flak" in m and "wrk" in m and m["flak"].get("p50_ms") is not None and m["wrk"].get("p50_ms") is not None:
            acc.append({"rep": rep, "flak_p50": m["flak"]["p50_ms"], "wrk_p50": m["wrk"]["p50_ms"],
                        "flak_p99": m["flak"].get("p99_ms"), "wrk_p99": m["wrk"].get("p99_ms"),
                        "diff": m["flak"]["p50_ms"] - m["wrk"]["p50_ms"]})
    acc_diff = median([x["diff"] for x in acc])

    # (d) frozen server: analytic corrected p99 = F - 0.01 T (a fraction F/T of the intended
    # requests wait uniformly 0..F for the server to come back).
    T = float(meta.get("frozen_dur", 10))
    F = float(meta.get("frozen_for", 1))
    analytic_p99_ms = (F - 0.01 * T) * 1e3
    frozen = []
    for r in runs:
        if r["scenario"] == "d" and r["status"] == "ok":
            m = r["metrics"]
            frozen.append({"rep": r["rep"], **m,
                           "ratio": ratio(m.get("p99_ms"), analytic_p99_ms)})
    frozen_ratio = median([x["ratio"] for x in frozen])

    # --- targets ---
    targets = []
    fa, wa, oa = g("a", "flak", "cpu_per_100k"), g("a", "wrk", "cpu_per_100k"), g("a", "oha", "cpu_per_100k")
    r_w, r_o = ratio(fa, wa), ratio(fa, oa)
    targets.append(target(check(None if r_w is None else r_w <= 1.0),
                          "CPU per request, HTTP/1.1: flak ≤ 1.0× wrk",
                          f"flak ÷ wrk = {fmt_ratio(r_w, 3)}"))
    targets.append(target(check(None if r_o is None else r_o <= 0.7),
                          "CPU per request, HTTP/1.1: flak ≤ 0.7× oha",
                          f"flak ÷ oha = {fmt_ratio(r_o, 3)}"))
    peer_rps = {t: g("a", t, "rps") for t in ("wrk", "oha", "hey")}
    peer_rps = {t: v for t, v in peer_rps.items() if v is not None}
    best = max(peer_rps, key=peer_rps.get) if peer_rps else None
    r_best = ratio(g("a", "flak-busy-poll", "rps"), peer_rps.get(best)) if best else None
    r_best_default = ratio(g("a", "flak", "rps"), peer_rps.get(best)) if best else None
    targets.append(target(check(None if r_best is None else r_best >= 0.98),
                          "Throughput, HTTP/1.1: flak ≥ 0.98× the best peer (flak `--busy-poll`)",
                          f"flak --busy-poll ÷ {best or 'best peer'} = {fmt_ratio(r_best, 3)}; "
                          f"without it (sleeping between events, the CPU-per-request mode above) "
                          f"{fmt_ratio(r_best_default, 3)}"))
    r_h2 = ratio(g("b", "flak", "cpu_per_100k"), g("b", "oha", "cpu_per_100k"))
    targets.append(target(check(None if r_h2 is None else r_h2 <= 0.8),
                          "CPU per request, HTTP/2 over TLS: flak ≤ 0.8× oha",
                          f"flak ÷ oha = {fmt_ratio(r_h2, 3)}"))
    r_m = ratio(g("m", "flak", "cpu_per_100k"), g("m", "h2load", "cpu_per_100k"))
    targets.append(target(check(None if r_m is None else r_m <= 0.8),
                          "CPU per request, multiplexed HTTP/2 (one connection, 50 streams): flak ≤ 0.8× h2load",
                          f"flak ÷ h2load = {fmt_ratio(r_m, 3)}"))
    rss6, rss7 = g("e1e6", "flak", "rss_kib"), g("e1e7", "flak", "rss_kib")
    if rss6 is not None and rss7 is not None:
        grow = rss7 / rss6 - 1
        ok = abs(grow) <= 0.05 and rss7 < 64 * 1024
        targets.append(target(check(ok), "RSS after 1e7 requests within 5% of after 1e6, and < 64 MiB",
                              f"{fmt(mib(rss6), 1)} MiB → {fmt(mib(rss7), 1)} MiB ({grow * 100:+.1f}%)"))
    else:
        why = "not run with --quick" if quick and rss6 is not None else "a run is missing"
        targets.append(target("not measured", "RSS after 1e7 requests within 5% of after 1e6, and < 64 MiB",
                              f"1e6: {fmt(mib(rss6), 1)} MiB; 1e7: {why}"))
    rss10k = g("e10k", "flak", "rss_kib")
    targets.append(target(check(None if rss10k is None else rss10k < 256 * 1024),
                          "10,000 connections: peak RSS < 256 MiB",
                          f"{fmt(mib(rss10k), 1)} MiB"))
    targets.append(target(check(None if acc_diff is None else abs(acc_diff) <= 0.2),
                          "Accuracy: flak p50 within 0.2 ms of wrk (/delay/20)",
                          "n/a" if acc_diff is None else f"flak − wrk = {acc_diff:+.3f} ms"))
    targets.append(target(check(None if frozen_ratio is None else abs(frozen_ratio - 1) <= 0.10),
                          "Frozen server: corrected p99 within 10% of analytic",
                          "n/a" if frozen_ratio is None else
                          f"measured ÷ analytic ({analytic_p99_ms:.0f} ms) = {frozen_ratio:.3f}"))

    summary = {"meta": meta, "notes": notes, "runs": runs,
               "aggregates": {s: {t: {k: v for k, v in a.items() if k != "runs"} for t, a in agg.items()}
                              for s, agg in scen.items()},
               "accuracy": acc, "frozen": frozen, "analytic_p99_ms": analytic_p99_ms,
               "targets": targets}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)

    # --- markdown ---
    L = []
    rel_out = os.path.relpath(out, os.path.dirname(os.path.dirname(os.path.abspath(md_path))))
    L.append("# Benchmarks: flak vs wrk, oha, hey")
    L.append("")
    L.append(f"Generated by `{meta.get('command', 'bench/run.sh')}` (see [bench/README.md](../bench/README.md)); "
             f"raw per-run output in `{rel_out}/` (not committed). Do not edit by hand: run the script again.")
    L.append("")
    L.append(f"- Date: {meta.get('date', '?')}; whole run {meta.get('elapsed_s', '?')} s")
    L.append(f"- Machine: {meta.get('cpu_model', '?')}, {meta.get('nproc', '?')} cores, "
             f"{meta.get('mem', '?')} memory, Linux {meta.get('kernel', '?')}")
    L.append(f"- flak: {meta.get('v_flak', '?')} at {meta.get('git', '?')}, built with "
             "`CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 cargo build --release -p flak --target-dir target/bench`")
    L.append(f"- Peers: {meta.get('v_wrk', '?')}; {meta.get('v_oha', '?')}; {meta.get('v_hey', '?')}; "
             f"{meta.get('v_h2load', '?')}. Server: {meta.get('v_nginx', '?')}")
    L.append(f"- Repetitions: {meta.get('reps', '?')}, interleaved (every tool once per repetition, in turn); "
             "each number below is the median over the repetitions that succeeded.")
    L.append("- Pinning: the server (nginx, one worker; or `flak target --threads 1`) on CPU 0, the load "
             "generator on CPU 1 (`taskset -c`); wrk `-t1`, flak `--threads 1`, oha and hey with their "
             "defaults (they see one CPU). CPU and peak RSS of the load generator from "
             "`/usr/bin/time -f '%U %S %M'`; requests/s and latency from each tool's own output.")
    L.append("- Requests counted for CPU per request: finished requests (responses and errors); requests "
             "cut off when the duration ran out are not counted (flak's `cancelled`, oha's "
             "'aborted due to deadline').")
    if quick:
        L.append("- **Quick run**: one repetition of 3 s runs and no 1e7-request run; treat the numbers as a "
                 "smoke test of the harness, not as results.")
    L.append("- This machine is shared with other work (builds, tests) while the benchmark runs, and is a "
             "2-vCPU virtual machine: expect a few percent of noise between runs, more in a quick run. "
             f"Load average (1, 5, 15 min) at the start: {meta.get('load_start', '?')}; at the end: "
             f"{meta.get('load_end', '?')} (2 would mean both cores busy). The column *others on CPU 1* "
             "is the share of the load generator's CPU that went to anything else during the run "
             "(from /proc/stat: CPU 1 busy time minus the tool's own CPU time; hypervisor steal and "
             "interrupt work not charged to the tool count too). Tens of percent there mean the run "
             "shared its CPU with other work, and its numbers say more about the machine than "
             "about the tools.")
    if notes:
        L.append("")
        L.append("Notes from the run:")
        L.append("")
        for n in notes:
            L.append(f"- {n}")
    L.append("")

    L.append("## Targets")
    L.append("")
    L.append("| target | status | measured |")
    L.append("|---|---|---|")
    for t in targets:
        mark = {"met": "met", "not met": "**not met**", "not measured": "not measured"}[t["status"]]
        L.append(f"| {t['what']} | {mark} | {t['detail']} |")
    L.append("")

    d = meta.get("dur", "?")
    L.append(f"## (a) HTTP/1.1 keep-alive, 50 connections, nginx 13-byte file, {d} s")
    L.append("")
    L.append(f"`wrk -t1 -c50 -d{d}s --latency`, `oha --no-tui --output-format json -z {d}s -c 50`, "
             f"`hey -z {d}s -c 50`, `flak --threads 1 -z {d}s -c 50 --output json`, and the same with "
             "`--busy-poll`.")
    L.append("")
    L.append("With nginx's core saturated, throughput depends on how cheap each request is for *nginx*, "
             "and that depends on the client: strace shows nginx making the same six system calls per "
             "request for every tool, but waking a client that sleeps between events (wrk, flak) costs "
             "the server about 15% more CPU per request than answering one that never sleeps (oha's "
             "runtime spins; so does `flak --busy-poll`). Hence two flak rows: the default sleeps and "
             "spends the least CPU per request; `--busy-poll` spends its whole core and gets the most "
             "requests out of the server.")
    L.append("")
    throughput_table(scen["a"], L)
    L.append("")

    L.append(f"## (b) HTTP/2 over TLS, nginx, 50 connections (one stream each), {d} s")
    L.append("")
    L.append(f"`oha --http2 --insecure -z {d}s -c 50`, `h2load -t1 -c50 -m1 -D {d}`, "
             f"`flak --threads 1 --http2 --insecure -z {d}s -c 50`. Certificate: RSA 2048, self-signed; nginx offers TLS 1.2 and 1.3. "
             "h2load prints no latency percentiles.")
    L.append("")
    throughput_table(scen["b"], L)
    L.append("")

    L.append(f"## (m) Multiplexed HTTP/2 over TLS, nginx, one connection with 50 streams, {d} s")
    L.append("")
    L.append(f"`h2load -t1 -c1 -m50 -D {d}`, `flak --threads 1 --http2 --insecure -z {d}s -c 50 -p 50`: "
             "the same 50 requests in flight, on one connection instead of 50 (nginx's default "
             "http2_max_concurrent_streams is 128).")
    L.append("")
    throughput_table(scen["m"], L)
    L.append("")

    qn = meta.get("quic_n", "?")
    L.append(f"## (g) HTTP/3 over QUIC, `flak target --tls --http3`, 50 slots, {qn} requests")
    L.append("")
    L.append(f"`flak --threads 1 --http3 --insecure -n {qn} -c 50` (one QUIC connection per slot), and "
             f"`flak --threads 1 --http2 --insecure -n {qn} -c 50` to the same server over TCP + TLS for "
             "comparison; the target runs with one thread on CPU 0. No peer: Debian's h2load is built "
             "without QUIC. CPU per request is the figure to watch: QUIC runs in user space, encryption "
             "and loss recovery included.")
    L.append("")
    throughput_table(scen["g"], L)
    L.append("")

    ad = meta.get("acc_dur", "?")
    L.append(f"## (c) Accuracy: `flak target` `/delay/20`, 100 connections, {ad} s")
    L.append("")
    L.append("The target runs with one thread on CPU 0; wrk and flak run back to back in each repetition. "
             "Both should report about 20 ms plus the loopback and server overhead; what matters is "
             "that they agree.")
    L.append("")
    if acc:
        L.append("| rep | wrk p50 ms | flak p50 ms | flak − wrk ms | wrk p99 ms | flak p99 ms |")
        L.append("|---|---|---|---|---|---|")
        for x in acc:
            L.append(f"| {x['rep']} | {x['wrk_p50']:.3f} | {x['flak_p50']:.3f} | {x['diff']:+.3f} | "
                     f"{fmt(x['wrk_p99'], 3)} | {fmt(x['flak_p99'], 3)} |")
        L.append(f"| median | {fmt(g('c', 'wrk', 'p50_ms'), 3)} | {fmt(g('c', 'flak', 'p50_ms'), 3)} | "
                 f"{acc_diff:+.3f} | {fmt(g('c', 'wrk', 'p99_ms'), 3)} | {fmt(g('c', 'flak', 'p99_ms'), 3)} |")
    else:
        L.append("No repetition has results from both wrk and flak.")
    for t in tools_in(scen["c"]):
        for r in scen["c"][t]["reasons"]:
            L.append(f"\n- {t}: {r}")
    L.append("")

    L.append(f"## (d) Constant rate, frozen server: `flak -q 1000 -z {int(T)}s -c 200`, target stopped for {F:g} s")
    L.append("")
    L.append(f"`flak target` (one thread, CPU 0) gets SIGSTOP {meta.get('frozen_at', '?')} s into the run "
             f"and SIGCONT {F:g} s later. Analytic corrected p99: {F:g}/{T:g} of the intended requests "
             f"wait uniformly 0–{F:g} s, so the slowest 1% start at {F:g} s − 0.01 × {T:g} s = "
             f"**{analytic_p99_ms:.0f} ms**. The uncorrected latency counts from each request's actual "
             "send; with `-c 200` the 200 requests caught in flight by the freeze (2% of all) also wait "
             "up to 1 s, so the uncorrected p99 is high too, while its mean shows how much waiting "
             "it does not see.")
    L.append("")
    if frozen:
        L.append("| rep | requests | corrected p50 | corrected p90 | corrected p95 | **corrected p99** | "
                 "corrected mean | uncorrected p90 | uncorrected p99 | uncorrected mean | p99 ÷ analytic |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for x in frozen:
            L.append(f"| {x['rep']} | {fmt(x.get('requests'))} | {fmt(x.get('p50_ms'))} | {fmt(x.get('p90_ms'))} | "
                     f"{fmt(x.get('p95_ms'))} | **{fmt(x.get('p99_ms'))}** | {fmt(x.get('mean_ms'))} | "
                     f"{fmt(x.get('unc_p90_ms'))} | {fmt(x.get('unc_p99_ms'))} | {fmt(x.get('unc_mean_ms'))} | "
                     f"{fmt(x.get('ratio'), 3)} |")
        L.append("")
        L.append("All latencies in ms.")
        lag = median([x["p50_ms"] - x["unc_p50_ms"] for x in frozen
                      if x.get("p50_ms") is not None and x.get("unc_p50_ms") is not None])
        if lag is not None:
            L.append(f"Corrected minus uncorrected p50 (median over repetitions): {lag:.3f} ms. Away from "
                     "the freeze the two should agree; the difference is how late flak sends a paced "
                     "request after its intended start.")
    else:
        L.append("No successful run.")
    for t in tools_in(scen["d"]):
        for r in scen["d"][t]["reasons"]:
            L.append(f"\n- {t}: {r}")
    L.append("")

    L.append("## (e) Memory of flak against nginx")
    L.append("")
    L.append(f"`flak --threads 1 -c 50 -n 1000000`, `-n 10000000`, and `-c 10000 -z {meta.get('conns_dur', '?')}s` "
             f"(open-files limit raised in a subshell, up to the hard limit {meta.get('fd_limit', '?')}). "
             "Peak RSS is `/usr/bin/time`'s maximum resident set size.")
    L.append("")
    L.append("| run | runs ok | requests | errors | req/s | peak RSS MiB | CPU s / 100k req |")
    L.append("|---|---|---|---|---|---|---|")
    for s, name in (("e1e6", "1e6 requests, 50 connections"), ("e1e7", "1e7 requests, 50 connections"),
                    ("e10k", "10,000 connections")):
        a = scen[s].get("flak")
        if not a:
            L.append(f"| {name} | 0/0 | not run | | | | |")
        elif not a["ok"]:
            L.append(f"| {name} | 0/{a['n']} | {'; '.join(a['reasons'])} | | | | |")
        else:
            L.append(f"| {name} | {a['ok']}/{a['n']} | {fmt(a.get('requests'))} | {fmt(a.get('errors'))} | "
                     f"{fmt(a.get('rps'))} | {fmt(mib(a.get('rss_kib')), 1)} | {fmt(a.get('cpu_per_100k'), 3)} |")
    L.append("")

    L.append("## Per-run numbers")
    L.append("")
    L.append("<details><summary>Every run, in the order it ran</summary>")
    L.append("")
    L.append("| scenario | tool | rep | status | req/s | requests | CPU s | peak RSS MiB | p50 ms | p99 ms | CPU 0 busy | others on CPU 1 | wall s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        m = r.get("metrics", {}) if r["status"] == "ok" else {}
        status = r["status"] if r["status"] == "ok" else f"{r['status']}: {r.get('reason', '')}"
        L.append(f"| {r['scenario']} | {r['tool']} | {r['rep']} | {status} | {fmt(m.get('rps'))} | "
                 f"{fmt(m.get('requests'))} | {fmt(m.get('cpu_s'))} | {fmt(mib(m.get('rss_kib')), 1)} | "
                 f"{fmt(m.get('p50_ms'), 3)} | {fmt(m.get('p99_ms'), 3)} | {pct(m.get('cpu0_busy_pct'))} | "
                 f"{pct(m.get('others_cpu1_pct'))} | {r['wall_s']} |")
    L.append("")
    L.append("</details>")
    L.append("")

    browser_path = os.path.join(out, "browser.json")
    if os.path.exists(browser_path):
        with open(browser_path) as f:
            b = json.load(f)
        L.append("## (f) The browser app vs a hand-written fetch loop (headless Chromium)")
        L.append("")
        L.append(f"`node bench/browser-bench.mjs` ({b['requests']} requests per run, median of {b['reps']} interleaved runs; "
                 "same page origin, same in-flight limit, `cache: no-store`). Target: app ≥ 0.97× the loop.")
        L.append("")
        L.append("| protocol | in flight | app req/s | JS loop req/s | app ÷ loop |")
        L.append("|---|---|---|---|---|")
        for r in b["rows"]:
            L.append(f"| {r['proto']} | {r['c']} | {r['app']:.1f} | {r['js']:.1f} | {r['ratio']:.2f}× |")
        L.append("")
        lt = b["long"]
        bundle = b["bundle"]
        total = bundle["wasm"] + bundle["js"] + bundle["css"]
        L.append(f"- Main-thread tasks over 50 ms during an app run (in flight 50): {lt['count']}, longest {lt['max']:.0f} ms (target: none).")
        L.append(f"- Transfer size, gzip -9: wasm {bundle['wasm'] / 1000:.1f} KB + JS {bundle['js'] / 1000:.1f} KB + CSS {bundle['css'] / 1000:.1f} KB "
                 f"= {total / 1000:.1f} KB (budget ≤ 350 KB).")
        L.append("")
    log_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tuning-log.md")
    if os.path.exists(log_path):
        with open(log_path) as f:
            L.append(f.read().rstrip())
        L.append("")

    os.makedirs(os.path.dirname(os.path.abspath(md_path)), exist_ok=True)
    tmp = md_path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(L))
    os.replace(tmp, md_path)
    for t in targets:
        print(f"{t['status']:>12}  {t['what']}: {t['detail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
