# shellcheck shell=bash
# tests/e2e/lib.sh — shared helpers for the end-to-end scripts (tests/e2e/gate/*.sh,
# tests/e2e/daemon/*.sh, datapath.sh), run inside the VM (tests/vm/run). Source it:
#
#   . "$(dirname "$0")/../lib.sh"
#
# It gives each script its own fresh work dir $W (/tmp/e2e/SUITE/NAME; E2E_WORKDIR changes
# /tmp/e2e), state dir $STATE and control socket $SOCK (exported as BLKGATE_SOCKET), and:
#   require CMD...           a missing command: print "SKIP: needs CMD" and exit 77
#   require_module MOD...    the same for a kernel module (modprobe); require_ublk: the ublk
#                            driver (/dev/ublk-control); skip REASON: any other prerequisite
#   pass/fail/check/check_not/expect/note   assertions, one PASS/FAIL line each
#   summary                  "N passed, N failed"; exits 0 when nothing failed, else 1
#   start_gate [ARGS]        start blkgate on $STATE (waits for its socket) and register the
#                            cleanup trap; stop_gate: SIGTERM, returns the daemon's status
#   on_cleanup CMD           run CMD (eval'd) at exit, last registered first, before the
#                            daemon is stopped; the trap then kills leftover background jobs,
#                            unmounts everything under $W, stops the daemon, runs the CMDs of
#                            after_stop CMD, and removes $W (E2E_KEEP=1 keeps it). An EXIT trap
#                            set before start_gate is kept and runs first; one set after it
#                            replaces the cleanup.
#   ctl ARGS                 blkgatectl on our socket
#   mkvol NAME SIZE [ARGS]   drive d-NAME (file $W/data/NAME.img), disk k-NAME, volume NAME
#   find_tool NAME           TOOL = tests/tools/NAME, or a SKIP (77)
#   nullb NAME MIB           a null_blk disk /dev/NAME (configfs), removed at exit
#   remove_volume NAME       undo mkvol: access paths removed, dismounted (forced), deleted
#   dev_of/state_of VOLUME   its /dev/ublkbN / state (from `volume show --json`)
#   json_field JSON KEY      a scalar member of a compact JSON object
#   no_ublk_devices          nothing ublk left in /dev or sysfs
#   dd_err DD-ARGS           a dd's error text (empty on success)
#   monitor_start FILE ARGS  `blkgatectl monitor ARGS` in the background, stdout to FILE and
#                            stderr to FILE.err, returning once it is subscribed (pid in MON);
#                            monitor_wait: its exit status once it ended (its --count), 20 s at most
#   check_offline_online_events VOLUME   `monitor --count 2` sees `volume offline`, then
#                            `volume online` of VOLUME, each with its call, and nothing else
#   stats_field JSON KEY     the first integer member KEY of `stats --json` (the total's)
#   fio_randrw DEV           fio randrw (60% reads, O_DIRECT) at 4k, then 64k, on a 64 MiB DEV
#   check_stats_vs_fio BEFORE AFTER   `stats --json` before/after fio_randrw counted its reads
#                            and writes (number, bytes) within 1% of fio's own numbers
# Exit codes: 0 every check passed, 1 one failed, 77 skipped (a prerequisite is missing).
export LC_ALL=C
# shellcheck disable=SC2034 # used by the scripts that source this
MiB=$((1 << 20))
# (Parameter expansions, not basename/dirname: every fork counts under emulation.)
E2E_NAME=${0##*/}
E2E_NAME=${E2E_NAME%.sh}
case $0 in */*) E2E_SUITE=${0%/*} ;; *) E2E_SUITE=$PWD ;; esac
[ "$E2E_SUITE" != . ] || E2E_SUITE=$PWD
E2E_SUITE=${E2E_SUITE##*/}
if [ "$E2E_SUITE" = e2e ]; then
	W=${E2E_WORKDIR:-/tmp/e2e}/$E2E_NAME
else
	W=${E2E_WORKDIR:-/tmp/e2e}/$E2E_SUITE/$E2E_NAME
fi
STATE=$W/state
SOCK=$STATE/control.sock
export BLKGATE_SOCKET=$SOCK
npass=0
nfail=0
GPID=
E2E_CLEANUPS=()
E2E_AFTER_STOP=()
E2E_TRAPPED=

