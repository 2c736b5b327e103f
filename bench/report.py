#!/usr/bin/python3
"""bench/report.py — turn one bench/run result directory into JSON, Markdown and plot data.

usage: bench/report.py RESULT_DIR OUT_DIR

RESULT_DIR holds what bench/run collected: host.txt, micro.json (Google Benchmark JSON),
engine.tsv + engine/*.json (native engine and fio), vm/ (runs.tsv, fio/*.json, toggle/*.json,
env.txt from bench/vm-bench.sh). Any part may be missing (bench/run --only ...).
Writes OUT_DIR/latest.json, OUT_DIR/latest.md and RESULT_DIR/plot-*.dat for bench/plot.gp.
Every figure is the median over the repetitions; every ratio is the median over the
repetitions of blkgate / reference, each from two runs made one right after the other.
"""
import json
import operator
import os
import re
import statistics
import sys


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def paired_ratio(a, b, key=None):
    """Median over the repetitions of a[rep] / b[rep]: each ratio compares two runs made one
    right after the other, so drifting host load cancels out better than in a ratio of medians."""
    return median(rep_ratios(a, b, key))


def rep_ratios(a, b, key=None):
    """a[rep] / b[rep] for each repetition both have, in repetition order."""
    if not a or not b:
        return []
    get = (lambda x: x) if key is None else (lambda x: x[key])
    rs = [ratio(get(a[r]), get(b[r])) for r in sorted(a) if r in b]
    return [x for x in rs if x is not None]


