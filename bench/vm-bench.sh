#!/bin/bash
# bench/vm-bench.sh — the end-to-end part of bench/run; runs INSIDE the VM (tests/vm/run).
#
# Every comparison runs in this one boot, side by side, interleaved and repeated (rep 1: A then
# B, rep 2: B then A, ...), so a noisy host slows both sides alike; the host takes medians.
#   file  blkgate `file` volume  vs  the loop device (direct-io=on), same backing file
#   null  blkgate `null` volume  vs  null_blk, same queue count and depth
#   for each workload: 4k random read and write at QD 1, 32, 128; 128k sequential read and
#   write (QD 32)
#   kublk (the kernel's own ublk server, bench/build-kublk; only where the VM has the binary
#   and the kernel UBLK_F_AUTO_BUF_REG, i.e. VM_KERNEL=unstable), at 4k random read and
#   write and 128k sequential read and write, QD 32:
#     kublk-loop  blkgate `file`  vs  kublk -t loop on the same file (copy)
#     kublk-zc    blkgate `file`  vs  kublk -t loop --auto_zc (zero copy, automatic buffer
#                 registration)
#     kublk-null  blkgate `null`  vs  kublk -t null
#   feat (with kublk): what two of the newest kernel features are worth before blkgate builds
#   them, measured on their reference implementation against itself, same workloads:
#     feat-batch     kublk -t null --batch (UBLK_F_BATCH_IO)  vs  kublk -t null
#     feat-batch-zc  kublk -t loop --auto_zc --batch          vs  kublk -t loop --auto_zc
#     feat-perio     kublk -t null --per_io_tasks --nthreads 4 (UBLK_F_PER_IO_DAEMON) vs
#                    kublk -t null
#     with each kublk daemon's CPU time per request in cpu.tsv
#   zc (where the kernel has UBLK_F_AUTO_BUF_REG): blkgate `file` (zero copy) vs a second
#   daemon's `file` volume on the same file with --data-path copy, same workloads as kublk;
#   for both, the daemon's CPU time (utime + stime from /proc/PID/stat) per request is
#   recorded in cpu.tsv (kind, workload, target, rep, cpu_us, requests)
#   fua   blkgate `file` volume taking FUA writes (--fua on, the default: each written with
#         RWF_DSYNC) vs a second daemon's `file` volume on the same file with --fua off (the
#         kernel follows each FUA write with a FLUSH, i.e. an fdatasync of the file), at O_DSYNC
#         writes (fio --sync=dsync: every write FUA): 4k random QD 1 and 32, 128k sequential QD 32
#   toggle  volume A (null) under fio while volume B is taken offline/online RATE times a
#           second (blkgate-bench-toggle), against A alone; variants default, equal, isolated
#   offline the time `volume offline` takes to return under QD 128 random-write load on a
#           file volume (and `volume online`), N times
# Raw results go to $BENCH_OUT (default /share): fio JSON per run, runs.tsv (one line per fio
# run), toggle/*.json, env.txt. Progress goes to stdout.
#
# Environment (bench/run sets these through VM_ENV):
#   BENCH_RUNTIME  seconds per fio run (default 4)      BENCH_RAMP    ramp seconds (default 1)
#   BENCH_REPS     repetitions of each pair (3)         BENCH_QUEUES  queues of every device (2)
#   BENCH_TOGGLE_RATE  toggles/s of volume B (100)      BENCH_OFFLINE_COUNT  offline calls (50)
#   BENCH_ONLY     space-separated subset of: file null kublk feat zc fua toggle offline
#                  (default: all)
set -uo pipefail
export LC_ALL=C
export E2E_WORKDIR=/tmp/bench
# shellcheck source=../tests/e2e/lib.sh
. "${BLKGATE_VM_REPO:-/repo}/tests/e2e/lib.sh"

