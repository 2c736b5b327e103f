#!/bin/bash
# tests/e2e/datapath.sh — the data path end to end on a real ublk device, in the VM:
#
#   tests/vm/run tests/e2e/datapath.sh [TEST...]
#
# Serves volumes with tests/tools/ublk-serve (one VolumeDevice, no daemon) and checks: fio
# write+verify on every queue, ext4 (mkfs, files, e2fsck, remount, checksums), discard and
# write-zeroes read back as zeros, fsync reaching the server as FLUSH, a volume at an offset
# of a two-drive disk writing exactly the right bytes of each file, the gate (offline ->
# ENODEV, parked -> admitted), SIGTERM under fio load leaving no device behind, and a quick
# randread reference number on a null volume. One PASS/FAIL line per check (lib.sh); exits 1
# if any check failed, 77 (SKIP) without ublk-serve or the tools it needs.
# The test_* functions run indirectly ("test_$t"); shellcheck takes them for unreachable.
# shellcheck disable=SC2317
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ALL_TESTS="fio_verify mem ext4 discard flush offset gate sigterm crash bdev perf"
TESTS=${*:-$ALL_TESTS}
if [ -n "${DATAPATH_WORKDIR:-}" ]; then
	W=$DATAPATH_WORKDIR
	umount_under "$W"
	rm -rf "$W" && mkdir -p "$W" || exit 1
fi
SPID=
DEV=
require fio mkfs.ext4 e2fsck blkdiscard blockdev losetup cmp dd truncate
require_ublk

# ---- the test server ------------------------------------------------------------------------
SERVE=${UBLK_SERVE:-}
if [ -z "$SERVE" ]; then
	for c in "$(command -v ublk-serve 2>/dev/null)" "${BLKGATE_VM_BUILD_DIR:-/repo/build}/tests/tools/ublk-serve"; do
		if [ -n "$c" ] && [ -x "$c" ]; then SERVE=$c; break; fi
	done
fi
[ -n "$SERVE" ] || skip "needs ublk-serve (build it: ninja -C build tests/tools/ublk-serve)"
"$SERVE" >/dev/null 2>&1
if [ $? -ne 2 ]; then
	echo "FAIL setup: $SERVE does not run here (missing libraries?)"
	"$SERVE"
	exit 1
fi
NCPU=$(nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo)
note "ublk-serve: $SERVE; $NCPU CPUs; work dir $W on $(stat -f -c %T "$W" 2>/dev/null)"

# start_serve ARGS...: start ublk-serve, wait for its DEVICE line; sets SPID and DEV.
start_serve() {
	: >"$W/serve.out"
	"$SERVE" "$@" >"$W/serve.out" 2>"$W/serve.err" &
	SPID=$!
	DEV=
	local i
	for i in $(seq 1 600); do
		DEV=$(sed -n 's/^DEVICE //p' "$W/serve.out")
		[ -n "$DEV" ] && [ -b "$DEV" ] && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "ublk-serve $* did not come up:"
	cat "$W/serve.out" "$W/serve.err"
	kill -KILL "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
	return 1
}

# stop_serve: SIGTERM, expect exit 0 and "STOPPED".
stop_serve() {
	[ -n "$SPID" ] || return 0
	kill -TERM "$SPID"
	wait "$SPID"
	local rc=$?
	SPID=
	if [ "$rc" -ne 0 ] || ! grep -q '^STOPPED$' "$W/serve.out"; then
		echo "ublk-serve exited $rc:"
		cat "$W/serve.out" "$W/serve.err"
		return 1
	fi
	return 0
}