def read_kv(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition(" ")
                if k:
                    out[k] = v
    return out


def fio_metrics(path):
    """(iops, clat p50 us, clat p99 us) of a one-job fio JSON, read or write side."""
    try:
        with open(path) as f:
            j = json.load(f)
    except (OSError, ValueError):
        return None
    job = j["jobs"][0]
    side = job["read"] if job["read"]["io_bytes"] > 0 else job["write"]
    pct = side.get("clat_ns", {}).get("percentile", {})
    return {
        "iops": side["iops"],
        "p50_us": pct.get("50.000000", 0) / 1000.0,
        "p99_us": pct.get("99.000000", 0) / 1000.0,
    }


# ---- micro-benchmarks --------------------------------------------------------------------------
def micro(res):
    path = os.path.join(res, "micro.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        j = json.load(f)
    runs = {}
    for b in j.get("benchmarks", []):
        # Benchmarks with their own MinTime carry it in the name; the report keys without it.
        b["run_name"] = re.sub(r"/min_time:[0-9.]+", "", b["run_name"])
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if b.get("error_occurred"):
            runs.setdefault(b["run_name"], {"error": b.get("error_message", "error")})
            continue
        if b.get("run_type") == "aggregate":
            runs[b["run_name"]] = [b]  # the median of the repetitions
        else:
            runs.setdefault(b["run_name"], []).append(b)
    def val(name, key):
        r = runs.get(name)
        if not r or isinstance(r, dict):
            return None
        return median([x.get(key) for x in r])
    def ns_per_item(name):
        ips = val(name, "items_per_second")
        return 1e9 / ips if ips else None

    m = {"context": j.get("context", {}), "errors": {k: v["error"] for k, v in runs.items() if isinstance(v, dict)}}
    g = {}
    for shared in (0, 1):
        for t in (1, 2):
            n = f"BM_GateCheck/shared:{shared}/real_time/threads:{t}"
            g[f"{'shared' if shared else 'own'}_t{t}_cpu_ns"] = val(n, "cpu_ns_per_req")
            g[f"{'shared' if shared else 'own'}_t{t}_wall_ns"] = val(n, "wall_ns_per_req")
            n = f"BM_SharedWriteCounterexample/shared:{shared}/real_time/threads:{t}"
            g[f"counter_{'shared' if shared else 'own'}_t{t}_cpu_ns"] = val(n, "cpu_ns_per_req")
    g["check_ns"] = ns_per_item("BM_GateCheck/shared:0/real_time/threads:1")
    g["offline_ns"] = ns_per_item("BM_GateCheckRefused/not_ready_16:0")
    g["not_ready_16_ns"] = ns_per_item("BM_GateCheckRefused/not_ready_16:1")
    for k in ("own", "shared", "counter_own", "counter_shared"):
        g[f"{k}_scaling"] = ratio(g.get(f"{k}_t2_cpu_ns"), g.get(f"{k}_t1_cpu_ns"))
    m["gate"] = g
    h = {}
    for name in runs:
        if name.startswith("BM_Handler/"):
            # BM_Handler/mem:0/write:1/bs:4096/qd:32
            p = dict(kv.split(":") for kv in name.split("/")[1:])
            key = f"{'mem' if p['mem'] == '1' else 'null'}-{'write' if p['write'] == '1' else 'read'}-{p['bs']}-qd{p['qd']}"
            h[key] = ns_per_item(name)
    m["handler_ns"] = h
    ht = {}
    for shared in (0, 1):
        for t in (1, 2):
            ht[f"{'shared' if shared else 'own'}_t{t}_cpu_ns"] = val(
                f"BM_HandlerThreads/shared:{shared}/real_time/threads:{t}", "cpu_ns_per_req")
    # kept for the table: one volume, 1 -> 2 threads
    ht["t1_cpu_ns"], ht["t2_cpu_ns"] = ht["shared_t1_cpu_ns"], ht["shared_t2_cpu_ns"]
    ht["scaling"] = ratio(ht["t2_cpu_ns"], ht["t1_cpu_ns"])
    m["handler_threads"] = ht
    tg = {}
    for kind in (0, 1):
        for target in (0, 1, 2):
            n = f"BM_Toggle/handler:{kind}/target:{target}/real_time"
            key = f"{'handler' if kind else 'check'}-{['baseline', 'same', 'other'][target]}"
            tg[key] = {
                "toggle_us": val(n, "toggle_us"),
                "hammer_mreq_s": val(n, "hammer_mreq_s"),
                "hammer_vs_baseline": val(n, "hammer_ratio"),
            }
    m["toggle"] = tg
    gp = {}
    for q, busy in ((1, 0), (4, 0), (16, 0), (1, 1), (1, 2)):
        n = f"BM_GracePeriod/queues:{q}/busy:{busy}/real_time"
        gp[f"q{q}-{['idle', 'busy-check', 'busy-handler'][busy]}_ns"] = val(n, "real_time")
    m["grace_period"] = gp
    return m


# ---- native engine vs fio ----------------------------------------------------------------------
def engine(res):
    idx = os.path.join(res, "engine.tsv")
    if not os.path.exists(idx):
        return None
    raw = {}
    with open(idx) as f:
        for line in f:
            rw, who, rep, path = line.rstrip("\n").split("\t")
            try:
                with open(os.path.join(res, path)) as jf:
                    j = json.load(jf)
            except (OSError, ValueError):
                continue
            if who.startswith("fio"):
                job = j["jobs"][0]
                side = job["read"] if job["read"]["io_bytes"] > 0 else job["write"]
                iops = side["iops"]
            else:
                iops = j["iops"]
            raw.setdefault(rw, {}).setdefault(who, {})[rep] = iops
    out = {}
    for rw, d in raw.items():
        med = {who: median(list(v.values())) for who, v in d.items()}
        each = rep_ratios(d.get("engine-each"), d.get("fio"))
        out[rw] = {
            "iops": med,
            "runs": {who: [round(v[r]) for r in sorted(v)] for who, v in d.items()},
            "ratio_each": median(each),
            "ratio_each_reps": each,
            "ratio_batch": paired_ratio(d.get("engine-batch"), d.get("fio-batch")),
        }
    return out


# ---- the VM ------------------------------------------------------------------------------------
def vm(res):
    d = os.path.join(res, "vm")
    idx = os.path.join(d, "runs.tsv")
    if not os.path.exists(idx):
        return None
    raw = {}
    with open(idx) as f:
        for line in f:
            kind, wl, target, rep, path = line.rstrip("\n").split("\t")
            mm = fio_metrics(os.path.join(d, path))
            if mm:
                raw.setdefault(kind, {}).setdefault(wl, {}).setdefault(target, {})[rep] = mm
    out = {"env": read_kv(os.path.join(d, "env.txt")), "pairs": {}, "toggle": {}}
    for kind, wls in raw.items():
        for wl, targets in wls.items():
            agg = {}
            for t, runs in targets.items():
                agg[t] = {k: median([r[k] for r in runs.values()]) for k in ("iops", "p50_us", "p99_us")}
                agg[t]["runs_iops"] = [round(runs[r]["iops"]) for r in sorted(runs)]
            if kind.startswith("toggle"):
                variant = kind.split("-", 1)[1] if "-" in kind else "shared"
                a, b = agg.get("toggling"), agg.get("alone")
                iops = rep_ratios(targets.get("toggling"), targets.get("alone"), "iops")
                p99 = rep_ratios(targets.get("toggling"), targets.get("alone"), "p99_us")
                togs = []
                for name in sorted(os.listdir(os.path.join(d, "toggle"))):
                    if name.startswith(f"toggle-{variant}-toggling"):
                        try:
                            with open(os.path.join(d, "toggle", name)) as tf:
                                togs.append(json.load(tf))
                        except (OSError, ValueError):
                            pass
                out["toggle"][variant] = {
                    "workload": wl,
                    "alone": b,
                    "toggling": a,
                    "iops_ratio": median(iops),
                    "p99_ratio": median(p99),
                    "iops_ratio_reps": iops,
                    "p99_ratio_reps": p99,
                    "toggle_rate_hz": median([t["rate_hz"] for t in togs]),
                    "toggle_offline_p50_us": median([t["offline_us"]["p50"] for t in togs]),
                    "toggle_online_p50_us": median([t["online_us"]["p50"] for t in togs]),
                    "toggle_failures": sum(t.get("failures", 0) for t in togs),
                }
                continue
            # ours: blkgate, or (feat-*: kublk against itself) the pair's first target
            ours = next((t for t in agg if t.startswith("blkgate")), next(iter(agg), None))
            # the peer: a kernel device or another server, else blkgate in another mode (zc)
            ref = next((t for t in agg if t != ours and not t.startswith("blkgate")),
                       next((t for t in agg if t != ours), None))
            iops = rep_ratios(targets.get(ours), targets.get(ref), "iops")
            out["pairs"].setdefault(kind, {})[wl] = {
                "blkgate": agg.get(ours),
                "name": ours,
                "reference": agg.get(ref),
                "reference_name": ref,
                "iops_ratio": median(iops),
                "p99_ratio": paired_ratio(targets.get(ours), targets.get(ref), "p99_us"),
                "iops_ratio_reps": iops,
            }
    # daemon CPU per request (zc: zero copy vs copy), median over the repetitions
    cpu_idx = os.path.join(d, "cpu.tsv")
    if os.path.exists(cpu_idx):
        per = {}
        with open(cpu_idx) as f:
            for line in f:
                kind, wl, target, rep, cpu_us, ios = line.rstrip("\n").split("\t")
                if int(ios) > 0:
                    per.setdefault(kind, {}).setdefault(wl, {}).setdefault(target, []).append(
                        int(cpu_us) / int(ios))
        out["cpu_us_per_request"] = {k: {wl: {t: median(v) for t, v in ts.items()}
                                         for wl, ts in wls.items()} for k, wls in per.items()}
    off = os.path.join(d, "toggle", "offline.json")
    if os.path.exists(off):
        try:
            with open(off) as f:
                out["offline"] = json.load(f)
        except ValueError:
            pass
    return out


# ---- targets -----------------------------------------------------------------------------------
# (kind, workload, lowest IOPS ratio against the kernel's own device), per VM kernel series.
PEER_TARGETS = {
    "6": [("file", wl, 1.0) for wl in ("rr4k-qd32", "rr4k-qd128", "rw4k-qd32", "rw4k-qd128")]
    + [("null", wl, 0.7) for wl in ("rr4k-qd128", "rw4k-qd128")],
    "7": [("file", wl, 1.1) for wl in ("rr4k-qd32", "rr4k-qd128", "rw4k-qd32", "rw4k-qd128")]
    + [("file", wl, 1.0) for wl in ("sr128k-qd32", "sw128k-qd32")]
    + [("null", wl, 0.9) for wl in ("rr4k-qd128", "rw4k-qd128")],
}


def kernel_series(v):
    """'7' for a VM kernel 7.x or newer, else '6' (the 6.12 targets)."""
    k = (v.get("env") or {}).get("kernel", "")
    try:
        return "7" if int(k.split(".")[0]) >= 7 else "6"
    except ValueError:
        return "6"


# How a target compares its measure with its threshold.
COMPARE = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


def targets(r):
    t = []

    def add(name, value, detail, cmp, threshold, reps=None):
        """A target met when `value cmp threshold`; reps: the per-repetition values whose median
        is `value` (paired ratios), to say how many repetitions met it on their own."""
        met = COMPARE[cmp]
        entry = {"target": name, "measured": value, "detail": detail, "compare": cmp,
                 "threshold": threshold, "met": value is not None and met(value, threshold)}
        if reps:
            entry["reps"] = [round(x, 4) for x in reps]
            entry["reps_met"] = sum(1 for x in reps if met(x, threshold))
        t.append(entry)

    v = r.get("vm") or {}
    pairs = v.get("pairs", {})
    # The peers' targets per kernel: 6.12's, and issue 11's for 7.x (zero copy there).
    for kind, wl, floor in PEER_TARGETS[kernel_series(v)]:
        p = pairs.get(kind, {}).get(wl)
        if p:
            peer = "loop" if kind == "file" else "null_blk"
            add(f"blkgate {kind} >= {floor:.1f}x {peer} IOPS, {wl}", p["iops_ratio"],
                "VM, same backing file" if kind == "file" else "VM, same queue count", ">=", floor,
                p.get("iops_ratio_reps"))
    for kind, peer in (("kublk-zc", "kublk loop zero copy"), ("kublk-null", "kublk null")):
        for wl in ("rr4k-qd32", "rw4k-qd32", "sr128k-qd32", "sw128k-qd32"):
            p = pairs.get(kind, {}).get(wl)
            if p:
                add(f"blkgate {'null' if kind == 'kublk-null' else 'file'} >= 1.0x {peer} IOPS, {wl}",
                    p["iops_ratio"], "VM (7.x), same backing file / queue count", ">=", 1.0,
                    p.get("iops_ratio_reps"))
    zc_cpu = (v.get("cpu_us_per_request") or {}).get("zc", {})
    for wl in ("sr128k-qd32", "sw128k-qd32"):
        c = zc_cpu.get(wl, {})
        a, b = c.get("blkgate-file"), c.get("blkgate-copy")
        if a is not None and b:
            add(f"zero copy: daemon CPU per request < copy's, {wl}", a / b,
                "VM (7.x), CPU us per request, zero copy / copy", "<", 1.0)
    e = r.get("engine") or {}
    for rw in ("randread", "randwrite"):
        if rw in e:
            x = e[rw]["ratio_each"]
            add(f"native handler (file) >= 0.95x fio io_uring IOPS, 4k {rw} QD 32", x,
                "both submitting each request at once (fio's default)", ">=", 0.95,
                e[rw].get("ratio_each_reps"))
    for variant, tg in (v.get("toggle") or {}).items():
        if variant == "equal":
            continue  # a comparison (control work at the data path's priority), not a setup to meet it
        add(f"A's IOPS while B toggles >= 0.98x A alone ({variant})", tg["iops_ratio"],
            f"B toggled at {tg['toggle_rate_hz']}/s", ">=", 0.98, tg.get("iops_ratio_reps"))
        add(f"A's p99 while B toggles within 10% of A alone ({variant})", tg["p99_ratio"],
            "p99 ratio", "<=", 1.10, tg.get("p99_ratio_reps"))
    m = r.get("micro") or {}
    g = m.get("gate") or {}
    if g.get("check_ns") is not None:
        add("gate check < 2 ns per request", g["check_ns"], "ns, one thread", "<", 2.0)
    # A cache line written by both threads per request shows as extra CPU time per request when
    # two threads share a volume instead of each having its own (same work, same machine, same
    # hyperthread or memory-bandwidth effects). The counterexample (one atomic add per request
    # to a shared vs an own counter) measures what a single such write costs here. A path that
    # wrote one shared line per request would score >= 1; the noise is about +-0.3 (the handler
    # measures +-3 ns on a 2-core VM). Each path must score under 0.5.
    ht = m.get("handler_threads") or {}
    def penalty(same, own):
        return same - own if same is not None and own is not None else None
    shared_write = penalty(g.get("counter_shared_t2_cpu_ns"), g.get("counter_own_t2_cpu_ns"))
    extras = {"gate check": penalty(g.get("shared_t2_cpu_ns"), g.get("own_t2_cpu_ns")),
              "handler": penalty(ht.get("shared_t2_cpu_ns"), ht.get("own_t2_cpu_ns"))}
    extras = {k: v for k, v in extras.items() if v is not None}
    if extras and shared_write:
        worst = max(extras.values()) / shared_write
        add("no shared cache line written per request", worst,
            "CPU ns per request, 2 threads on one volume minus 2 threads on a volume each ("
            + ", ".join(f"{k} {v:+.2f}" for k, v in extras.items())
            + f"), as a fraction of what one shared write per request adds ({shared_write:+.2f} ns);"
            " the handler also runs with the volume's gate word and layout mprotect()ed read-only",
            "<", 0.5)
    return t


# ---- output ------------------------------------------------------------------------------------
def reps_cell(t):
    """"k of n (lowest-highest)" for a target measured as the median of paired repetitions: how
    many of them alone would have met it, and their spread; "–" for a single figure."""
    reps = t.get("reps")
    if not reps:
        return "–"
    return f"{t['reps_met']} of {len(reps)} ({min(reps):.2f}–{max(reps):.2f}x)"


def fmt(x, nd=0, suffix=""):
    if x is None:
        return "–"
    if isinstance(x, float) and nd == 0:
        return f"{x:,.0f}{suffix}"
    return f"{x:,.{nd}f}{suffix}"


WL_LABEL = {
    "rr4k-qd1": "4k rand read QD1", "rr4k-qd32": "4k rand read QD32", "rr4k-qd128": "4k rand read QD128",
    "rw4k-qd1": "4k rand write QD1", "rw4k-qd32": "4k rand write QD32", "rw4k-qd128": "4k rand write QD128",
    "sr128k-qd32": "128k seq read QD32", "sw128k-qd32": "128k seq write QD32",
    "dw4k-qd1": "4k rand O_DSYNC write QD1", "dw4k-qd32": "4k rand O_DSYNC write QD32",
    "dw128k-qd32": "128k seq O_DSYNC write QD32",
}
WL_ORDER = list(WL_LABEL)


def pair_names(kind_pairs):
    """(ours, reference): the two targets' names of one kind's pairs (None where unknown)."""
    ours = next((p["name"] for p in kind_pairs.values() if p.get("name")), None)
    ref = next((p["reference_name"] for p in kind_pairs.values() if p.get("reference_name")), None)
    return ours, ref


def cpu_table(L, per_wl, a, b, a_label, b_label):
    """Appends the daemon-CPU-per-request table of targets a and b (per_wl: workload -> target -> us)."""
    L.append(f"### Daemon CPU time per request, {a_label} vs {b_label} (utime + stime / requests, us)")
    L.append("")
    L.append(f"| workload | {a_label} | {b_label} | {b_label} - {a_label} |")
    L.append("|---|---:|---:|---:|")
    for wl in WL_ORDER:
        c = per_wl.get(wl)
        if not c:
            continue
        x, y = c.get(a), c.get(b)
        diff = y - x if x is not None and y is not None else None
        L.append(f"| {WL_LABEL[wl]} | {fmt(x, 1)} | {fmt(y, 1)} | {fmt(diff, 1)} |")
    L.append("")


def markdown(r):
    L = []
    host = r.get("host", {})
    v = r.get("vm") or {}
    env = v.get("env", {})
    L.append(f"Measured {r.get('date', '?')} ({r.get('mode', '?')} run, commit {r.get('commit', '?')}).")
    L.append("")
    L.append(f"**Host:** {host.get('cpu', '?')}, {host.get('cores', '?')} cores, "
             f"{host.get('mem_gib', '?')} GiB, Linux {host.get('kernel', '?')}"
             f" (load average {host.get('load_start', '?')} at the start, {host.get('load_end', '?')} at the end).")
    if env:
        L.append(f"**VM:** qemu TCG (software emulation), {env.get('vcpus', '?')} vCPUs, "
                 f"{env.get('mem_mb', '?')} MiB, Linux {env.get('kernel', '?')}, {env.get('fio', 'fio')}; "
                 f"every device {env.get('queues', '?')} queues x depth {env.get('depth', '?')}; "
                 f"fio {env.get('runtime', '?')} s (+{env.get('ramp', '?')} s ramp) per run, "
                 f"{env.get('reps', '?')} interleaved repetitions, medians.")
    L.append("")
    tg = targets(r)
    if tg:
        L.append("### Targets")
        L.append("")
        L.append("| target | measured | | repetitions that met it on their own |")
        L.append("|---|---:|---|---|")
        for t in tg:
            val = t["measured"]
            if val is None:
                s = "–"
            elif t["target"].startswith("gate check"):
                s = f"{val:.2f} ns"
            elif t["target"].startswith("no shared"):
                s = f"{val:.2f} of one shared write"
            else:
                s = f"{val:.2f}x"
                # A ratio that rounds onto its threshold: one more digit, so a miss reads as one.
                th = t.get("threshold")
                if th is not None and f"{val:.2f}" == f"{th:.2f}":
                    s = f"{val:.3f}x"
            L.append(f"| {t['target']} | {s} | {'met' if t['met'] else '**missed**'} | {reps_cell(t)} |")
        L.append("")
    pairs = v.get("pairs", {})
    for kind, title in (("file", "blkgate `file` volume vs loop device (direct-io=on), same file on ext4 on brd"),
                        ("null", "blkgate `null` volume vs null_blk"),
                        ("kublk-loop", "blkgate `file` volume vs kublk loop (copy), same file"),
                        ("kublk-zc", "blkgate `file` volume vs kublk loop with zero copy (--auto_zc), same file"),
                        ("kublk-null", "blkgate `null` volume vs kublk null"),
                        ("zc", "blkgate `file` volume, zero copy vs copy (second daemon, --data-path copy), same file"),
                        ("fua", "blkgate `file` volume taking FUA writes vs not (second daemon, --fua off: write + FLUSH), same file"),
                        ("feat-batch", "kublk null with UBLK_F_BATCH_IO (--batch) vs without"),
                        ("feat-batch-zc", "kublk loop zero copy (--auto_zc) with UBLK_F_BATCH_IO (--batch) vs without, same file"),
                        ("feat-perio", "kublk null with per-I/O daemons (--per_io_tasks --nthreads 4) vs one thread per queue")):
        if kind not in pairs:
            continue
        ours, ref = pair_names(pairs[kind])
        ours = "blkgate" if not ours or ours.startswith("blkgate") else ours
        ref = ref or "reference"
        L.append(f"### {title}")
        L.append("")
        L.append(f"| workload | {ours} IOPS | {ref} IOPS | ratio | {ours} p50 / p99 (us) | {ref} p50 / p99 (us) |")
        L.append("|---|---:|---:|---:|---:|---:|")
        for wl in WL_ORDER:
            p = pairs[kind].get(wl)
            if not p:
                continue
            a, b = p["blkgate"] or {}, p["reference"] or {}
            L.append(f"| {WL_LABEL[wl]} | {fmt(a.get('iops'))} | {fmt(b.get('iops'))} | "
                     f"{fmt(p['iops_ratio'], 2, 'x')} | {fmt(a.get('p50_us'))} / {fmt(a.get('p99_us'))} | "
                     f"{fmt(b.get('p50_us'))} / {fmt(b.get('p99_us'))} |")
        L.append("")
    # Daemon CPU per request of the pairs that record it: ours (zero copy vs copy) and kublk's
    # feature pairs, each target under its own label.
    cpu = v.get("cpu_us_per_request") or {}
    for kind in sorted(k for k in cpu if k.startswith("feat-")):
        a_name, b_name = pair_names(pairs.get(kind, {}))
        if a_name and b_name:
            cpu_table(L, cpu[kind], a_name, b_name, a_name, b_name)
    if cpu.get("zc"):
        cpu_table(L, cpu["zc"], "blkgate-file", "blkgate-copy", "zero copy", "copy")
    if cpu.get("fua"):
        cpu_table(L, cpu["fua"], "blkgate-file", "blkgate-nofua", "FUA", "write + FLUSH")
    tgl = v.get("toggle") or {}
    if tgl:
        L.append("### Volume A while volume B is toggled offline/online")
        L.append("")
        L.append("| variant | A alone IOPS | A while B toggles | IOPS ratio | p99 alone / toggling (us) | p99 ratio | B's toggles/s | B offline p50 (us) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for variant, x in tgl.items():
            a, b = x["alone"] or {}, x["toggling"] or {}
            L.append(f"| {variant} | {fmt(a.get('iops'))} | {fmt(b.get('iops'))} | {fmt(x['iops_ratio'], 2, 'x')} | "
                     f"{fmt(a.get('p99_us'))} / {fmt(b.get('p99_us'))} | {fmt(x['p99_ratio'], 2, 'x')} | "
                     f"{fmt(x['toggle_rate_hz'], 1)} | {fmt(x['toggle_offline_p50_us'])} |")
        L.append("")
        L.append(f"A: {next(iter(tgl.values()))['workload']} on a `null` volume. default: nothing "
                 "pinned, the daemon's defaults (control threads SCHED_IDLE), the toggler (the caller) "
                 "SCHED_IDLE too; equal: nothing pinned, `--control-priority 0` (control threads at "
                 "the queue threads' priority) and the toggler at normal priority; isolated: as "
                 "default, with fio and A's queue threads on CPU 0 and the daemon's control plane, "
                 "B, the toggler and the unbound kernel threads on CPU 1.")
        L.append("")
    off = v.get("offline")
    if off:
        L.append("### `volume offline` under QD 128 random writes (file volume)")
        L.append("")
        L.append("| calls | offline p50 | offline p99 | online p50 | online p99 |")
        L.append("|---:|---:|---:|---:|---:|")
        o, n = off["offline_us"], off["online_us"]
        L.append(f"| {o['n']} | {fmt(o['p50'] / 1000, 1)} ms | {fmt(o['p99'] / 1000, 1)} ms | "
                 f"{fmt(n['p50'] / 1000, 1)} ms | {fmt(n['p99'] / 1000, 1)} ms |")
        L.append("")
    e = r.get("engine")
    if e:
        L.append("### Native engine vs fio (host, file on the host's disk, 4k, QD 32)")
        L.append("")
        L.append("| workload | engine, submit each | fio (default) | ratio | engine, batched | fio, batched | ratio |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for rw, x in e.items():
            i = x["iops"]
            L.append(f"| 4k {rw} | {fmt(i.get('engine-each'))} | {fmt(i.get('fio'))} | {fmt(x['ratio_each'], 2, 'x')} | "
                     f"{fmt(i.get('engine-batch'))} | {fmt(i.get('fio-batch'))} | {fmt(x['ratio_batch'], 2, 'x')} |")
        L.append("")
    m = r.get("micro")
    if m:
        g, h, gp, tgm = m["gate"], m["handler_ns"], m["grace_period"], m["toggle"]
        L.append("### Micro-benchmarks (host, Google Benchmark, medians)")
        L.append("")
        L.append("| what | figure |")
        L.append("|---|---:|")
        L.append(f"| gate check (load + decide), one thread | {fmt(g.get('check_ns'), 2)} ns |")
        L.append(f"| gate check, CPU ns 1 → 2 threads, a word each / the same word | "
                 f"{fmt(g.get('own_t1_cpu_ns'), 2)} → {fmt(g.get('own_t2_cpu_ns'), 2)} / "
                 f"{fmt(g.get('shared_t1_cpu_ns'), 2)} → {fmt(g.get('shared_t2_cpu_ns'), 2)} |")
        L.append(f"| counterexample, + atomic add per request: own / shared counter, 1 → 2 threads | "
                 f"{fmt(g.get('counter_own_t1_cpu_ns'), 2)} → {fmt(g.get('counter_own_t2_cpu_ns'), 2)} / "
                 f"{fmt(g.get('counter_shared_t1_cpu_ns'), 2)} → {fmt(g.get('counter_shared_t2_cpu_ns'), 2)} ns |")
        L.append(f"| refused: offline / 16 drives, one not ready | {fmt(g.get('offline_ns'), 2)} / {fmt(g.get('not_ready_16_ns'), 2)} ns |")
        for k in sorted(h):
            L.append(f"| request through the handler, {k} | {fmt(h[k], 1)} ns |")
        ht = m["handler_threads"]
        L.append(f"| handler (null, write 4k, QD 32), CPU ns, 2 threads: a volume each / one volume | "
                 f"{fmt(ht.get('own_t2_cpu_ns'), 1)} / {fmt(ht.get('shared_t2_cpu_ns'), 1)} ns (1 thread: "
                 f"{fmt(ht.get('own_t1_cpu_ns'), 1)} / {fmt(ht.get('shared_t1_cpu_ns'), 1)}) |")
        what = {"same": "the hammered volume (its refused requests are cheap)", "other": "another volume"}
        for k, x in tgm.items():
            hammer, _, target = k.partition("-")
            if target == "baseline":
                continue
            L.append(f"| offline + online of {what[target]} every other period, {'handler' if hammer == 'handler' else 'bare check'} "
                     f"hammering | {fmt(x['toggle_us'], 1)} us per toggle; hammer at "
                     f"{fmt(x['hammer_vs_baseline'], 2, 'x')} of its rate in quiet periods |")
        for k, x in gp.items():
            L.append(f"| synchronize(), {k[:-3]} | {fmt(x, 0)} ns |")
        L.append("")
    return "\n".join(L) + "\n"


def plot_data(r, res):
    pairs = (r.get("vm") or {}).get("pairs", {})
    with open(os.path.join(res, "plot-vm.dat"), "w") as f:
        f.write("# workload blkgate-file loop blkgate-null null_blk (IOPS) then p99 us in the same order\n")
        for wl in WL_ORDER:
            row = [wl]
            for metric in ("iops", "p99_us"):
                for kind in ("file", "null"):
                    p = pairs.get(kind, {}).get(wl) or {}
                    for side in ("blkgate", "reference"):
                        x = (p.get(side) or {}).get(metric)
                        row.append("NaN" if x is None else f"{x:.1f}")
            f.write(" ".join(row) + "\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    res, out = sys.argv[1], sys.argv[2]
    meta = read_kv(os.path.join(res, "host.txt"))
    r = {
        "date": meta.pop("date", None),
        "mode": meta.pop("mode", None),
        "commit": meta.pop("commit", None),
        "host": meta,
        "micro": micro(res),
        "engine": engine(res),
        "vm": vm(res),
    }
    r["targets"] = targets(r)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "latest.json"), "w") as f:
        json.dump(r, f, indent=1, sort_keys=True)
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write(markdown(r))
    plot_data(r, res)
    for t in r["targets"]:
        val = t["measured"]
        print(f"  {'met   ' if t['met'] else 'MISSED'}  {t['target']}: {'-' if val is None else f'{val:.2f}'}"
              + (f"; repetitions: {reps_cell(t)}" if t.get("reps") else ""))


if __name__ == "__main__":
    main()
