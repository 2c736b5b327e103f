#!/bin/bash
# daemon/zero-copy.sh — where the kernel has UBLK_F_AUTO_BUF_REG (6.16+), a `file` volume's
# device is zero copy (the backing files are read and written straight from the request's
# pages) and behaves exactly as the copy path: a volume across a drive boundary writes the
# right bytes of each file and verifies under fio with mixed block sizes, FLUSH / DISCARD /
# WRITE_ZEROES work, the gate refuses I/O of an offline volume; requests whose automatic
# registration fails are served through the fallback (BLKGATE_TEST_ZC_BUSY_EVERY=2 occupies
# the indexes of every other tag); `--data-path copy` gives a copying device; a zero-copy device
# recovered after kill -9 stays zero copy with its data. On a kernel without it (6.12) the
# device copies, as before.
#   VM_KERNEL=unstable tests/vm/run tests/e2e/daemon/zero-copy.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl fio cmp dd blkdiscard
require_ublk
D=$W/data
mkdir -p "$D"

zc=$(json_field "$(blkgate --version --json)" zero_copy)
# served MODE: how many times the log said v0 got a device with data path MODE
served() { grep -c "volume v0 \(served\|recovered\) as $V0 (data path $1," "$W/gate.log"; }
# shellcheck disable=SC2317  # called through check
# verify NAME: fio random writes of mixed sizes over the whole volume, then a verify pass
verify() {
	fio --name=zc --filename="$V0" --ioengine=io_uring --direct=1 --rw=randwrite \
		--bsrange=4k-256k --iodepth=32 --size=32M --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --randrepeat=0 --output="$W/fio-$1.out" >/dev/null 2>&1 ||
		{ tail -n 20 "$W/fio-$1.out"; return 1; }
}

check "daemon starts" start_gate
expect "drive add d0" ok drive add d0 "$D/d0.img" --size 24M
expect "drive add d1" ok drive add d1 "$D/d1.img" --size 24M
expect "disk create (two drives)" ok disk create k0 d0 d1
# v0 = [8M, 40M) of k0: d0 [8M, 24M) then d1 [0, 16M); the boundary at volume offset 16M.
expect "volume create across the drive boundary" ok volume create v0 --disk k0 --size 32M \
	--offset 8M --queues 2
V0=$(dev_of v0)
if [ "$zc" != true ]; then
	note "kernel $(uname -r) has no UBLK_F_AUTO_BUF_REG"
	check "without AUTO_BUF_REG the file volume copies" test "$(served copy)" = 1
	summary
fi
check "the file volume is zero copy ($V0)" test "$(served zero-copy)" = 1

head -c $((2 * MiB)) /dev/urandom >"$W/pat"
check "write across the drive boundary" dd if="$W/pat" of="$V0" bs=1M seek=15 oflag=direct conv=notrunc status=none
check "d0 [23M,24M) holds the first half" cmp -n $MiB "$W/pat" "$D/d0.img" 0 $((23 * MiB))
check "d1 [0,1M) holds the second half" cmp -n $MiB "$W/pat" "$D/d1.img" $MiB 0
check "read back through the device" cmp -n $((2 * MiB)) "$W/pat" "$V0" 0 $((15 * MiB))
check "fio randwrite 4k-256k QD 32 + verify" verify zc
check "fsync reaches the server (FLUSH)" dd if="$W/pat" of="$V0" bs=64k count=1 conv=fsync,notrunc status=none
check "blkdiscard -z across the boundary (WRITE_ZEROES)" blkdiscard -z -o $((15 * MiB)) -l $((2 * MiB)) "$V0"
check "the zeroed range reads zeros" cmp -n $((2 * MiB)) /dev/zero "$V0" 0 $((15 * MiB))
check "blkdiscard (DISCARD)" blkdiscard -o 0 -l $MiB "$V0"
expect "volume offline" ok volume offline v0
check_not "an offline volume refuses reads" dd if="$V0" of=/dev/null bs=4k count=1 iflag=direct status=none
expect "volume online" ok volume online v0
check "reads work again" dd if="$V0" of=/dev/null bs=4k count=1 iflag=direct status=none
s=$(json_field "$(ctl --json volume show v0)" backend_errors)
check "no backend errors (${s:-?})" test "${s:-0}" = 0

# The fallback: every other tag of each queue gets no automatic registration. (A block of low
# tags is not enough: blk-mq's tag search starts at a random hint per CPU, and a whole fio run
# at QD 32 can stay above 64: seen on 7.2.13.)
stop_gate
BLKGATE_TEST_ZC_BUSY_EVERY=2 start_gate
V0=$(dev_of v0)
check "restarted with every other index occupied: still zero copy" test "$(served zero-copy)" = 2
check "fio randwrite + verify through the fallback" verify fallback
check "the fallback was taken and logged" grep -q "registering them by hand" "$W/gate.log"

# --data-path copy: a new device that copies.
stop_gate
start_gate --data-path copy
V0=$(dev_of v0)
check "--data-path copy gives a copying device" test "$(served copy)" = 1
check "fio randwrite + verify on the copy path" verify copy
stop_gate

# kill -9 of a zero-copy device: recovered, still zero copy, data intact.
start_gate
V0=$(dev_of v0)
check "zero copy again by default" test "$(served zero-copy)" = 3
check "a pattern written" dd if="$W/pat" of="$V0" bs=1M seek=4 oflag=direct conv=notrunc status=none
kill -KILL "$GPID"
wait "$GPID" 2>/dev/null
GPID=
check "the daemon restarts after kill -9" start_gate
check "the device was recovered, zero copy" grep -q "volume v0 recovered as $V0 (data path zero-copy," "$W/gate.log"
check "the pattern reads back after recovery" cmp -n $((2 * MiB)) "$W/pat" "$V0" 0 $((4 * MiB))
check "fio randwrite + verify after recovery" verify recovered
summary