OUT=${BENCH_OUT:-/share}
RUNTIME=${BENCH_RUNTIME:-4}
RAMP=${BENCH_RAMP:-1}
REPS=${BENCH_REPS:-3}
Q=${BENCH_QUEUES:-2}
DEPTH=128
RATE=${BENCH_TOGGLE_RATE:-100}
OFFLINE_COUNT=${BENCH_OFFLINE_COUNT:-50}
ONLY=${BENCH_ONLY:-file null kublk feat zc fua toggle offline}
ONLY=${ONLY//,/ } # VM_ENV values have no spaces: commas then
SIZE_MB=256
MNT=/mnt/bench
TOGGLER=$(command -v blkgate-bench-toggle || echo /usr/local/bin/blkgate-bench-toggle)

# name rw bs iodepth
WORKLOADS=(
	"rr4k-qd1 randread 4k 1"
	"rr4k-qd32 randread 4k 32"
	"rr4k-qd128 randread 4k 128"
	"rw4k-qd1 randwrite 4k 1"
	"rw4k-qd32 randwrite 4k 32"
	"rw4k-qd128 randwrite 4k 128"
	"sr128k-qd32 read 128k 32"
	"sw128k-qd32 write 128k 32"
)
# Taken only where a pair names them: name rw bs iodepth fio-args
DSYNC_WORKLOADS=(
	"dw4k-qd1 randwrite 4k 1 --sync=dsync"
	"dw4k-qd32 randwrite 4k 32 --sync=dsync"
	"dw128k-qd32 write 128k 32 --sync=dsync"
)

T0=$(date +%s)
progress() { local t=$(($(date +%s) - T0)); printf '[vm %02d:%02d] %s\n' $((t / 60)) $((t % 60)) "$*"; }
die() { progress "FAILED: $*"; [ -f "$W/gate.log" ] && tail -n 20 "$W/gate.log"; exit 1; }
wants() { [[ " $ONLY " == *" $1 "* ]]; }

mkdir -p "$OUT/fio" "$OUT/toggle"
: >"$OUT/runs.tsv"
: >"$OUT/cpu.tsv"

# fio_run ID DEV RW BS QD [extra fio args...]: one fio run, JSON to $OUT/fio/ID.json.
# Prints "IOPS p99us".
fio_run() {
	local id=$1 dev=$2 rw=$3 bs=$4 qd=$5
	shift 5
	fio --name=bench --filename="$dev" --ioengine=io_uring --direct=1 --rw="$rw" --bs="$bs" \
		--iodepth="$qd" --size=${SIZE_MB}M --norandommap --randrepeat=0 --time_based \
		--runtime="$RUNTIME" --ramp_time="$RAMP" --output-format=json \
		--output="$OUT/fio/$id.json" "$@" >/dev/null 2>"$W/fio.err" ||
		{ progress "fio $id failed: $(tail -n 3 "$W/fio.err" | tr '\n' ' ')"; echo "0 0"; return 1; }
	jq -r '.jobs[0] | (if .read.io_bytes > 0 then .read else .write end) |
		"\(.iops | floor) \((.clat_ns.percentile["99.000000"] // 0) / 1000 | floor)"' "$OUT/fio/$id.json"
}

# ---- environment -------------------------------------------------------------------------------
{
	echo "kernel $(uname -r)"
	echo "vcpus $(nproc)"
	echo "mem_mb $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
	echo "fio $(fio --version)"
	echo "queues $Q"
	echo "depth $DEPTH"
	echo "runtime $RUNTIME"
	echo "ramp $RAMP"
	echo "reps $REPS"
} >"$OUT/env.txt"
progress "kernel $(uname -r), $(nproc) vCPUs; fio ${RUNTIME}s (+${RAMP}s ramp) x $REPS reps; queues $Q"

# ---- backing store: ext4 on a RAM disk (brd), so O_DIRECT works for loop and blkgate ---------
modprobe brd rd_nr=1 rd_size=$(((SIZE_MB + 128) * 1024)) max_part=0 || die "modprobe brd"
mkfs.ext4 -q -F /dev/ram0 || die "mkfs.ext4"
mkdir -p "$MNT" || die "mkdir $MNT"
mount /dev/ram0 "$MNT" || die "mount"
# Written (not sparse, not unwritten extents): overwrites never allocate, for both sides.
dd if=/dev/zero of=$MNT/file.img bs=1M count=$SIZE_MB oflag=direct status=none || die "dd"
progress "backing file $MNT/file.img (${SIZE_MB} MiB, ext4 on brd)"

start_gate || die "start blkgate"
ctl drive add df $MNT/file.img --size ${SIZE_MB}M >/dev/null || die "drive add df"
ctl disk create kf df >/dev/null || die "disk create kf"
ctl volume create vf --disk kf --size ${SIZE_MB}M --queues "$Q" --depth $DEPTH --backend file >/dev/null ||
	die "volume create vf"
for v in n b; do
	ctl drive add d$v /tmp/bench/$v.img --size ${SIZE_MB}M >/dev/null || die "drive add d$v"
	ctl disk create k$v d$v >/dev/null || die "disk create k$v"
	ctl volume create v$v --disk k$v --size ${SIZE_MB}M --queues "$Q" --depth $DEPTH --backend null \
		>/dev/null || die "volume create v$v"
done
DEV_F=$(dev_of vf)
DEV_N=$(dev_of vn)
progress "blkgate volumes: vf (file) $DEV_F, vn (null) $DEV_N, vb (null, toggled) $(dev_of vb)"

# ---- A/B pairs ---------------------------------------------------------------------------------
KUBLK_WORKLOADS=(rr4k-qd32 rw4k-qd32 sr128k-qd32 sw128k-qd32)
KUBLK=$(command -v kublk || true)
# has_feature UBLK_F_NAME: the kernel reports it (--version's "ublk features" line; other lines
# name features the kernel lacks too: "kernel has zero copy (UBLK_F_AUTO_BUF_REG): no")
has_feature() { blkgate --version | grep '^ublk features' | grep -qw -- "$1"; }
if wants kublk && { [ -z "$KUBLK" ] || ! has_feature UBLK_F_AUTO_BUF_REG; }; then
	progress "kublk: skipped (needs the kublk binary, bench/build-kublk, and a kernel with UBLK_F_AUTO_BUF_REG)"
	ONLY=${ONLY/kublk/}
fi
if wants feat && { [ -z "$KUBLK" ] || ! has_feature UBLK_F_BATCH_IO; }; then
	progress "feat: skipped (needs the kublk binary and a kernel with UBLK_F_BATCH_IO)"
	ONLY=${ONLY/feat/}
fi
if wants zc && ! has_feature UBLK_F_AUTO_BUF_REG; then
	progress "zc: skipped (the kernel has no UBLK_F_AUTO_BUF_REG)"
	ONLY=${ONLY/zc/}
fi
total=0
for k in file null; do wants $k && total=$((total + ${#WORKLOADS[@]} * REPS * 2)); done
wants kublk && total=$((total + 3 * ${#KUBLK_WORKLOADS[@]} * REPS * 2))
wants zc && total=$((total + ${#KUBLK_WORKLOADS[@]} * REPS * 2))
wants fua && total=$((total + ${#DSYNC_WORKLOADS[@]} * REPS * 2))
wants feat && total=$((total + 3 * ${#KUBLK_WORKLOADS[@]} * REPS * 2))
n=0
# warm DEV...: touch every tag of every hardware queue once (a queue's request buffers are
# faulted in on first use, under THP as 2 MiB pages that TCG zeroes slowly), from each CPU so
# each CPU's queue gets requests; not measured.
warm() {
	local dev cpu
	for dev in "$@"; do
		for cpu in $(seq 0 $(($(nproc) - 1))); do
			fio --name=warm --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite --bs=128k \
				--iodepth=$DEPTH --size=${SIZE_MB}M --norandommap --time_based --runtime=1 \
				--cpus_allowed="$cpu" >/dev/null 2>&1 || progress "warm-up of $dev on CPU $cpu failed"
		done
	done
}

# CPU_PID[target]: the daemon serving that target, whose CPU time per request is recorded
declare -A CPU_PID=()
# cpu_ticks TARGET: utime + stime of its daemon (clock ticks), or nothing
cpu_ticks() {
	local pid=${CPU_PID[$1]:-} f
	[ -n "$pid" ] || return 0
	read -ra f <"/proc/$pid/stat" || return 0
	echo $((f[13] + f[14]))
}
# cpu_record TARGET TICKS-BEFORE KIND WORKLOAD REP: a cpu.tsv line (CPU us, requests done)
cpu_record() {
	[ -n "$2" ] || return 0
	local now hz=100 ios
	now=$(cpu_ticks "$1")
	ios=$(jq '.jobs[0] | .read.total_ios + .write.total_ios' "$OUT/fio/$3-$4-$1-$5.json" 2>/dev/null)
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$3" "$4" "$1" "$5" $(((now - $2) * 1000000 / hz)) "${ios:-0}" \
		>>"$OUT/cpu.tsv"
}

# pair KIND NAME_A DEV_A NAME_B DEV_B [WORKLOAD-NAME...]: every workload of WORKLOADS, or the
# ones named (of WORKLOADS and DSYNC_WORKLOADS)
pair() {
	local kind=$1 na=$2 da=$3 nb=$4 db=$5 rep w name rw bs qd extra order t dev res wls=() cpu0
	local all=("${WORKLOADS[@]}")
	shift 5
	[ $# -eq 0 ] || all+=("${DSYNC_WORKLOADS[@]}")
	for w in "${all[@]}"; do
		[ $# -eq 0 ] || [[ " $* " == *" ${w%% *} "* ]] && wls+=("$w")
	done
	warm "$da" "$db"
	for rep in $(seq "$REPS"); do
		for w in "${wls[@]}"; do
			read -r name rw bs qd extra <<<"$w"
			if ((rep % 2)); then order="$na:$da $nb:$db"; else order="$nb:$db $na:$da"; fi
			for t in $order; do
				dev=${t#*:}
				t=${t%%:*}
				n=$((n + 1))
				cpu0=$(cpu_ticks "$t")
				# shellcheck disable=SC2086 # extra: fio arguments, split on purpose
				res=$(fio_run "$kind-$name-$t-$rep" "$dev" "$rw" "$bs" "$qd" $extra)
				cpu_record "$t" "$cpu0" "$kind" "$name" "$rep"
				printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "$name" "$t" "$rep" "fio/$kind-$name-$t-$rep.json" \
					>>"$OUT/runs.tsv"
				progress "($n/$total) $kind $name $t rep $rep: ${res% *} IOPS, p99 ${res#* } us"
			done
		done
	done
}

if wants file; then
	LOOP=$(losetup --direct-io=on -f --show $MNT/file.img) || die "losetup"
	dio=$(cat /sys/block/"${LOOP#/dev/}"/loop/dio 2>/dev/null)
	echo "loop_dio $dio" >>"$OUT/env.txt"
	progress "loop device $LOOP on the same file, direct-io=$dio"
	[ "$dio" = 1 ] || progress "WARNING: the loop device is not using direct I/O"
	pair file blkgate-file "$DEV_F" loop "$LOOP"
	losetup -d "$LOOP"
fi

if wants null; then
	# Module defaults for everything not named here (irqmode=1: softirq completion).
	modprobe null_blk nr_devices=1 queue_mode=2 submit_queues="$Q" hw_queue_depth=$DEPTH gb=1 ||
		die "modprobe null_blk"
	echo "null_blk nr_devices=1 queue_mode=2 submit_queues=$Q hw_queue_depth=$DEPTH gb=1" >>"$OUT/env.txt"
	progress "null_blk /dev/nullb0: submit_queues=$Q hw_queue_depth=$DEPTH"
	pair null blkgate-null "$DEV_N" null_blk /dev/nullb0
	rmmod null_blk
fi

# kublk_add ID ARGS...: a kublk device /dev/ublkbID (2 queues x depth 128, like ours); kublk
# daemonizes once the device is live.
kublk_add() {
	local id=$1 i
	shift
	"$KUBLK" add -n "$id" -q "$Q" -d $DEPTH "$@" >"$W/kublk-$id.log" 2>&1 ||
		die "kublk add $*: $(tail -n 3 "$W/kublk-$id.log" | tr '\n' ' ')"
	for ((i = 0; i < 200; i++)); do
		[ -b "/dev/ublkb$id" ] && return 0
		sleep 0.05
	done
	die "kublk add $*: no /dev/ublkb$id"
}
kublk_del() { "$KUBLK" del -n "$1" >/dev/null 2>&1 || progress "WARNING: kublk del -n $1 failed"; }

if wants kublk; then
	echo "kublk $KUBLK" >>"$OUT/env.txt"
	kublk_add 100 -t loop $MNT/file.img
	progress "kublk loop (copy) /dev/ublkb100 on the same file"
	pair kublk-loop blkgate-file "$DEV_F" kublk-loop /dev/ublkb100 "${KUBLK_WORKLOADS[@]}"
	kublk_del 100
	kublk_add 101 -t loop --auto_zc $MNT/file.img
	progress "kublk loop (zero copy, --auto_zc) /dev/ublkb101 on the same file"
	pair kublk-zc blkgate-file "$DEV_F" kublk-loop-zc /dev/ublkb101 "${KUBLK_WORKLOADS[@]}"
	kublk_del 101
	kublk_add 102 -t null
	progress "kublk null /dev/ublkb102"
	pair kublk-null blkgate-null "$DEV_N" kublk-null /dev/ublkb102 "${KUBLK_WORKLOADS[@]}"
	kublk_del 102
fi

# kublk_pid ID: the pid of the daemon serving kublk device ID (its `list` says)
kublk_pid() { "$KUBLK" list -n "$1" 2>/dev/null | sed -n 's/.*daemon pid \([0-9]*\).*/\1/p' | head -n 1; }
# feat_pair KIND NAME_A "ARGS_A" NAME_B "ARGS_B": two kublk devices at once, paired, with CPU
feat_pair() {
	local kind=$1 na=$2 nb=$4
	local -a aa bb
	read -ra aa <<<"$3"
	read -ra bb <<<"$5"
	kublk_add 110 "${aa[@]}"
	kublk_add 111 "${bb[@]}"
	CPU_PID[$na]=$(kublk_pid 110)
	CPU_PID[$nb]=$(kublk_pid 111)
	progress "$kind: $na (kublk ${aa[*]}, pid ${CPU_PID[$na]:-?}) vs $nb (kublk ${bb[*]}, pid ${CPU_PID[$nb]:-?})"
	pair "$kind" "$na" /dev/ublkb110 "$nb" /dev/ublkb111 "${KUBLK_WORKLOADS[@]}"
	CPU_PID=()
	kublk_del 110
	kublk_del 111
}
if wants feat; then
	feat_pair feat-batch kublk-null-batch "-t null --batch" kublk-null "-t null"
	feat_pair feat-batch-zc kublk-zc-batch "-t loop --auto_zc --batch $MNT/file.img" \
		kublk-zc "-t loop --auto_zc $MNT/file.img"
	feat_pair feat-perio kublk-null-perio "-t null --per_io_tasks --nthreads 4" kublk-null "-t null"
fi

# second_daemon NAME DAEMON-ARGS...: another blkgate (state $W/state-NAME, log
# $W/gate-NAME.log, pid PID2) serving volume vNAME on the same backing file as vf; its device
# in DEV2. Stop it with second_daemon_stop.
second_daemon() {
	local name=$1 s=$W/state-$1 i
	shift
	mkdir -p "$s"
	blkgate --state-dir "$s" "$@" 2>>"$W/gate-$name.log" &
	PID2=$!
	ctl2() { blkgatectl --socket "$s/control.sock" "$@"; }
	for ((i = 0; i < 200; i++)); do ctl2 ping >/dev/null 2>&1 && break; sleep 0.05; done
	ctl2 drive add "d$name" $MNT/file.img --size ${SIZE_MB}M >/dev/null || die "drive add d$name"
	ctl2 disk create "k$name" "d$name" >/dev/null || die "disk create k$name"
	ctl2 volume create "v$name" --disk "k$name" --size ${SIZE_MB}M --queues "$Q" --depth $DEPTH \
		--backend file >/dev/null || die "volume create v$name"
	DEV2=$(json_field "$(ctl2 --json volume show "v$name")" device)
}
second_daemon_stop() {
	kill -TERM "$PID2"
	wait "$PID2" || progress "WARNING: the second daemon ($*) exited with an error"
}

if wants zc; then
	second_daemon copy --data-path copy
	grep -q "data path zero-copy" "$W/gate.log" || progress "WARNING: vf is not zero copy"
	grep -q "data path copy" "$W/gate-copy.log" || progress "WARNING: vcopy is not copy"
	progress "zc: vf $DEV_F (zero copy) vs vcopy $DEV2 (second daemon, --data-path copy), same file"
	CPU_PID[blkgate-file]=$GPID
	CPU_PID[blkgate-copy]=$PID2
	pair zc blkgate-file "$DEV_F" blkgate-copy "$DEV2" "${KUBLK_WORKLOADS[@]}"
	CPU_PID=()
	second_daemon_stop --data-path copy
fi

if wants fua; then
	second_daemon nofua --fua off
	fua_f=$(cat "/sys/block/${DEV_F#/dev/}/queue/fua")
	fua_nf=$(cat "/sys/block/${DEV2#/dev/}/queue/fua")
	if [ "$fua_f" != 1 ] || [ "$fua_nf" != 0 ]; then
		progress "WARNING: queue/fua is $fua_f for vf, $fua_nf for vnofua (want 1 and 0)"
	fi
	progress "fua: vf $DEV_F (FUA) vs vnofua $DEV2 (second daemon, --fua off), same file"
	CPU_PID[blkgate-file]=$GPID
	CPU_PID[blkgate-nofua]=$PID2
	pair fua blkgate-file "$DEV_F" blkgate-nofua "$DEV2" dw4k-qd1 dw4k-qd32 dw128k-qd32
	CPU_PID=()
	second_daemon_stop --fua off
fi

# ---- volume A while volume B toggles -----------------------------------------------------------
# Three variants, each alone/toggling alternated REPS times:
#   default   nothing pinned, the daemon's defaults: fio, A's queue threads, the daemon's
#             control thread (SCHED_IDLE, --control-priority idle) and the toggler share both
#             vCPUs; control work yields the CPU to the data path. The toggler (the caller,
#             standing in for a management agent) runs at SCHED_IDLE too: at normal priority its
#             own request encoding and reply parsing, ~70 wake-ups a second, show in A's p99.
#   equal     nothing pinned, the daemon restarted with --control-priority 0 and the toggler at
#             normal priority: control work at the data path's priority (what the daemon did
#             before it had the option), so the control plane's CPU time is taken from A
#   isolated  daemon defaults; fio and A's queue threads on CPU 0; the daemon's other threads
#             (control plane, B's queues), the toggler and the unbound kernel threads on
#             CPU 1: what is left is the gate's own effect on A
# ublk_threads_of DEVICE: TIDs of the daemon's queue threads of /dev/ublkbN (named ublkN-qQ).
ublk_threads_of() {
	local t n=${1#/dev/ublkb}
	for t in /proc/"$GPID"/task/*; do
		case $(cat "$t/comm") in "ublk$n-q"*) echo "${t##*/}" ;; esac
	done
}
# task_ticks: every task's CPU time so far, one "TID NAME TICKS START" line each (utime + stime
# and start time, in clock ticks), the machine's busy and idle ticks as cpu:busy and cpu:idle,
# and the uptime in ticks. NAME is the thread's comm (blanks as _), "blkgate:" before the
# daemon's threads, kworkers as just "kworker" (they come and go).
task_ticks() {
	awk -v gpid="$GPID" '
		FILENAME == "/proc/uptime" { print "uptime", "-", int($1 * 100), 0; nextfile }
		FILENAME == "/proc/stat" { if ($1 == "cpu") { idle = $5 + $6; busy = 0
			for (i = 2; i <= NF; i++) busy += $i; busy -= idle
			print "cpu:busy", "cpu:busy", busy, 0; print "cpu:idle", "cpu:idle", idle, 0 }; nextfile }
		{ o = index($0, "("); c = 0
		  for (i = length($0); i > o; i--) if (substr($0, i, 1) == ")") { c = i; break }
		  name = substr($0, o + 1, c - o - 1); gsub(/ /, "_", name); split(substr($0, c + 2), f, " ")
		  if (name ~ /^kworker\//) name = "kworker"
		  split(FILENAME, p, "/"); if (p[3] == gpid) name = "blkgate:" name
		  print p[5], name, f[12] + f[13], f[20] }' /proc/uptime /proc/stat /proc/[0-9]*/task/[0-9]*/stat 2>/dev/null
}
# ticks_delta BEFORE AFTER: the ticks between the two snapshots, summed by name: a task in both
# counts AFTER - BEFORE, one started after BEFORE all its ticks; one BEFORE missed (a task that
# was there but not read) is left out rather than counted since boot.
ticks_delta() {
	awk 'NR == FNR { if ($1 == "uptime") up = $3; else b[$1] = $3; next }
		$1 == "uptime" { next }
		($1 in b) { d[$2] += $3 - b[$1]; next }
		$4 >= up { d[$2] += $3 }
		END { for (n in d) if (d[n]) print n, d[n] }' "$1" "$2"
}
# ticks_summary VARIANT: where the CPU went in the toggling phases vs the alone phases, summed
# over the repetitions: every name whose ticks differ by 3 or more, biggest difference first.
ticks_summary() {
	awk '{ np = split(FILENAME, p, "-"); ph = p[np - 1]; d[$1, ph] += $2; n[$1] = 1 }
		END { for (k in n) { x = d[k, "toggling"] - d[k, "alone"]
			if (x >= 3 || x <= -3) printf "%s %d %d %+d\n", k, d[k, "alone"], d[k, "toggling"], x } }' \
		"$OUT"/toggle/ticks-"$1"-*.txt | sort -k4,4nr | head -n 12
}
# restart_gate [ARGS]: the daemon again with ARGS; it restores every volume on the same device.
restart_gate() {
	stop_gate || progress "WARNING: blkgate exited with an error"
	start_gate "$@" || die "restart blkgate $*"
	[ "$(dev_of vn)" = "$DEV_N" ] || die "volume A came back as $(dev_of vn), not $DEV_N"
	warm "$DEV_N"  # new queue buffers: fault them in before measuring
}
toggle_variant() {
	local variant=$1 fio_cpu=() tog_cpu=() kthreads=() rep order phase id res extra tp t p
	if [ "$variant" = isolated ]; then
		taskset -a -p -c 1 "$GPID" >/dev/null
		[ -n "$(ublk_threads_of "$DEV_N")" ] || die "no queue threads of $DEV_N found to pin"
		for t in $(ublk_threads_of "$DEV_N"); do taskset -p -c 0 "$t" >/dev/null; done
		# CPU 1 is the housekeeping CPU: unbound kernel threads (rcu_preempt, unbound kworkers,
		# kcompactd...) go there too, or the control plane's kernel side effects (RCU grace
		# periods after its file operations) land on CPU 0. Per-CPU kthreads refuse; fine.
		kthreads=()
		for p in /proc/[0-9]*; do
			[ -n "$(head -c 1 "$p/cmdline" 2>/dev/null)" ] && continue
			taskset -p -c 1 "${p#/proc/}" >/dev/null 2>&1 && kthreads+=("${p#/proc/}")
		done
		fio_cpu=(--cpus_allowed=0)
		tog_cpu=(taskset -c 1 chrt -i 0)
	elif [ "$variant" = equal ]; then
		restart_gate --control-priority 0
		tog_cpu=()
	else
		tog_cpu=(chrt -i 0)
	fi
	for rep in $(seq "$REPS"); do
		if ((rep % 2)); then order="alone toggling"; else order="toggling alone"; fi
		for phase in $order; do
			id=toggle-$variant-$phase-$rep
			if [ "$phase" = toggling ]; then
				"${tog_cpu[@]}" "$TOGGLER" --socket "$SOCK" --volume vb --rate "$RATE" \
					--seconds "$(awk -v a="$RUNTIME" -v b="$RAMP" 'BEGIN {print a + b + 0.5}')" \
					>"$OUT/toggle/$id.json" 2>"$W/toggle.err" &
				tp=$!
			fi
			task_ticks >"$W/ticks-before"
			res=$(fio_run "$id" "$DEV_N" "${TW[1]}" "${TW[2]}" "${TW[3]}" "${fio_cpu[@]}")
			task_ticks >"$W/ticks-after"
			ticks_delta "$W/ticks-before" "$W/ticks-after" >"$OUT/toggle/ticks-$variant-$phase-$rep.txt"
			extra=
			if [ "$phase" = toggling ]; then
				wait $tp || progress "toggler: $(tail -n 2 "$W/toggle.err" | tr '\n' ' ')"
				extra=", B toggled $(jq -r '"\(.toggles) times at \(.rate_hz)/s, offline p50 \(.offline_us.p50) us"' \
					"$OUT/toggle/$id.json")"
			fi
			printf 'toggle-%s\t%s\t%s\t%s\t%s\n' "$variant" "${TW[0]}" "$phase" "$rep" "fio/$id.json" \
				>>"$OUT/runs.tsv"
			progress "toggle ($variant) $phase rep $rep: A ${res% *} IOPS, p99 ${res#* } us$extra"
		done
	done
	progress "toggle ($variant): CPU ticks by task, alone vs toggling over $REPS reps (name alone toggling diff):"
	ticks_summary "$variant" | while read -r l; do progress "  $l"; done
	if [ "$variant" = isolated ]; then
		taskset -a -p -c 0-$(($(nproc) - 1)) "$GPID" >/dev/null
		for t in "${kthreads[@]}"; do taskset -p -c 0-$(($(nproc) - 1)) "$t" >/dev/null 2>&1; done
	fi
	[ "$variant" = equal ] && restart_gate
	[ "$(state_of vb)" = online ] || progress "WARNING: volume B is $(state_of vb) after toggling"
}

if wants toggle; then
	TW=(rr4k-qd32 randread 4k 32)
	echo "toggle_workload ${TW[*]} rate $RATE" >>"$OUT/env.txt"
	warm "$DEV_N"
	progress "toggle: volume A (vn) ${TW[1]} ${TW[2]} QD ${TW[3]}, alone vs while B (vb) toggles at $RATE/s"
	toggle_variant default
	toggle_variant equal
	if [ "$(nproc)" -ge 2 ]; then
		toggle_variant isolated
	else
		progress "toggle: one vCPU, no isolated variant"
	fi
fi

# ---- how long `volume offline` takes under QD 128 writes ---------------------------------------
if wants offline; then
	secs=$(awk -v n="$OFFLINE_COUNT" 'BEGIN {print int(n * 0.4) + 10}')
	progress "offline: $OFFLINE_COUNT x (offline, 100 ms, online, 100 ms) on vf under randwrite 4k QD 128"
	fio --name=load --filename="$DEV_F" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
		--iodepth=128 --size=${SIZE_MB}M --norandommap --time_based --runtime="$secs" \
		--continue_on_error=all --output-format=json --output="$OUT/fio/offline-load.json" \
		>/dev/null 2>"$W/fio-load.err" &
	fp=$!
	sleep 2
	"$TOGGLER" --socket "$SOCK" --volume vf --count "$OFFLINE_COUNT" --settle-ms 100 --rate 0 \
		>"$OUT/toggle/offline.json" 2>"$W/toggle.err" ||
		progress "toggler: $(tail -n 2 "$W/toggle.err" | tr '\n' ' ')"
	kill -INT $fp 2>/dev/null
	wait $fp
	progress "offline: $(jq -r '"offline p50 \(.offline_us.p50) us, p99 \(.offline_us.p99) us; online p50 \(.online_us.p50) us, p99 \(.online_us.p99) us"' "$OUT/toggle/offline.json")"
	[ "$(state_of vf)" = online ] || progress "WARNING: vf is $(state_of vf) after the offline test"
fi

stop_gate || progress "WARNING: blkgate exited with an error"
tail -n 5 "$W/gate.log" >"$OUT/gate.log.tail" 2>/dev/null
umount $MNT
progress "done"
