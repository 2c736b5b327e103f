#!/bin/bash
# daemon/fua-ordering.sh — a write the kernel marks FUA (O_DSYNC writes, ext4's journal
# commits) is durable on the backing store when it completes, with --fua on (the volume takes
# FUA writes; each is written with RWF_DSYNC) and --fua off (the kernel follows each with a
# FLUSH). The backing store is a dm-log-writes device, which logs a write only once it is
# durable (a FUA write when it completes, the others at the next FLUSH); a mark after each
# completed write, replayed with tests/tools/logwrites-replay, shows what a crash there would
# have kept:
#   - each O_DSYNC write is in the device replayed to the mark right after it; a plain
#     O_DIRECT write is not (nothing made it durable yet: the replay can see a write missing);
#   - with --fua on, an O_DSYNC write through io_uring makes only itself durable (the plain
#     write before it is still missing), the log holds FUA writes and the volume's queue says fua 1; with
#     --fua off, the log has no FUA write and the FLUSH after the O_DSYNC write makes the plain
#     write durable too;
#   - after a kill -9 and a restart with --fua off, the recovered device still says fua 1 and
#     an O_DSYNC write through it is durable at its mark (the FUA request is honoured whatever
#     the new daemon's own --fua);
#   - ext4 on the volume, a file written and fsynced before each mark: the device replayed to
#     any mark mounts (the journal recovers), holds every file fsynced so far with its bytes,
#     and e2fsck -fn finds it clean after the mount.
#   tests/vm/run tests/e2e/daemon/fua-ordering.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl dmsetup losetup fio mkfs.ext4 e2fsck mount umount sha256sum dd cmp truncate
require_ublk
require_module dm-log-writes loop
find_tool logwrites-replay
REPLAY=$TOOL
B=4096

# block_is FILE BLOCK WANT: 4 KiB block BLOCK of FILE equals file WANT.
block_is() {
	dd if="$1" bs=$B skip="$2" count=1 status=none | cmp -s - "$3"
}

# A block never written (the replay image starts zeroed).
ZEROS=$W/zeros
head -c $B /dev/zero >"$ZEROS"

# uring_dsync_write LW DEV BLOCK MARK COPY: one 4 KiB O_DSYNC write through io_uring (fio) at
# BLOCK of DEV, then mark MARK in dm-log-writes device LW, then COPY = what DEV holds there.
# Asynchronous, so nothing but the write itself can make it durable (a synchronous O_DSYNC
# write, dd's, is also followed by the kernel's own fsync of the device: generic_write_sync).
uring_dsync_write() {
	if ! fio --name="$4" --filename="$2" --ioengine=io_uring --direct=1 --sync=dsync --rw=write \
		--bs=$B --size=$B --offset=$(($3 * B)) --invalidate=0 \
		--buffer_pattern="\"blkgate fua-ordering $4 \"" >"$W/fio.out" 2>&1; then
		tail -n 2 "$W/fio.out"
		return 1
	fi
	dmsetup message "$1" 0 mark "$4" &&
		dd if="$2" of="$5" bs=$B skip="$3" count=1 iflag=direct status=none
}

# replay_to LOG MARK IMAGE: IMAGE = the device as logged up to MARK (a new zeroed file).
replay_to() {
	rm -f "$3" && truncate -s 48M "$3" && "$REPLAY" "$1" replay "$3" "$2"
}