# stat_of FIELD: ask the server for its stats (SIGUSR1) and print one counter.
stat_of() {
	local before after i
	before=$(grep -c '^{' "$W/serve.out")
	kill -USR1 "$SPID"
	for i in $(seq 1 100); do
		after=$(grep -c '^{' "$W/serve.out")
		[ "$after" -gt "$before" ] && break
		sleep 0.05
	done
	grep '^{' "$W/serve.out" | tail -n 1 | sed 's/,"queues".*//' | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

# queue_loads: "reads+writes" of each queue from the last stats line, one per line.
queue_loads() {
	grep '^{' "$W/serve.out" | tail -n 1 | sed 's/.*"queues":\[//; s/\]}$//' | tr '}' '\n' |
		sed -n 's/.*"reads":\([0-9]*\),"writes":\([0-9]*\).*/\1 \2/p' | while read -r r w; do echo $((r + w)); done
}

# set_gate WORD: publish a gate word through the server (SIGHUP + --gate-file).
set_gate() {
	local before i
	before=$(grep -c '^GATE' "$W/serve.out")
	echo "$1" >"$W/gate"
	kill -HUP "$SPID"
	for i in $(seq 1 100); do
		[ "$(grep -c '^GATE' "$W/serve.out")" -gt "$before" ] && return 0
		sleep 0.05
	done
	return 1
}

cleanup() {
	[ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
	umount "$W/mnt" 2>/dev/null
	return 0
}
on_cleanup cleanup

mkfile() { # PATH SIZE_MIB BYTE(octal, optional): a file of SIZE MiB of that byte (default 0)
	if [ -n "${3:-}" ]; then
		head -c "$(($2 * 1048576))" /dev/zero | tr '\0' "\\$3" >"$1"
	else
		truncate -s "${2}M" "$1"
	fi
}

# ---- tests ----------------------------------------------------------------------------------

test_fio_verify() {
	local q=$NCPU
	mkfile "$W/d0" 64
	start_serve --backend file --file "$W/d0" --size 64M --queues "$q" --depth 64 || { fail "fio_verify: server"; return; }
	local bs
	for bs in 4k 64k; do
		if fio --name=verify --filename="$DEV" --ioengine=io_uring --direct=1 --iodepth=32 \
			--rw=randwrite --bs="$bs" --numjobs="$q" --size=$((64 / q))M --offset_increment=$((64 / q))M \
			--cpus_allowed=0-$((NCPU - 1)) --cpus_allowed_policy=split \
			--verify=crc32c --do_verify=1 --verify_fatal=1 --group_reporting \
			>"$W/fio-$bs.out" 2>&1; then
			pass "fio_verify: randwrite+verify crc32c bs=$bs iodepth=32 numjobs=$q over 64 MiB"
			grep -E '^ +(write|read):' "$W/fio-$bs.out" | sed 's/^ */  /'
		else
			fail "fio_verify bs=$bs: $(grep -iE 'verify|error|bad' "$W/fio-$bs.out" | head -n 5)"
		fi
	done
	if [ "$(stat_of backend_errors)" = 0 ]; then pass "fio_verify: no backend errors"; else fail "fio_verify: backend errors"; fi
	local loads
	loads=$(queue_loads | tr '\n' ' ')
	note "requests served per queue: $loads"
	if [ "$(queue_loads | wc -l)" -eq "$q" ] && ! queue_loads | grep -qx 0; then
		pass "fio_verify: all $q queues served requests"
	else
		fail "fio_verify: per-queue requests: $loads"
	fi
	check "fio_verify: clean stop" stop_serve
	check "fio_verify: no device left" no_ublk_devices
}

test_mem() {
	start_serve --backend mem --size 32M --queues "$NCPU" --depth 32 || { fail "mem: server"; return; }
	if fio --name=mem --filename="$DEV" --ioengine=io_uring --direct=1 --iodepth=32 --rw=randwrite \
		--bs=4k --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 >"$W/fio-mem.out" 2>&1; then
		pass "mem: randwrite+verify crc32c bs=4k iodepth=32 over a 32 MiB RAM volume"
	else
		fail "mem: $(grep -iE 'verify|error|bad' "$W/fio-mem.out" | head -n 5)"
	fi
	check "mem: stop" stop_serve
}

test_ext4() {
	mkfile "$W/d0" 64
	start_serve --backend file --file "$W/d0" --size 64M --queues 2 --depth 32 || { fail "ext4: server"; return; }
	mkdir -p "$W/mnt"
	check "ext4: mkfs.ext4" mkfs.ext4 -q -F "$DEV"
	if ! mount -t ext4 "$DEV" "$W/mnt"; then fail "ext4: mount"; stop_serve; return; fi
	local i
	for i in 1 2 3 4 5; do
		head -c $((i * 1500000 + 4097)) /dev/urandom >"$W/mnt/file$i"
	done
	mkdir -p "$W/mnt/dir/sub" && cp "$W/mnt/file3" "$W/mnt/dir/sub/copy3"
	(cd "$W/mnt" && sha256sum file* dir/sub/copy3) >"$W/sums"
	check "ext4: umount" umount "$W/mnt"
	check "ext4: e2fsck -fn clean" e2fsck -fn "$DEV"
	check "ext4: stop" stop_serve
	# A new server on the same backing file: the data is in the file, not in the server.
	start_serve --backend file --file "$W/d0" --size 64M --queues 2 --depth 32 || { fail "ext4: restart"; return; }
	check "ext4: e2fsck -fn clean after restart" e2fsck -fn "$DEV"
	if mount -t ext4 "$DEV" "$W/mnt"; then
		check "ext4: checksums match after remount" sh -c "cd '$W/mnt' && sha256sum -c '$W/sums'"
		umount "$W/mnt"
	else
		fail "ext4: remount"
	fi
	check "ext4: stop" stop_serve
}

test_discard() {
	mkfile "$W/d0" 32
	start_serve --backend file --file "$W/d0" --size 32M --queues 2 --depth 32 || { fail "discard: server"; return; }
	head -c $((16 * 1048576)) /dev/urandom >"$W/pattern"
	dd if="$W/pattern" of="$DEV" bs=1M oflag=direct status=none
	local d0 z0
	d0=$(stat_of discards)
	z0=$(stat_of write_zeroes)
	check "discard: blkdiscard -o 1M -l 2M" blkdiscard -o $((1 << 20)) -l $((2 << 20)) "$DEV"
	check "discard: blkdiscard -z -o 5M -l 1536K" blkdiscard -z -o $((5 << 20)) -l $((1536 << 10)) "$DEV"
	check "discard: discarded range reads zeros" cmp -n $((2 << 20)) <(dd if="$DEV" bs=1M skip=1 count=2 iflag=direct status=none) /dev/zero
	check "discard: zeroed range reads zeros" cmp -n $((1536 << 10)) <(dd if="$DEV" bs=512K skip=10 count=3 iflag=direct status=none) /dev/zero
	# Around them nothing changed.
	check "discard: [0,1M) untouched" cmp <(dd if="$DEV" bs=1M count=1 iflag=direct status=none) <(dd if="$W/pattern" bs=1M count=1 status=none)
	check "discard: [3M,5M) untouched" cmp <(dd if="$DEV" bs=1M skip=3 count=2 iflag=direct status=none) <(dd if="$W/pattern" bs=1M skip=3 count=2 status=none)
	check "discard: [6.5M,16M) untouched" cmp <(dd if="$DEV" bs=512K skip=13 count=19 iflag=direct status=none) <(dd if="$W/pattern" bs=512K skip=13 count=19 status=none)
	local d1 z1
	d1=$(stat_of discards)
	z1=$(stat_of write_zeroes)
	note "server saw discards $d0 -> $d1, write_zeroes $z0 -> $z1"
	if [ "$d1" -gt "$d0" ]; then pass "discard: DISCARD reached the server"; else fail "discard: no DISCARD at the server"; fi
	if [ "$z1" -gt "$z0" ]; then pass "discard: WRITE_ZEROES reached the server"; else fail "discard: no WRITE_ZEROES at the server"; fi
	check "discard: stop" stop_serve
	check "discard: backing file zeros" cmp -n $((2 << 20)) <(dd if="$W/d0" bs=1M skip=1 count=2 status=none) /dev/zero
}

test_flush() {
	mkfile "$W/d0" 16
	start_serve --backend file --file "$W/d0" --size 16M --queues 1 --depth 16 || { fail "flush: server"; return; }
	local f0 f1 f2
	f0=$(stat_of flushes)
	dd if=/dev/urandom of="$DEV" bs=4k count=8 conv=fsync status=none
	f1=$(stat_of flushes)
	note "flushes: $f0 -> $f1 after dd conv=fsync"
	if [ "$f1" -gt "$f0" ]; then pass "flush: fsync on the device reaches the server as FLUSH"; else fail "flush: flushes $f0 -> $f1"; fi
	# A raw block device's page cache is written back by sync(1) without a cache flush; a
	# file system's sync does flush: ext4 commits its journal with a preflush.
	if ! { mkfs.ext4 -q -F "$DEV" && mkdir -p "$W/mnt" && mount -t ext4 "$DEV" "$W/mnt"; }; then
		fail "flush: mkfs/mount"
		stop_serve
		return
	fi
	f1=$(stat_of flushes)
	head -c 1000000 /dev/urandom >"$W/mnt/f"
	sync
	f2=$(stat_of flushes)
	note "flushes: $f1 -> $f2 after writing a file on ext4 + sync"
	if [ "$f2" -gt "$f1" ]; then pass "flush: sync on ext4 reaches the server as FLUSH"; else fail "flush: flushes $f1 -> $f2 after sync"; fi
	umount "$W/mnt"
	check "flush: stop" stop_serve
}

test_offset() {
	# Disk = d1 (8 MiB of 0xAA) + d2 (8 MiB of 0x55); the volume is [6M, 10M) of it.
	mkfile "$W/d1" 8 252
	mkfile "$W/d2" 8 125
	cp "$W/d1" "$W/d1.orig" && cp "$W/d2" "$W/d2.orig"
	start_serve --backend file --file "$W/d1,$W/d2" --offset 6M --size 4M --queues 2 --depth 32 || { fail "offset: server"; return; }
	if [ "$(blockdev --getsize64 "$DEV")" = $((4 << 20)) ]; then pass "offset: device is 4 MiB"; else fail "offset: size $(blockdev --getsize64 "$DEV")"; fi
	head -c $((4 << 20)) /dev/urandom >"$W/p"
	dd if="$W/p" of="$DEV" bs=64k oflag=direct status=none
	# And 4 KiB straddling the drive boundary at 2 MiB - 2 KiB, 512-byte granular.
	head -c 4096 /dev/urandom >"$W/small"
	dd if="$W/small" of="$DEV" bs=512 seek=4092 count=8 oflag=direct conv=notrunc status=none
	dd if="$W/small" of="$W/p" bs=512 seek=4092 count=8 conv=notrunc status=none
	check "offset: device reads back what was written" cmp <(dd if="$DEV" bs=1M iflag=direct status=none) "$W/p"
	check "offset: stop" stop_serve
	check "offset: d1 [6M,8M) = volume [0,2M)" cmp <(dd if="$W/d1" bs=1M skip=6 status=none) <(dd if="$W/p" bs=1M count=2 status=none)
	check "offset: d2 [0,2M) = volume [2M,4M)" cmp <(dd if="$W/d2" bs=1M count=2 status=none) <(dd if="$W/p" bs=1M skip=2 status=none)
	check "offset: d1 [0,6M) untouched" cmp <(dd if="$W/d1" bs=1M count=6 status=none) <(dd if="$W/d1.orig" bs=1M count=6 status=none)
	check "offset: d2 [2M,8M) untouched" cmp <(dd if="$W/d2" bs=1M skip=2 status=none) <(dd if="$W/d2.orig" bs=1M skip=2 status=none)
	check "offset: file sizes unchanged" test "$(stat -c %s "$W/d1")" = $((8 << 20)) -a "$(stat -c %s "$W/d2")" = $((8 << 20))
}

test_gate() {
	mkfile "$W/d1" 8
	mkfile "$W/d2" 8
	start_serve --backend file --file "$W/d1,$W/d2" --size 16M --queues 2 --depth 32 \
		--gate-file "$W/gate" --park-timeout-ms 20000 || { fail "gate: server"; return; }
	dd if=/dev/urandom of="$DEV" bs=1M count=16 oflag=direct status=none
	set_gate 1 || fail "gate: publish offline"
	if dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>"$W/dd.err"; then
		fail "gate: read on an offline volume succeeded"
	else
		if grep -q "No such device" "$W/dd.err"; then
			pass "gate: offline -> O_DIRECT read fails with ENODEV"
		else
			fail "gate: offline read error: $(cat "$W/dd.err")"
		fi
	fi
	local r
	r=$(stat_of refused)
	if [ "${r:-0}" -ge 1 ]; then pass "gate: refusal counted ($r)"; else fail "gate: refused=$r"; fi
	set_gate 0
	check "gate: online again -> read works" dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct status=none
	# Drive 2 (segment 1) not ready: reads of it park, reads of drive 1 pass.
	set_gate $((3 << 34)) || fail "gate: publish not-ready"
	check "gate: drive 1 readable while drive 2 not ready" dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct status=none
	dd if="$DEV" of="$W/parked.out" bs=4k count=1 skip=3000 iflag=direct status=none 2>"$W/dd2.err" &
	local ddpid=$!
	sleep 1
	if kill -0 "$ddpid" 2>/dev/null; then pass "gate: read of a not-ready drive is parked"; else fail "gate: read was not parked"; fi
	note "parked at the server: $(stat_of parked)"
	set_gate 0
	if wait "$ddpid"; then pass "gate: parked read admitted when the drive became ready"; else fail "gate: parked read failed: $(cat "$W/dd2.err")"; fi
	check "gate: stop" stop_serve
}

test_sigterm() {
	mkfile "$W/d0" 64
	start_serve --backend file --file "$W/d0" --size 64M --queues "$NCPU" --depth 64 || { fail "sigterm: server"; return; }
	timeout 120 fio --name=load --filename="$DEV" --ioengine=io_uring --direct=1 --iodepth=32 \
		--rw=randrw --bs=4k --numjobs="$NCPU" --time_based --runtime=60 --group_reporting \
		>"$W/fio-load.out" 2>&1 &
	local fpid=$!
	sleep 3
	local w
	w=$(stat_of writes)
	note "writes served before SIGTERM: $w"
	if [ "${w:-0}" -gt 0 ]; then pass "sigterm: under load ($w writes served)"; else fail "sigterm: no load reached the server"; fi
	kill -TERM "$SPID"
	wait "$SPID"
	local rc=$?
	SPID=
	if [ "$rc" -eq 0 ] && grep -q '^STOPPED$' "$W/serve.out"; then
		pass "sigterm: server stopped cleanly under load (exit 0)"
	else
		fail "sigterm: server exit $rc: $(tail -n 5 "$W/serve.err")"
	fi
	wait "$fpid"
	note "fio ended with status $? (errors expected: the device went away)"
	check "sigterm: no device left" no_ublk_devices
}

test_crash() {
	# A server killed with SIGKILL leaves its (stopped) device behind; a new server asking for
	# the same id removes it and takes over, as the daemon's restore does.
	mkfile "$W/d0" 16
	start_serve --backend file --file "$W/d0" --size 16M --dev-id 7 || { fail "crash: server"; return; }
	head -c $((1 << 20)) /dev/urandom >"$W/p"
	dd if="$W/p" of="$DEV" bs=64k oflag=direct,dsync status=none
	kill -KILL "$SPID"
	wait "$SPID" 2>/dev/null
	SPID=
	local i
	for i in $(seq 1 50); do [ -b /dev/ublkb7 ] || break; sleep 0.1; done
	# shellcheck disable=SC2012 # ls says which of the two is missing
	note "after SIGKILL: $(ls /dev/ublkb7 /dev/ublkc7 2>&1 | tr '\n' ' ')"
	if start_serve --backend file --file "$W/d0" --size 16M --dev-id 7; then
		if [ "$DEV" = /dev/ublkb7 ]; then pass "crash: restarted on the same id over the stale device"; else fail "crash: got $DEV"; fi
		check "crash: acknowledged O_DSYNC writes survived" cmp <(dd if="$DEV" bs=1M count=1 iflag=direct status=none) "$W/p"
		grep -q 'removing stale ublk device 7' "$W/serve.err" && note "$(grep 'stale' "$W/serve.err")"
		check "crash: stop" stop_serve
	else
		fail "crash: restart with --dev-id 7: $(cat "$W/serve.err")"
	fi
	check "crash: no device left" no_ublk_devices
}

test_bdev() {
	# A block-device drive: a loop device over a file (discard via BLOCK_URING_CMD_DISCARD,
	# write-zeroes via fallocate on the block device, O_DIRECT at its logical block size).
	mkfile "$W/img" 64
	local loopdev
	loopdev=$(losetup -f --show "$W/img") || { fail "bdev: losetup"; return; }
	start_serve --backend file --file "$loopdev" --size 32M --offset 16M --queues 2 --depth 32 ||
		{ fail "bdev: server"; losetup -d "$loopdev"; return; }
	if fio --name=bdev --filename="$DEV" --ioengine=io_uring --direct=1 --iodepth=32 --rw=randwrite \
		--bs=4k --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 >"$W/fio-bdev.out" 2>&1; then
		pass "bdev: randwrite+verify on a loop-device drive at offset 16M"
	else
		fail "bdev: $(grep -iE 'verify|error|bad' "$W/fio-bdev.out" | head -n 5)"
	fi
	check "bdev: blkdiscard -o 1M -l 1M" blkdiscard -o $((1 << 20)) -l $((1 << 20)) "$DEV"
	check "bdev: blkdiscard -z -o 4M -l 1M" blkdiscard -z -o $((4 << 20)) -l $((1 << 20)) "$DEV"
	check "bdev: zeroed range reads zeros" cmp -n $((1 << 20)) <(dd if="$DEV" bs=1M skip=4 count=1 iflag=direct status=none) /dev/zero
	if cmp -s -n $((1 << 20)) <(dd if="$DEV" bs=1M skip=1 count=1 iflag=direct status=none) /dev/zero; then
		note "discarded range reads zeros on this loop device"
	else
		note "discarded range keeps data (discard is advisory)"
	fi
	if [ "$(stat_of backend_errors)" = 0 ]; then pass "bdev: no backend errors"; else fail "bdev: backend errors: $(grep BACKEND "$W/serve.out")"; fi
	check "bdev: stop" stop_serve
	check "bdev: the image outside [16M,48M) untouched" cmp -n $((16 << 20)) "$W/img" /dev/zero
	losetup -d "$loopdev"
	rm -f "$W/img"
}

test_perf() {
	start_serve --backend null --size 1G --queues 1 --depth 128 || { fail "perf: server"; return; }
	if fio --name=ref --filename="$DEV" --ioengine=io_uring --direct=1 --iodepth=32 --rw=randread \
		--bs=4k --time_based --runtime=10 --numjobs=1 >"$W/fio-perf.out" 2>&1; then
		pass "perf: null volume randread 4k QD32 (1 job, 1 queue, TCG VM: reference only)"
		grep -E '^ +read:|lat \(usec\): min' "$W/fio-perf.out" | head -n 2 | sed 's/^ */  /'
	else
		fail "perf: fio: $(tail -n 3 "$W/fio-perf.out")"
	fi
	check "perf: stop" stop_serve
	# The same job on the kernel's null_blk in the same VM, for scale.
	if modprobe null_blk nr_devices=1 gb=1 queue_mode=2 irqmode=0 2>/dev/null && [ -b /dev/nullb0 ]; then
		fio --name=ref --filename=/dev/nullb0 --ioengine=io_uring --direct=1 --iodepth=32 --rw=randread \
			--bs=4k --time_based --runtime=10 --numjobs=1 >"$W/fio-nullb.out" 2>&1 &&
			note "kernel null_blk, same job: $(grep -E '^ +read:' "$W/fio-nullb.out" | sed 's/^ *//')"
		rmmod null_blk 2>/dev/null
	fi
}

for t in $TESTS; do
	echo "== $t"
	"test_$t"
	if [ -n "$SPID" ]; then
		fail "$t: left a server running"
		kill -TERM "$SPID"
		wait "$SPID"
		SPID=
	fi
	rm -f "$W"/d0 "$W"/d1 "$W"/d2 "$W"/*.orig "$W"/p "$W"/pattern
done
check "no ublk device left at the end" no_ublk_devices

summary
