#!/bin/bash
# tests/e2e/daemon.sh — blkgate + blkgatectl end to end in the VM (the ublk issue):
#   tests/vm/run tests/e2e/daemon.sh
# Bad input is refused with a named error and changes nothing; a volume at an offset of a
# two-drive disk writes exactly the right bytes of each backing file; fio write+verify; ext4
# with e2fsck; fsync reaches the daemon as FLUSH; discard / write-zeroes read back as zeros;
# a restart restores every volume with its data; SIGTERM under fio load leaves no device.
set -u
. "$(dirname "$0")/lib.sh"
MiB=$((1 << 20))

blkgate --state-dir "$W/bad-state" --control-priority 25 2>"$W/bad.err"
rc=$?
check "a bad daemon option exits 11 (invalid-argument) ($(cat "$W/bad.err"))" test $rc = 11
check "... and creates nothing" test ! -e "$W/bad-state"
check "daemon starts" start_gate
D=$W/data
mkdir -p "$D"

# ---- bad input: named error, exit status, nothing changed -----------------------------------
before=$(ctl --json list)
expect "unknown verb" invalid-argument frobnicate
expect "bad size" invalid-argument drive add x "$D/x.img" --size 12Q
expect "missing backing file without --size" not-found drive add x "$D/missing.img"
check "nothing created by the refused drive add" test ! -e "$D/x.img"
expect "drive add" ok drive add d0 "$D/d0.img" --size 64M
expect "drive add, two" ok drive add d1 "$D/d1.img" --size 64M
expect "duplicate drive name" already-exists drive add d0 "$D/other.img" --size 1M
check "the duplicate did not create its file" test ! -e "$D/other.img"
expect "disk of an unknown drive" not-found disk create k0 d0 nope
expect "disk create (two drives)" ok disk create k0 d0 d1
expect "drive in use by a disk" device-in-use drive remove d0
expect "volume on an unknown disk" not-found volume create v9 --disk nope --size 1M
expect "extent past the end of the disk" invalid-argument volume create v9 --disk k0 --size 100M --offset 48M
expect "size not a multiple of 512" invalid-argument volume create v9 --disk k0 --size 1000
expect "show an unknown volume" not-found volume show nope
expect "bad backend" invalid-argument volume create v9 --disk k0 --size 1M --backend nbd
check "refused calls left no volume" sh -c "! blkgatectl --socket $SOCK volume show v9 >/dev/null 2>&1"

