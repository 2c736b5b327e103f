#!/usr/bin/python3
"""bench/test_report.py — checks bench/report.py on a synthetic result directory (no VM, no
fio): each target is the median of the per-repetition paired ratios, met by its own comparison
and threshold, with the count of repetitions that met it alone; the Markdown says the same.
Run by meson's unit suite; exit 0 when every check holds."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "report.py")


def fio_json(iops, write=False):
    side = {"io_bytes": 4096, "iops": iops,
            "clat_ns": {"percentile": {"50.000000": 100000, "99.000000": 400000}}}
    empty = {"io_bytes": 0, "iops": 0}
    return {"jobs": [{"read": empty if write else side, "write": side if write else empty}]}


class ReportTest(unittest.TestCase):
    def run_report(self, kernel, pairs):
        """pairs: {(kind, workload): [(ours, peer), ...]} IOPS per repetition, written as fio
        JSON with the runs.tsv index bench/vm-bench.sh writes; returns latest.json and .md."""
        res = tempfile.mkdtemp(prefix="report-test.")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", res], check=True))
        vm = os.path.join(res, "vm")
        os.makedirs(os.path.join(vm, "fio"))
        with open(os.path.join(res, "host.txt"), "w") as f:
            f.write("date 2026-12-04T00:00Z\nmode full\ncommit test\ncores 2\n")
        with open(os.path.join(vm, "env.txt"), "w") as f:
            f.write(f"kernel {kernel}\nreps 5\n")
        with open(os.path.join(vm, "runs.tsv"), "w") as idx:
            for (kind, wl), reps in pairs.items():
                peer = "loop" if kind == "file" else "null_blk"
                for rep, (ours, theirs) in enumerate(reps, 1):
                    for who, iops in ((f"blkgate-{kind}", ours), (peer, theirs)):
                        path = f"fio/{kind}-{wl}-{who}-{rep}.json"
                        with open(os.path.join(vm, path), "w") as f:
                            json.dump(fio_json(iops, write=wl.startswith(("rw", "sw"))), f)
                        idx.write(f"{kind}\t{wl}\t{who}\t{rep}\t{path}\n")
        out = subprocess.run([sys.executable, REPORT, res, res], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(os.path.join(res, "latest.json")) as f:
            j = json.load(f)
        with open(os.path.join(res, "latest.md")) as f:
            md = f.read()
        return {t["target"]: t for t in j["targets"]}, md, out.stdout

    def test_median_of_paired_ratios_and_reps_met(self):
        # rw4k-qd128 on 7.x (>= 1.1x loop): ratios 1.20, 1.05, 1.12, 0.90, 1.30 -> median 1.12,
        # met; 3 of 5 alone. rr4k-qd128: 1.00, 1.09, 1.11, 1.02, 1.05 -> 1.05, missed; 1 of 5.
        t, md, stdout = self.run_report("7.2.13+deb14-amd64", {
            ("file", "rw4k-qd128"): [(120, 100), (105, 100), (112, 100), (90, 100), (130, 100)],
            ("file", "rr4k-qd128"): [(100, 100), (109, 100), (111, 100), (102, 100), (105, 100)],
        })
        w = t["blkgate file >= 1.1x loop IOPS, rw4k-qd128"]
        self.assertAlmostEqual(w["measured"], 1.12)
        self.assertTrue(w["met"])
        self.assertEqual((w["compare"], w["threshold"], w["reps_met"]), (">=", 1.1, 3))
        self.assertEqual(w["reps"], [1.2, 1.05, 1.12, 0.9, 1.3])
        r = t["blkgate file >= 1.1x loop IOPS, rr4k-qd128"]
        self.assertAlmostEqual(r["measured"], 1.05)
        self.assertFalse(r["met"])
        self.assertEqual(r["reps_met"], 1)
        self.assertIn("| blkgate file >= 1.1x loop IOPS, rw4k-qd128 | 1.12x | met | 3 of 5 (0.90–1.30x) |", md)
        self.assertIn("| blkgate file >= 1.1x loop IOPS, rr4k-qd128 | 1.05x | **missed** | 1 of 5 (1.00–1.11x) |", md)
        self.assertIn("MISSED  blkgate file >= 1.1x loop IOPS, rr4k-qd128: 1.05; repetitions: 1 of 5", stdout)

    def test_kernel_series_picks_the_thresholds(self):
        # The same pair is judged against 6.12's floor (1.0x) on a 6.x kernel.
        t, _, _ = self.run_report("6.12.118+deb12-amd64", {
            ("file", "rr4k-qd128"): [(100, 100), (109, 100), (111, 100), (102, 100), (105, 100)],
            ("null", "rr4k-qd128"): [(70, 100), (72, 100), (69, 100), (71, 100), (75, 100)],
        })
        self.assertTrue(t["blkgate file >= 1.0x loop IOPS, rr4k-qd128"]["met"])
        self.assertEqual(t["blkgate file >= 1.0x loop IOPS, rr4k-qd128"]["reps_met"], 5)
        n = t["blkgate null >= 0.7x null_blk IOPS, rr4k-qd128"]
        self.assertAlmostEqual(n["measured"], 0.71)
        self.assertEqual((n["met"], n["reps_met"]), (True, 4))

    def test_ratio_on_its_threshold_gets_a_third_digit(self):
        # 1.096 rounds to 1.10 but misses 1.1: the table must not read "1.10x | **missed**".
        _, md, _ = self.run_report("7.2.13+deb14-amd64", {
            ("file", "rw4k-qd32"): [(1096, 1000)] * 5,
        })
        self.assertIn("| blkgate file >= 1.1x loop IOPS, rw4k-qd32 | 1.096x | **missed** | 0 of 5", md)


if __name__ == "__main__":
    unittest.main()
