#!/bin/bash
# live/stats-counts-fio.sh — `blkgatectl stats` counts what fio did, within 1%: reads and
# writes, their number and their bytes, separately (fio randrw, O_DIRECT, 4k and 64k); the
# Prometheus text carries the same counts, and its latency histogram counts every request.
#   tests/vm/run tests/e2e/live/stats-counts-fio.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl fio
require_ublk

# prom_sum TEXT METRIC: the sum over queues of a counter of volume v0.
prom_sum() { grep "^$2{volume=\"v0\"," <<<"$1" | awk '{ s += $2 } END { print s + 0 }'; }

check "daemon starts" start_gate
expect "volume on a file, 2 queues" ok drive add d0 "$W/d0.img" --size 64M
expect "disk" ok disk create k0 d0
expect "volume" ok volume create v0 --disk k0 --size 64M --queues 2
V0=$(dev_of v0)
before=$(ctl --json stats v0)
fio_randrw "$V0"
after=$(ctl --json stats v0)
prom=$(ctl stats --prometheus)
check_stats_vs_fio "$before" "$after"
check "prometheus: reads_total is the stats count" test "$(prom_sum "$prom" blkgate_reads_total)" = "$(stats_field "$after" reads)"
check "prometheus: written_bytes_total is the stats count" test "$(prom_sum "$prom" blkgate_written_bytes_total)" = "$(stats_field "$after" write_bytes)"
check "prometheus: the read histogram counts every read" \
	test "$(grep '^blkgate_request_latency_seconds_count{volume="v0",op="read"}' <<<"$prom" | awk '{ print $2 }')" = "$(stats_field "$after" reads)"
check "a latency percentile was measured" test "$(stats_field "$after" read_p99_ns)" -gt 0
check "stats --watch prints two reports" sh -c "blkgatectl --socket $SOCK stats v0 --watch 1 --count 2 | grep -c '^VOLUME' | grep -qx 2"
expect "stats of a volume that does not exist" not-found stats nope
summary
