#!/bin/bash
# recovery/kill9-ext4-fio.sh — a kill -9 of the daemon under a verified write load through ext4
# loses nothing: the restarted daemon recovers the device (same /dev/ublkbN, same dev_t), the
# mount is still there, a file opened before the crash reads back identical through it, fio
# (crc32c verify) finishes with no error, and e2fsck finds the file system clean.
#   tests/vm/run tests/e2e/recovery/kill9-ext4-fio.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=crash-helpers.bash
. "$(dirname "$0")/crash-helpers.bash"
require fio mkfs.ext4 e2fsck cmp
M=$W/mnt
mkdir -p "$M"
FPID=
on_cleanup 'exec 7<&-' # the script's own descriptor would keep the file system busy

gate_with_v0 320M --size 256M --queues 2
check "mkfs.ext4" mkfs.ext4 -q -F "$V0"
expect "access path" ok volume path add v0 "$M"
check "recovery mode is hold-reissue" sh -c "blkgatectl --json volume show v0 | grep -q '\"recovery\":\"hold-reissue\"'"
devt=$(stat -c %t:%T "$V0")

# A file written and opened before the crash, read after it through the same descriptor.
head -c $((8 << 20)) /dev/urandom >"$W/kept"
cp "$W/kept" "$M/kept"
sync
exec 7<"$M/kept"

fio --name=direct --directory="$M" --size=96M --bs=4k --rw=randwrite --ioengine=libaio \
	--iodepth=16 --direct=1 --verify=crc32c --verify_fatal=1 --verify_backlog=256 \
	--name=buffered --size=64M --bs=64k --rw=write --ioengine=psync --direct=0 --fsync=16 \
	--verify=crc32c --verify_fatal=1 >"$W/fio.log" 2>&1 7<&- &
FPID=$!
sleep 3
check "fio is still writing when the daemon is killed" kill -0 "$FPID"
crash_gate
check "the device survives the crash" test -b "$V0"
check "the mount survives the crash" grep -q " $M " /proc/mounts
check "fio waits for the next daemon (no error yet)" kill -0 "$FPID"

# (The daemon must not inherit the descriptor: it would keep the file system busy.)
check "restart after the crash" start_gate 7<&-
check "the same device ($V0)" test "$(dev_of v0)" = "$V0"
check "the same dev_t ($devt)" test "$(stat -c %t:%T "$V0")" = "$devt"
check "the log says it was recovered" grep -q "volume v0: recovered $V0 in" "$W/gate.log"
check "volume show counts the recovery" sh -c "blkgatectl --json volume show v0 | grep -q '\"recoveries\":1'"
check "the mount is the same one, still there" test "$(grep -c " $M " /proc/mounts)" = 1
wait "$FPID"
rc=$?
FPID=
check "fio finished with no error (exit $rc)" test "$rc" = 0
check "fio reported no verify failure" sh -c "! grep -qiE 'verify failed|bad magic|bad header' '$W/fio.log'"
echo 3 >/proc/sys/vm/drop_caches
check "the file opened before the crash reads back identical" cmp "$W/kept" /proc/self/fd/7
exec 7<&-
check "the file read by path is identical too" cmp "$W/kept" "$M/kept"
expect "dismount" ok volume dismount v0
check "e2fsck -fn: clean after unmount" e2fsck -fn "$V0"
check "SIGTERM stops the daemon" stop_gate
check "no device left" no_ublk_devices
summary
