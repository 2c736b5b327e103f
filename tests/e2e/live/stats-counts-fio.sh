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

# field JSON KEY: the first integer member KEY (the report's total comes before its queues).
field() { grep -o "\"$2\":[0-9]*" <<<"$1" | head -1 | cut -d: -f2; }
# nth_field JSON KEY N: the Nth "KEY" : N of fio's JSON (1 read, 2 write).
fio_field() { grep -o "\"$2\" : [0-9]*" "$1" | sed -n "${3}p" | awk '{ print $3 }'; }
# shellcheck disable=SC2317  # called through check
# within_1pct WANT GOT
within_1pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d * 100 <= a) }'
}
# prom_sum TEXT METRIC: the sum over queues of a counter of volume v0.
prom_sum() { grep "^$2{volume=\"v0\"," <<<"$1" | awk '{ s += $2 } END { print s + 0 }'; }

check "daemon starts" start_gate
expect "volume on a file, 2 queues" ok drive add d0 "$W/d0.img" --size 64M
expect "disk" ok disk create k0 d0
expect "volume" ok volume create v0 --disk k0 --size 64M --queues 2
V0=$(dev_of v0)
before=$(ctl --json stats v0)
for bs in 4k 64k; do
	check "fio randrw bs=$bs" fio --name=mix --filename="$V0" --direct=1 --ioengine=io_uring \
		--rw=randrw --rwmixread=60 --bs=$bs --iodepth=16 --numjobs=2 --size=32M \
		--offset_increment=32M --io_size=8M --group_reporting --output-format=json \
		--output="$W/fio-$bs.json"
done
after=$(ctl --json stats v0)
prom=$(ctl stats --prometheus)
for dir in read write; do
	n=1
	[ $dir = write ] && n=2
	ios=0 bytes=0
	for bs in 4k 64k; do
		ios=$((ios + $(fio_field "$W/fio-$bs.json" total_ios $n)))
		bytes=$((bytes + $(fio_field "$W/fio-$bs.json" io_bytes $n)))
	done
	got_ios=$(($(field "$after" ${dir}s) - $(field "$before" ${dir}s)))
	got_bytes=$(($(field "$after" ${dir}_bytes) - $(field "$before" ${dir}_bytes)))
	note "${dir}s: fio $ios ($bytes bytes), stats $got_ios ($got_bytes bytes)"
	check "${dir}s counted within 1% of fio's" within_1pct "$ios" "$got_ios"
	check "${dir} bytes counted within 1% of fio's" within_1pct "$bytes" "$got_bytes"
done
check "prometheus: reads_total is the stats count" test "$(prom_sum "$prom" blkgate_reads_total)" = "$(field "$after" reads)"
check "prometheus: written_bytes_total is the stats count" test "$(prom_sum "$prom" blkgate_written_bytes_total)" = "$(field "$after" write_bytes)"
check "prometheus: the read histogram counts every read" \
	test "$(grep '^blkgate_request_latency_seconds_count{volume="v0",op="read"}' <<<"$prom" | awk '{ print $2 }')" = "$(field "$after" reads)"
check "a latency percentile was measured" test "$(field "$after" read_p99_ns)" -gt 0
check "stats --watch prints two reports" sh -c "blkgatectl --socket $SOCK stats v0 --watch 1 --count 2 | grep -c '^VOLUME' | grep -qx 2"
expect "stats of a volume that does not exist" not-found stats nope
summary
