#!/bin/bash
# bench/experiments/batch-io-vm.sh — runs INSIDE the VM (tests/vm/run), with a blkgate built
# from this tree plus batch-io.patch (see README.md here): one daemon as shipped, a second one
# with BLKGATE_TEST_BATCH=1 (its devices take UBLK_F_BATCH_IO), measured side by side in this
# boot against null_blk and loop, interleaved (odd repetitions in one order, even ones in the
# other). Not part of bench/run: the patch is an experiment that was not kept.
#
# First a correctness check of the batched path (a mem volume: 64 MiB written and read back,
# then fio's crc32c verify at QD 128), then, per repetition and workload (4k random read and
# write at QD 128, and QD 32 unless EXP_QD128_ONLY=1): null, null batched, null_blk; file, file
# batched, loop (the same backing file on ext4 on brd). Lines of $BENCH_OUT/exp.tsv:
# workload, target (n nb nullblk f fb loop), repetition, IOPS, the daemon's CPU ticks in the run.
#
# Environment: EXP_ONLY (null, file or both; default both), BENCH_REPS (3), BENCH_RUNTIME (2),
# BENCH_RAMP (0.5), EXP_QD128_ONLY (0), BENCH_OUT (/share).
set -uo pipefail
export LC_ALL=C
export E2E_WORKDIR=/tmp/bench
# shellcheck source=../../tests/e2e/lib.sh
. "${BLKGATE_VM_REPO:-/repo}/tests/e2e/lib.sh"