# ---- a volume across both drives at a non-zero offset ---------------------------------------
# k0 = d0 [0, 64M) + d1 [64M, 128M). v0 = [48M, 80M): d0 [48M, 64M) then d1 [0, 16M).
expect "volume create at offset 48M" ok volume create v0 --disk k0 --size 32M --offset 48M --queues 2
V0=$(dev_of v0)
check "device node exists" test -b "$V0"
# Control work runs at SCHED_IDLE, nice 10 (--control-priority); the queue threads it creates
# do not: they apply the daemon's own class and nice (here SCHED_OTHER, 0).
qprio=$(for t in /proc/"$GPID"/task/*; do
	case $(cat "$t/comm") in ublk*-q*) awk '{print "policy " $41 " nice " $19}' "$t/stat" ;; esac
done | sort -u | tr '\n' ' ')
check "queue threads run SCHED_OTHER at nice 0, not as the control plane ($qprio)" \
	test "$qprio" = "policy 0 nice 0 "
check "device size is 32M" test "$(blockdev --getsize64 "$V0")" = $((32 * MiB))
head -c $((2 * MiB)) /dev/urandom >"$W/pat"
# Straddle the drive boundary: volume [15M, 17M) = d0 [63M, 64M) + d1 [0, 1M).
check "write across the drive boundary" dd if="$W/pat" of="$V0" bs=1M seek=15 oflag=direct conv=notrunc
check "write at the volume start" dd if="$W/pat" of="$V0" bs=1M count=1 oflag=direct
check "d0 [63M,64M) holds the first half" cmp -n $MiB "$W/pat" "$D/d0.img" 0 $((63 * MiB))
check "d1 [0,1M) holds the second half" cmp -n $MiB "$W/pat" "$D/d1.img" $MiB 0
check "d0 [48M,49M) holds the volume's first MiB" cmp -n $MiB "$W/pat" "$D/d0.img" 0 $((48 * MiB))
head -c $((48 * MiB)) /dev/zero >"$W/zero48"
check "d0 before the extent is untouched" cmp -n $((48 * MiB)) "$W/zero48" "$D/d0.img"
check "d1 after the extent is untouched" cmp -n $((48 * MiB)) "$W/zero48" "$D/d1.img" 0 $((16 * MiB))
check "read back through the device" cmp -n $((2 * MiB)) "$W/pat" "$V0" 0 $((15 * MiB))

# ---- fio write + verify over the whole volume on every queue --------------------------------
for bs in 4k 64k; do
	check "fio write+verify bs=$bs QD32 2 jobs" fio --name=verify --filename="$V0" --direct=1 \
		--ioengine=io_uring --rw=randwrite --bs=$bs --iodepth=32 --numjobs=2 --size=16M \
		--offset_increment=16M --verify=crc32c --verify_fatal=1 --do_verify=1 --group_reporting
done

# ---- file system, FLUSH, discard, write-zeroes ----------------------------------------------
expect "volume create v1 at the start of k0" ok volume create v1 --disk k0 --size 32M --offset 0
V1=$(dev_of v1)
check "mkfs.ext4" mkfs.ext4 -q -F "$V1"
mkdir -p /mnt/v1
check "mount" mount "$V1" /mnt/v1
flush0=$(json_field "$(ctl --json volume show v1)" flushes)
for i in 1 2 3; do head -c $((512 * 1024)) /dev/urandom >/mnt/v1/f$i; done
check "fsync a file" dd if=/dev/urandom of=/mnt/v1/synced bs=64k count=4 conv=fsync
flush1=$(json_field "$(ctl --json volume show v1)" flushes)
check "fsync reached the daemon as FLUSH ($flush0 -> $flush1)" test "$flush1" -gt "$flush0"
(cd /mnt/v1 && sha256sum f1 f2 f3 synced) >"$W/sums"
check "umount" umount /mnt/v1
check "e2fsck -fn is clean" e2fsck -fn "$V1"
check "remount" mount "$V1" /mnt/v1
check "checksums match after remount" sh -c "cd /mnt/v1 && sha256sum -c $W/sums"
check "umount again" umount /mnt/v1

check "write a pattern to discard" dd if="$W/pat" of="$V0" bs=1M count=2 seek=4 oflag=direct
check "BLKDISCARD" blkdiscard -o $((4 * MiB)) -l $((1 * MiB)) "$V0"
check "BLKZEROOUT" blkdiscard -z -o $((5 * MiB)) -l $((1 * MiB)) "$V0"
head -c $((2 * MiB)) /dev/zero >"$W/zero2"
check "discarded and zeroed ranges read back as zeros" cmp -n $((2 * MiB)) "$W/zero2" "$V0" 0 $((4 * MiB))
stats=$(ctl --json volume show v0)
check "the daemon counted discards and write-zeroes" test "$(json_field "$stats" discards)" -ge 1 -a "$(json_field "$stats" write_zeroes)" -ge 1

# ---- without --offset a volume takes the lowest free 1 MiB-aligned gap ----------------------
expect "a disk for automatic placement" ok drive add d2 "$D/d2.img" --size 16M
expect "its disk" ok disk create k2 d2
expect "volume without --offset" ok volume create p1 --disk k2 --size 3584K
expect "a second one" ok volume create p2 --disk k2 --size 4M
check "the first starts at 0" test "$(json_field "$(ctl --json volume show p1)" offset)" = 0
check "the second at the next MiB boundary (3.5M -> 4M)" test "$(json_field "$(ctl --json volume show p2)" offset)" = $((4 * MiB))
expect "no room left for 9M" invalid-argument volume create p3 --disk k2 --size 9M
expect "delete p1" ok volume delete p1
expect "delete p2" ok volume delete p2

# ---- restart restores every volume with its data --------------------------------------------
expect "a null volume" ok volume create vn --disk k0 --size 8M --offset 32M --backend null
sum0=$(dd if="$V0" bs=1M iflag=direct 2>/dev/null | sha256sum)
sum1=$(dd if="$V1" bs=1M iflag=direct 2>/dev/null | sha256sum)
check "SIGTERM stops the daemon cleanly" stop_gate
check "no device left after SIGTERM" no_ublk_devices
check "state file written" test -s "$STATE/state.json"
check "daemon restarts" start_gate
for v in v0 v1 vn; do
	check "volume $v restored and online" test "$(state_of $v)" = online
done
V0=$(dev_of v0)
V1=$(dev_of v1)
check "v0 data intact after restart" test "$(dd if="$V0" bs=1M iflag=direct 2>/dev/null | sha256sum)" = "$sum0"
check "v1 data intact after restart" test "$(dd if="$V1" bs=1M iflag=direct 2>/dev/null | sha256sum)" = "$sum1"
check "ext4 on v1 still clean" e2fsck -fn "$V1"

# ---- SIGTERM during fio load ----------------------------------------------------------------
fio --name=load --filename="$V0" --direct=1 --ioengine=io_uring --rw=randwrite --bs=4k \
	--iodepth=32 --numjobs=2 --time_based --runtime=60 >"$W/fio-load.log" 2>&1 &
FPID=$!
sleep 3
check "fio is running" kill -0 $FPID
check "SIGTERM under load: daemon exits 0" stop_gate
wait $FPID
check "fio saw its device go away (non-zero exit)" test $? -ne 0
check "no device left after SIGTERM under load" no_ublk_devices

# ---- a crash (SIGKILL) leaves dead devices; a restart clears them and keeps the names --------
check "daemon restarts again" start_gate
V0=$(dev_of v0)
V1=$(dev_of v1)
sum0=$(dd if="$V0" bs=1M iflag=direct 2>/dev/null | sha256sum)
kill -KILL "$GPID"
wait "$GPID" 2>/dev/null
GPID=
check "after SIGKILL the dead device is still there" test -e "/dev/ublkc${V0#/dev/ublkb}"
check "restart after the crash" start_gate
check "v0 keeps its device name ($V0)" test "$(dev_of v0)" = "$V0"
check "v1 keeps its device name ($V1)" test "$(dev_of v1)" = "$V1"
check "v0 data intact after the crash" test "$(dd if="$V0" bs=1M iflag=direct 2>/dev/null | sha256sum)" = "$sum0"
nvol=$(ctl --json volume list | grep -o '"device":"/dev/ublkb[0-9]*"' | wc -l)
ndev=$(ls /dev/ublkb* | wc -l)
check "no stale device left: $ndev devices for $nvol volumes" test "$ndev" -eq "$nvol"

# ---- delete: refused while mounted, then works ----------------------------------------------
V1=$(dev_of v1)
check "mount v1" mount "$V1" /mnt/v1
expect "delete a mounted volume" device-in-use volume delete v1
check "umount v1" umount /mnt/v1
expect "delete v1" ok volume delete v1
expect "v1 is gone" not-found volume show v1
check "v1's device is gone" test ! -e "$V1"
expect "delete disk with volumes" device-in-use disk delete k0
summary
