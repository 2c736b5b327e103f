#!/bin/bash
# bench/vm-recovery.sh — the recovery part of bench/run; runs INSIDE the VM (tests/vm/run).
#
# For each repetition and each kind (crash: kill -9 of the daemon; handover: `blkgatectl
# shutdown --keep-devices`), fio writes 4k at random at QD 16 on a file volume (O_DIRECT,
# time-based); after 3 s the daemon goes away, a 4k O_DIRECT read is issued while none runs
# (it waits), and the next daemon is started at once. Measured, per repetition:
#   recovery_ms  from the new daemon's exec to the first request served again: the completion
#                of that read
#   kernel_ms    the device takeover itself, as the daemon logs it (START_USER_RECOVERY ..
#                END_USER_RECOVERY, queue threads included)
#   stall_ms     the longest completion latency fio saw across it (clat max): the whole pause
#                an application sees, the time without a daemon included
# Output: $BENCH_OUT/recovery.tsv, one line per repetition: kind rep recovery_ms kernel_ms
# stall_ms fio_exit_status. Environment: BENCH_RECOVERY_REPS (default 10), BENCH_QUEUES (2).
# shellcheck disable=SC2119 # start_gate takes daemon arguments; none here
set -uo pipefail
export LC_ALL=C
export E2E_WORKDIR=/tmp/bench
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
. "${BLKGATE_VM_REPO:-/repo}/tests/e2e/lib.sh"

OUT=${BENCH_OUT:-/share}
REPS=${BENCH_RECOVERY_REPS:-10}
Q=${BENCH_QUEUES:-2}
mkdir -p "$OUT" "$W/data"
: >"$OUT/recovery.tsv"
echo "vm_kernel $(uname -r)" >"$OUT/recovery-env.txt"

# Microseconds now (bash's clock: the VM's date is busybox's, without %N).
now_us() { echo "${EPOCHREALTIME/./}"; }
# The write clat max of a fio JSON output, in ms.
clat_max_ms() {
	awk '/"write" : \{/ { w = 1 } w && /"clat_ns" : \{/ { c = 1 }
		w && c && /"max" :/ { gsub(/[^0-9]/, ""); printf "%d\n", $0 / 1000000; exit }' "$1"
}

start_gate || { echo "FAILED: daemon"; exit 1; }
if ! { ctl drive add d0 "$W/data/d0.img" --size 256M && ctl disk create k0 d0 &&
	ctl volume create v0 --disk k0 --size 192M --queues "$Q"; } >/dev/null; then
	echo "FAILED: setup"
	exit 1
fi
V=$(dev_of v0)
dd if=/dev/zero of="$V" bs=1M count=192 oflag=direct 2>/dev/null

for rep in $(seq "$REPS"); do
	for kind in crash handover; do
		fio --name=r --filename="$V" --rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio \
			--direct=1 --time_based --runtime=7 --output-format=json --output="$W/fio.json" \
			>/dev/null 2>&1 &
		fpid=$!
		sleep 3
		if [ $kind = crash ]; then
			kill -KILL "$GPID"
			wait "$GPID" 2>/dev/null
		else
			ctl shutdown --keep-devices >/dev/null
			wait "$GPID"
		fi
		GPID=
		rm -f "$W/probe.done"
		(dd if="$V" of=/dev/null bs=4k count=1 skip=$((rep * 7)) iflag=direct 2>/dev/null
			now_us >"$W/probe.done") &
		ppid=$!
		sleep 0.2
		t0=$(now_us)
		start_gate || { echo "FAILED: restart ($kind $rep)"; exit 1; }
		wait "$ppid"
		recovery=$((($(cat "$W/probe.done") - t0) / 1000))
		kernel=$(sed -n 's/.*volume v0: recovered .* in \([0-9]*\)\.[0-9]* ms.*/\1/p' "$W/gate.log" | tail -n 1)
		wait "$fpid"
		frc=$?
		stall=$(clat_max_ms "$W/fio.json")
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' $kind "$rep" "$recovery" "${kernel:-?}" "${stall:-?}" "$frc" \
			>>"$OUT/recovery.tsv"
		echo "[vm] $kind $rep: recovery ${recovery} ms (takeover ${kernel:-?} ms), fio's longest stall ${stall:-?} ms, fio exit $frc"
		[ $frc = 0 ] || echo "FAILED: fio saw an error ($kind $rep)"
	done
done
stop_gate