# E2E_TIMES=1: prefix each PASS/FAIL line with the seconds since the script started.
E2E_T0=${EPOCHREALTIME/./}
e2e_at() {
	E2E_AT=
	[ -n "${E2E_TIMES:-}" ] || return 0
	local us=$((${EPOCHREALTIME/./} - E2E_T0))
	printf -v E2E_AT '[%d.%02d] ' $((us / 1000000)) $((us % 1000000 / 10000))
}
pass() {
	e2e_at
	echo "${E2E_AT}PASS $*"
	npass=$((npass + 1))
}
fail() {
	e2e_at
	echo "${E2E_AT}FAIL $*"
	nfail=$((nfail + 1))
}
note() { echo "  $*"; }

# skip REASON: a prerequisite is missing: "SKIP: REASON", exit 77 (1 if a check already failed).
skip() {
	if [ "$nfail" -gt 0 ]; then
		echo "$npass passed, $nfail failed (then stopped: $*)"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

# require CMD...: every CMD must be a command here, else SKIP naming the missing ones.
require() {
	local c missing=
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	[ -z "$missing" ] || skip "needs${missing}"
}

# require_module MOD...: modprobe each kernel module, else SKIP.
require_module() {
	require modprobe
	local m
	for m in "$@"; do
		modprobe "$m" 2>/dev/null || skip "needs the kernel module $m"
	done
}

# require_ublk: the kernel's ublk driver (/dev/ublk-control), else SKIP (e.g. on a host
# without ublk_drv: run the script with tests/vm/run).
require_ublk() {
	[ -c /dev/ublk-control ] || skip "needs ublk_drv (/dev/ublk-control): run it with tests/vm/run"
}

# umount_under DIR: unmount every mount at or below DIR, last mounted first (so stacked and
# nested mounts come off in order), lazily if busy.
umount_under() {
	local mp i mps=()
	while read -r _ mp _; do
		case $mp in "$1" | "$1"/*) mps+=("$mp") ;; esac
	done </proc/mounts
	for ((i = ${#mps[@]} - 1; i >= 0; i--)); do
		umount "${mps[i]}" 2>/dev/null || umount -l "${mps[i]}" 2>/dev/null || echo "cannot unmount ${mps[i]}"
	done
}

umount_under "$W"
[ ! -e "$W" ] || rm -rf "$W"
mkdir -p "$W"

# check NAME CMD...: passes when CMD exits 0.
check() {
	local name=$1
	shift
	if "$@" >"$W/check.out" 2>&1; then pass "$name"; else fail "$name: $(tail -n 5 "$W/check.out" | tr '\n' ' ')"; fi
}

# check_not NAME CMD...: passes when CMD exits non-zero.
check_not() {
	local name=$1
	shift
	if "$@" >"$W/check.out" 2>&1; then fail "$name: succeeded but must not: $(tail -n 3 "$W/check.out" | tr '\n' ' ')"; else pass "$name"; fi
}

# The result -> exit status table, read from blkgatectl itself (`blkgatectl results`: a header
# "NAME EXIT MEANING", then one line per result), the first time expect needs it. run-suite
# reads it once per suite and passes it on in E2E_RESULTS_TABLE.
# load_results: fills EXIT_OF[NAME]=EXIT; on failure sets RESULTS_ERROR and returns 1.
declare -A EXIT_OF=()
RESULTS_ERROR=
load_results() {
	local out name code _ a b c
	EXIT_OF=()
	RESULTS_ERROR=
	if [ -n "${E2E_RESULTS_TABLE:-}" ]; then
		out=$E2E_RESULTS_TABLE
	else
		out=$(blkgatectl results 2>&1) || RESULTS_ERROR="blkgatectl results failed: $out"
	fi
	[ -n "$RESULTS_ERROR" ] || {
		read -r a b c _
		[ "$a $b $c" = "NAME EXIT MEANING" ] || RESULTS_ERROR="unexpected header '$a $b $c'"
		while [ -z "$RESULTS_ERROR" ] && read -r name code _; do
			case $code in
			'' | *[!0-9]*) RESULTS_ERROR="bad line '$name $code'" ;;
			*) EXIT_OF[$name]=$code ;;
			esac
		done
	} <<<"$out"
	[ -n "$RESULTS_ERROR" ] || [ "${EXIT_OF[ok]:-}" = 0 ] || RESULTS_ERROR="no 'ok 0' line"
	[ -z "$RESULTS_ERROR" ] || { EXIT_OF=(); return 1; }
}

# expect NAME RESULT ARGS...: blkgatectl ARGS must end with the named RESULT (ok or an error
# name), both in its exit status and on stderr / in --json.
expect() {
	local name=$1 want=$2
	shift 2
	if [ -z "${EXIT_OF[ok]:-}" ] && ! load_results; then
		fail "$name: no exit-code table from \`blkgatectl results\`: $RESULTS_ERROR"
		return
	fi
	local code=${EXIT_OF[$want]:-}
	[ -n "$code" ] || { fail "$name: '$want' is not a result blkgatectl knows"; return; }
	local out rc got
	out=$(blkgatectl --socket "$SOCK" --json "$@" 2>"$W/expect.err")
	rc=$?
	got=$(printf '%s' "$out" | sed -n 's/^{"result":"\([a-z-]*\)".*/\1/p')
	if [ "$rc" = "$code" ] && [ "$got" = "$want" ]; then
		pass "$name ($want)"
	else
		fail "$name: wanted $want (exit $code), got '$got' exit $rc: $out $(cat "$W/expect.err")"
	fi
}

ctl() { blkgatectl --socket "$SOCK" "$@"; }

# json_field JSON KEY: the scalar value of "KEY" in a compact JSON object (the first one).
json_field() { printf '%s' "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\)\"\{0,1\}[,}].*/\1/p" | head -n 1; }

dev_of() { json_field "$(ctl --json volume show "$1")" device; }
state_of() { json_field "$(ctl --json volume show "$1")" state; }

# mkvol NAME SIZE [VOLUME-CREATE-ARGS]: a drive, a disk and a volume of that name (2 queues).
mkvol() {
	local name=$1 size=$2
	shift 2
	mkdir -p "$W/data" &&
		ctl drive add "d-$name" "$W/data/$name.img" --size "$size" >/dev/null &&
		ctl disk create "k-$name" "d-$name" >/dev/null &&
		ctl volume create "$name" --disk "k-$name" --size "$size" --queues 2 "$@" >/dev/null
}

# on_cleanup CMD / after_stop CMD: eval CMD at exit, before / after the daemon is stopped
# (see the header); both register the trap.
on_cleanup() {
	E2E_CLEANUPS+=("$1")
	e2e_trap
}
after_stop() {
	E2E_AFTER_STOP+=("$1")
	e2e_trap
}

# e2e_trap: install e2e_cleanup as the EXIT trap (once). An EXIT trap the script set before
# is kept: it runs first among the cleanups, before the daemon is stopped.
e2e_trap() {
	[ -n "$E2E_TRAPPED" ] && return
	E2E_TRAPPED=1
	local prev words=()
	prev=$(trap -p EXIT)
	if [ -n "$prev" ]; then
		eval "words=($prev)" # trap -- 'CMD' EXIT
		E2E_CLEANUPS+=("${words[2]}")
	fi
	trap e2e_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP
}

e2e_cleanup() {
	local rc=$? i j
	trap - EXIT TERM INT HUP
	cd / || true
	for ((i = ${#E2E_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${E2E_CLEANUPS[i]}" >/dev/null 2>&1
	done
	for j in $(jobs -p); do
		[ "$j" = "$GPID" ] || { kill -KILL "$j" && wait "$j"; } 2>/dev/null
	done
	umount_under "$W"
	if [ -n "$GPID" ]; then
		local pid=$GPID
		if ! stop_gate; then
			echo "FAIL the daemon (pid $pid) did not stop cleanly at cleanup"
			nfail=$((nfail + 1))
			rc=1
		fi
	fi
	for ((i = ${#E2E_AFTER_STOP[@]} - 1; i >= 0; i--)); do
		eval "${E2E_AFTER_STOP[i]}" >/dev/null 2>&1
	done
	if [ "$nfail" -gt 0 ] || [ -n "${E2E_VERBOSE:-}" ]; then
		echo "---- blkgate daemon log (tail) ----"
		tail -n 40 "$W/gate.log" 2>/dev/null
	fi
	[ -n "${E2E_KEEP:-}" ] || rm -rf "$W"
	exit "$rc"
}

start_gate() {
	require blkgate blkgatectl
	e2e_trap
	mkdir -p "$STATE"
	rm -f "$SOCK"
	blkgate --state-dir "$STATE" "$@" 2>>"$W/gate.log" &
	GPID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		if [ -S "$SOCK" ] && ctl ping >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$GPID" 2>/dev/null; then
			echo "blkgate exited at start:"
			tail -n 20 "$W/gate.log"
			wait "$GPID"
			GPID=
			return 1
		fi
		sleep 0.05
	done
	echo "blkgate did not open its socket within 10 s"
	return 1
}

# stop_gate: SIGTERM; returns the daemon's exit status (after 60 s: SIGKILL, status 1).
stop_gate() {
	[ -n "$GPID" ] || return 0
	kill -TERM "$GPID" 2>/dev/null
	local i
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$GPID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$GPID" 2>/dev/null; then
		echo "blkgate did not exit within 60 s of SIGTERM; killed"
		kill -KILL "$GPID"
		wait "$GPID"
		GPID=
		return 1
	fi
	wait "$GPID"
	local rc=$?
	GPID=
	return $rc
}

# no_ublk_devices: nothing left in /dev or sysfs.
no_ublk_devices() {
	local left
	left=$(
		ls /dev/ublkb* /dev/ublkc* 2>/dev/null
		ls /sys/class/ublk-char/ 2>/dev/null
	)
	[ -z "$left" ] || {
		echo "left behind: $left"
		return 1
	}
}

# dd_err ARGS: run dd (e.g. O_DIRECT), print its error text (empty on success).
dd_err() { dd "$@" 2>&1 >/dev/null | grep -v 'records\|copied' || true; }

# summary: "N passed, N failed"; exits 1 if a check failed, else 0 (the trap cleans up).
summary() {
	echo "$npass passed, $nfail failed"
	[ "$nfail" -eq 0 ] && exit 0
	exit 1
}

# find_tool NAME: TOOL = the test program tests/tools/NAME (from PATH, else the build dir);
# a missing one skips (77).
find_tool() {
	local c
	TOOL=
	for c in "$(command -v "$1" 2>/dev/null)" \
		"${BLKGATE_VM_BUILD_DIR:-$(dirname "$0")/../../../build}/tests/tools/$1"; do
		# shellcheck disable=SC2034 # the caller reads TOOL
		if [ -n "$c" ] && [ -x "$c" ]; then TOOL=$c; return 0; fi
	done
	echo "SKIP: needs tests/tools/$1 (ninja -C build tests/tools/$1)"
	exit 77
}

# nullb NAME MIB: a memory-backed null_blk disk /dev/NAME of MIB MiB (configfs; badblocks can
# then fail its I/O), taken down at exit after the daemon stops; skips (77) without null_blk.
nullb() {
	require modprobe rmmod
	modprobe null_blk nr_devices=0 2>/dev/null || skip "needs the kernel module null_blk"
	[ -d /sys/kernel/config/nullb ] || skip "needs null_blk's configfs (/sys/kernel/config/nullb)"
	local nb=/sys/kernel/config/nullb/$1
	after_stop "rmmod null_blk"
	after_stop "rmdir $nb"
	after_stop "echo 0 >$nb/power"
	mkdir "$nb" && echo 1 >"$nb/memory_backed" && echo "$2" >"$nb/size" && echo 1 >"$nb/power" &&
		test -b "/dev/$1"
}

# remove_volume NAME: undo mkvol, quietly and as far as it goes: the volume's access
# paths are removed (unmounting them), what else is mounted is dismounted (forced), then the
# volume, its disk and its drive (and the drive's file) are deleted.
remove_volume() {
	ctl --json volume path list "$1" 2>/dev/null | grep -o '"path":"[^"]*"' | cut -d'"' -f4 |
		while IFS= read -r p; do ctl volume path remove "$1" "$p" >/dev/null 2>&1; done
	ctl volume dismount "$1" --force >/dev/null 2>&1
	ctl volume delete "$1" >/dev/null 2>&1
	ctl disk delete "k-$1" >/dev/null 2>&1
	ctl drive remove "d-$1" >/dev/null 2>&1
	rm -f "$W/data/$1.img"
}

# monitor_start FILE ARGS...: see the header. Subscribed once its header line is on stderr (at
# most 20 s under emulation); 1 otherwise.
# shellcheck disable=SC2317  # called through check
monitor_start() {
	local out=$1 i
	shift
	blkgatectl --socket "$SOCK" monitor "$@" >"$out" 2>"$out.err" &
	MON=$!
	for ((i = 0; i < 200; i++)); do
		grep -q "monitoring blkgate events" "$out.err" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# shellcheck disable=SC2317  # called through check
monitor_wait() {
	local i
	for ((i = 0; i < 200; i++)); do
		kill -0 "$MON" 2>/dev/null || break
		sleep 0.1
	done
	kill "$MON" 2>/dev/null
	wait "$MON"
}

# check_offline_online_events VOLUME: a `blkgatectl monitor --count 2` (output in
# $W/monitor.txt), then `volume offline` and `volume online` of VOLUME: the monitor reports
# both, in that order, each with the call that made it, and nothing else.
check_offline_online_events() {
	local v=$1 t=$W/monitor.txt
	check "monitor subscribes" monitor_start "$t" --count 2
	expect "volume offline" ok volume offline "$v"
	expect "volume online" ok volume online "$v"
	check "monitor exits after 2 events" monitor_wait
	note "$(cat "$t")"
	check "first line: offline, by volume.offline" grep -q "^[0-9T:.-]*Z volume/$v online -> offline (call volume.offline)$" <(sed -n 1p "$t")
	check "second line: online, by volume.online" grep -q "^[0-9T:.-]*Z volume/$v offline -> online (call volume.online)$" <(sed -n 2p "$t")
	check "nothing else" test "$(wc -l <"$t")" -eq 2
}

# stats_field JSON KEY: the first integer member KEY (the report's total comes before its
# queues).
stats_field() { grep -o "\"$2\":[0-9]*" <<<"$1" | head -1 | cut -d: -f2; }
# fio_field FILE KEY N: the Nth "KEY" : N of fio's JSON (1 read, 2 write).
fio_field() { grep -o "\"$2\" : [0-9]*" "$1" | sed -n "${3}p" | awk '{ print $3 }'; }
# shellcheck disable=SC2317  # called through check
within_1pct() { # WANT GOT
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d * 100 <= a) }'
}

# fio_randrw DEV: fio randrw (60% reads, O_DIRECT, io_uring, depth 16, two jobs of 8 MiB over
# 32 MiB each) on DEV (64 MiB) at bs 4k, then 64k; its reports in $W/fio-4k.json, fio-64k.json.
fio_randrw() {
	local bs
	for bs in 4k 64k; do
		check "fio randrw bs=$bs" fio --name=mix --filename="$1" --direct=1 --ioengine=io_uring \
			--rw=randrw --rwmixread=60 --bs=$bs --iodepth=16 --numjobs=2 --size=32M \
			--offset_increment=32M --io_size=8M --group_reporting --output-format=json \
			--output="$W/fio-$bs.json"
	done
}

# check_stats_vs_fio BEFORE AFTER: `stats --json VOLUME` before and after fio_randrw counted
# fio's reads and writes, their number and their bytes, each within 1% of fio's own.
check_stats_vs_fio() {
	local dir n ios bytes bs got_ios got_bytes
	for dir in read write; do
		n=1
		[ $dir = write ] && n=2
		ios=0 bytes=0
		for bs in 4k 64k; do
			ios=$((ios + $(fio_field "$W/fio-$bs.json" total_ios $n)))
			bytes=$((bytes + $(fio_field "$W/fio-$bs.json" io_bytes $n)))
		done
		got_ios=$(($(stats_field "$2" ${dir}s) - $(stats_field "$1" ${dir}s)))
		got_bytes=$(($(stats_field "$2" ${dir}_bytes) - $(stats_field "$1" ${dir}_bytes)))
		note "${dir}s: fio $ios ($bytes bytes), stats $got_ios ($got_bytes bytes)"
		check "${dir}s counted within 1% of fio's" within_1pct "$ios" "$got_ios"
		check "${dir} bytes counted within 1% of fio's" within_1pct "$bytes" "$got_bytes"
	done
}