OUT=${BENCH_OUT:-/share}
RUNTIME=${BENCH_RUNTIME:-2}
RAMP=${BENCH_RAMP:-0.5}
REPS=${BENCH_REPS:-3}
ONLY=${EXP_ONLY:-null file}
ONLY=${ONLY//,/ }
Q=2
DEPTH=128
SIZE_MB=256
MNT=/mnt/bench
T0=$(date +%s)
progress() { local t=$(($(date +%s) - T0)); printf '[vm %02d:%02d] %s\n' $((t / 60)) $((t % 60)) "$*"; }
die() { # to stderr: also called inside $(...)
	local f
	{
		progress "FAILED: $*"
		for f in "$W"/gate*.log; do
			echo "== $f"
			tail -n 20 "$f"
		done
	} >&2
	exit 1
}
wants() { [[ " $ONLY " == *" $1 "* ]]; }
mkdir -p "$OUT/fio"
: >"$OUT/exp.tsv"

# fio_run ID DEV RW BS QD: prints the run's IOPS
fio_run() {
	fio --name=bench --filename="$2" --ioengine=io_uring --direct=1 --rw="$3" --bs="$4" \
		--iodepth="$5" --size=${SIZE_MB}M --norandommap --randrepeat=0 --time_based \
		--runtime="$RUNTIME" --ramp_time="$RAMP" --output-format=json \
		--output="$OUT/fio/$1.json" >/dev/null 2>"$W/fio.err" || { echo 0; return 1; }
	jq -r '.jobs[0] | (if .read.io_bytes > 0 then .read else .write end) | .iops | floor' \
		"$OUT/fio/$1.json"
}
ticks() {
	local f
	read -ra f <"/proc/$1/stat" || return 0
	echo $((f[13] + f[14]))
}

modprobe brd rd_nr=1 rd_size=$(((SIZE_MB + 128) * 1024)) max_part=0 || die "modprobe brd"
mkfs.ext4 -q -F /dev/ram0 || die "mkfs.ext4"
mkdir -p "$MNT" || die "mkdir $MNT"
mount /dev/ram0 "$MNT" || die "mount"
dd if=/dev/zero of=$MNT/file.img bs=1M count=$SIZE_MB oflag=direct status=none || die "dd"

# shellcheck disable=SC2119 # start_gate takes daemon arguments; none here
start_gate || die "start blkgate"
S2=$W/state-batch
mkdir -p "$S2"
BLKGATE_TEST_BATCH=1 blkgate --state-dir "$S2" 2>>"$W/gate-batch.log" &
PB=$!
ctlb() { blkgatectl --socket "$S2/control.sock" "$@"; }
for ((i = 0; i < 200; i++)); do ctlb ping >/dev/null 2>&1 && break; sleep 0.05; done

# mk CTL NAME BACKEND [FILE]: drive dNAME, disk kNAME, volume vNAME; prints its device
mk() {
	local c=$1 n=$2 b=$3 img=${4:-/tmp/bench/$2.img}
	"$c" drive add "d$n" "$img" --size ${SIZE_MB}M >/dev/null || die "drive add d$n"
	"$c" disk create "k$n" "d$n" >/dev/null || die "disk create k$n"
	"$c" volume create "v$n" --disk "k$n" --size ${SIZE_MB}M --queues $Q --depth $DEPTH \
		--backend "$b" >/dev/null || die "volume create v$n"
	json_field "$("$c" --json volume show "v$n")" device
}

DM=$(mk ctlb m mem) || exit 1
grep -q "batched commands (UBLK_F_BATCH_IO)" "$W/gate-batch.log" || die "vm is not batched"
head -c $((64 << 20)) /dev/urandom >"$W/pattern"
dd if="$W/pattern" of="$DM" bs=64k oflag=direct status=none || die "write $DM"
cmp <(dd if="$DM" bs=1M count=64 iflag=direct status=none) "$W/pattern" || die "$DM read back differs"
fio --name=verify --filename="$DM" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=128 --size=64M --verify=crc32c --do_verify=1 >/dev/null 2>"$W/verify.err" ||
	die "fio verify on $DM: $(tail -n 3 "$W/verify.err")"
progress "batched mem volume $DM: 64 MiB read back and fio's crc32c verify OK"

DN=$(mk ctl n null) || exit 1
DNB=$(mk ctlb nb null) || exit 1
DF=$(mk ctl f file $MNT/file.img) || exit 1
DFB=$(mk ctlb fb file $MNT/file.img) || exit 1
progress "null $DN, null batched $DNB, file $DF, file batched $DFB"
modprobe null_blk nr_devices=1 queue_mode=2 submit_queues=$Q hw_queue_depth=$DEPTH gb=1 ||
	die "modprobe null_blk"
LOOP=$(losetup --direct-io=on -f --show $MNT/file.img) || die "losetup"
# every tag of every queue touched once, from each CPU (as vm-bench.sh's warm); not measured
for d in "$DN" "$DNB" "$DF" "$DFB" /dev/nullb0 "$LOOP"; do
	for cpu in 0 1; do
		fio --name=warm --filename="$d" --ioengine=io_uring --direct=1 --rw=randwrite --bs=128k \
			--iodepth=128 --size=${SIZE_MB}M --norandommap --time_based --runtime=1 \
			--cpus_allowed=$cpu >/dev/null 2>&1 || progress "warm-up of $d on CPU $cpu failed"
	done
done

WLS=("rr4k-qd128 randread 4k 128" "rw4k-qd128 randwrite 4k 128")
[ "${EXP_QD128_ONLY:-0}" = 1 ] || WLS+=("rr4k-qd32 randread 4k 32" "rw4k-qd32 randwrite 4k 32")
SETS=()
wants null && SETS+=("n:$DN nb:$DNB nullblk:/dev/nullb0")
wants file && SETS+=("f:$DF fb:$DFB loop:$LOOP")
declare -A PID=([n]=$GPID [nb]=$PB [f]=$GPID [fb]=$PB)
for rep in $(seq "$REPS"); do
	for w in "${WLS[@]}"; do
		read -r name rw bs qd <<<"$w"
		for set in "${SETS[@]}"; do
			order=$set
			((rep % 2)) || order=$(tr ' ' '\n' <<<"$set" | tac | tr '\n' ' ')
			for t in $order; do
				tg=${t%%:*}
				dev=${t#*:}
				c0=
				[ -n "${PID[$tg]:-}" ] && c0=$(ticks "${PID[$tg]}")
				iops=$(fio_run "$name-$tg-$rep" "$dev" "$rw" "$bs" "$qd")
				cpu=-
				[ -n "$c0" ] && cpu=$(($(ticks "${PID[$tg]}") - c0))
				printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$tg" "$rep" "$iops" "$cpu" >>"$OUT/exp.tsv"
				progress "$name $tg rep $rep: $iops IOPS, daemon $cpu ticks"
			done
		done
	done
done
losetup -d "$LOOP"
rmmod null_blk
for v in vnb vfb vm; do ctlb volume delete "$v" >/dev/null || die "volume delete $v (batched)"; done
kill -TERM "$PB"
wait "$PB" || die "the batched daemon exited with an error"
progress "done"