# run_mode on|off: the whole scenario with `blkgate --fua MODE`, on its own dm-log-writes device.
run_mode() {
	local m=$1 d=$W/$1 i dm data logdev blk v
	mkdir -p "$d/mnt" "$d/img-mnt"
	STATE=$W/state-$m
	SOCK=$STATE/control.sock
	export BLKGATE_SOCKET=$SOCK
	truncate -s 48M "$d/data.img" && truncate -s 160M "$d/log.img" || return 1
	data=$(losetup -f --show "$d/data.img") && logdev=$(losetup -f --show "$d/log.img") || return 1
	after_stop "losetup -d $data $logdev 2>/dev/null"
	after_stop "dmsetup remove --noudevsync lw-$m 2>/dev/null"
	check "[$m] dm-log-writes over two loop devices" \
		dmsetup create --noudevsync "lw-$m" --table "0 $((48 * 2048)) log-writes $data $logdev"
	dm=
	for blk in /sys/block/dm-*; do
		[ "$(cat "$blk/dm/name" 2>/dev/null)" = "lw-$m" ] && dm=/dev/${blk##*/}
	done
	[ -b "$dm" ] || { fail "[$m] no block device for lw-$m"; return 1; }

	check "[$m] daemon starts with --fua $m" start_gate --fua "$m"
	expect "[$m] drive on the dm-log-writes device" ok drive add d0 "$dm"
	expect "[$m] disk" ok disk create k0 d0
	expect "[$m] volume at the drive's start" ok volume create v --disk k0 --size 32M --offset 0
	v=$(dev_of v)
	note "[$m] $v: $(grep -o 'data path [a-z-]*' "$W/gate.log" | tail -n 1)"
	local want=0
	[ "$m" = on ] && want=1
	check "[$m] the volume's queue says fua $want" \
		test "$(cat "/sys/block/${v#/dev/}/queue/fua")" = "$want"

	for i in 1 2 3 4 5 6; do
		head -c $B /dev/urandom >"$d/p$i"
		if ! { dd if="$d/p$i" of="$v" bs=$B seek=$((100 + i)) count=1 oflag=direct,dsync \
			conv=notrunc status=none && dmsetup message "lw-$m" 0 mark "raw$i"; }; then
			fail "[$m] O_DSYNC write $i"
		fi
	done
	# Write 7 through io_uring: only it shows what the FUA write alone makes durable.
	head -c $B /dev/urandom >"$d/plain"
	if ! { dd if="$d/plain" of="$v" bs=$B seek=200 count=1 oflag=direct conv=notrunc status=none &&
		dmsetup message "lw-$m" 0 mark plain && uring_dsync_write "lw-$m" "$v" 201 raw7 "$d/p7" \
		>"$d/w.out"; }; then
		fail "[$m] plain write, then O_DSYNC write 7 (io_uring): $(cat "$d/w.out")"
	fi

	if [ "$m" = on ]; then
		# The device keeps its FUA attribute across a crash, and the next daemon writes FUA
		# requests durably whatever its own --fua.
		kill -KILL "$GPID"
		wait "$GPID" 2>/dev/null
		GPID=
		check "[on] restart with --fua off after a kill -9" start_gate --fua off
		check "[on] the same device, recovered" test "$(dev_of v)" = "$v"
		check "[on] ... its queue still says fua 1" \
			test "$(cat "/sys/block/${v#/dev/}/queue/fua")" = 1
		uring_dsync_write "lw-$m" "$v" 202 raw8 "$d/p8" >"$d/w.out" ||
			fail "[on] O_DSYNC write 8 (io_uring) after the restart: $(cat "$d/w.out")"
	fi

	check "[$m] mkfs.ext4" mkfs.ext4 -q -F -E nodiscard "$v"
	check "[$m] mount" mount "$v" "$d/mnt"
	for i in 1 2 3 4 5; do
		if ! { dd if=/dev/urandom of="$d/mnt/f$i" bs=64k count=2 conv=fsync status=none &&
			dmsetup message "lw-$m" 0 mark "fs$i"; }; then
			fail "[$m] fsync file $i"
		fi
	done
	(cd "$d/mnt" && sha256sum f1 f2 f3 f4 f5) >"$d/sums"
	check "[$m] umount" umount "$d/mnt"
	check "[$m] volume deleted" sh -c "blkgatectl volume delete v && blkgatectl disk delete k0 && blkgatectl drive remove d0"
	check "[$m] daemon stops" stop_gate
	check "[$m] dm-log-writes device removed (its log complete)" dmsetup remove --noudevsync "lw-$m"

	# The log as the loop device wrote it into its (buffered) file.
	local log=$d/log.img img=$d/replay.img sum
	sum=$("$REPLAY" "$log" summary | tail -n 1)
	note "[$m] log: $sum"
	local fua=${sum#* fua }
	fua=${fua%% *}
	if [ "$m" = on ]; then
		check "[$m] the log holds FUA writes (7 O_DSYNC writes at least): $fua" test "$fua" -ge 7
	else
		check "[$m] the log holds no FUA write" test "$fua" -eq 0
	fi
	local missing=
	for i in 1 2 3 4 5 6; do
		replay_to "$log" "raw$i" "$img" && block_is "$img" $((100 + i)) "$d/p$i" ||
			missing="$missing $i"
	done
	check "[$m] each of 6 O_DSYNC writes is durable at the mark after it (missing:${missing:- none})" \
		test -z "$missing"
	replay_to "$log" plain "$img" &&
		check "[$m] a plain O_DIRECT write is not durable at its mark" block_is "$img" 200 "$ZEROS"
	replay_to "$log" raw7 "$img" &&
		check "[$m] O_DSYNC write 7 is durable at its mark" block_is "$img" 201 "$d/p7"
	if [ "$m" = on ]; then
		check "[$m] ... and made only itself durable: the plain write before it is not" \
			block_is "$img" 200 "$ZEROS"
		replay_to "$log" raw8 "$img" &&
			check "[on] O_DSYNC write 8, served by the restarted --fua off daemon, is durable at its mark" \
				block_is "$img" 202 "$d/p8"
	else
		check "[$m] ... and its FLUSH made the plain write before it durable too" \
			block_is "$img" 200 "$d/plain"
	fi
	local n ok=1
	for i in 1 2 3 4 5; do
		replay_to "$log" "fs$i" "$img" || { ok=0; fail "[$m] replay to fs$i"; continue; }
		if ! mount -o loop "$img" "$d/img-mnt"; then
			ok=0
			fail "[$m] the device at fs$i does not mount"
			continue
		fi
		for ((n = 1; n <= i; n++)); do
			grep " f$n\$" "$d/sums" | (cd "$d/img-mnt" && sha256sum -c --quiet -) ||
				{ ok=0; fail "[$m] f$n (fsynced) wrong or missing at fs$i"; }
		done
		umount "$d/img-mnt" || { ok=0; fail "[$m] umount the replay at fs$i"; }
		e2fsck -fn "$img" >"$d/fsck.out" 2>&1 ||
			{ ok=0; fail "[$m] e2fsck -fn at fs$i: $(tail -n 3 "$d/fsck.out" | tr '\n' ' ')"; }
	done
	[ $ok = 1 ] && pass "[$m] ext4: at each of 5 marks the replay mounts, holds every fsynced file, fsck clean"
	return 0
}

run_mode on
run_mode off
summary
