#!/bin/bash
# tests/e2e/hardening/enospc.sh — ENOSPC in proportion (issue 9):
#   tests/vm/run tests/e2e/hardening/enospc.sh
# A volume on a sparse backing file in a small tmpfs: writing more than the file system holds
# fails that write with ENOSPC ("No space left on device"), and the drive stays online (the gate
# no longer marks it failed), the volume serves reads; once space is freed, writes work again.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mount umount cmp df
require_ublk
SMALL=$W/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=8M tmpfs "$SMALL" || skip "needs a tmpfs mount"
after_stop "umount $SMALL"

check "daemon starts" start_gate
# 64 MiB sparse on 8 MiB, and 3 MiB of filler to free later.
check "drive, disk, volume" sh -c "blkgatectl --socket $SOCK drive add d0 $SMALL/d0.img --size 64M >/dev/null &&
	blkgatectl --socket $SOCK disk create k0 d0 >/dev/null &&
	blkgatectl --socket $SOCK volume create v0 --disk k0 --size 64M >/dev/null"
check "filler" dd if=/dev/zero of="$SMALL/filler" bs=1M count=3 status=none
V=$(dev_of v0)
note "$(df -k "$SMALL" | tail -n 1)"

err=$(dd_err if=/dev/urandom of="$V" bs=1M count=16 oflag=direct)
check "writing past the free space fails with ENOSPC ($err)" sh -c "echo '$err' | grep -q 'No space left on device'"
check "the drive is still online" test "$(json_field "$(ctl --json drive show d0)" status)" = online
check "the volume is still online" test "$(state_of v0)" = online
check "the daemon did not fail the drive" sh -c "! grep -q 'drive d0 failed' $W/gate.log"
check "reads are served" dd if="$V" of=/dev/null bs=1M count=4 iflag=direct status=none
err=$(dd_err if=/dev/urandom of="$V" bs=64k count=1 seek=512 oflag=direct)
check "a write to unallocated space still fails with ENOSPC ($err)" sh -c "echo '$err' | grep -q 'No space left on device'"

check "free space" rm -f "$SMALL/filler"
check "pattern" dd if=/dev/urandom of="$W/pattern" bs=1M count=2 status=none
check "writes work again once space is freed" dd if="$W/pattern" of="$V" bs=1M seek=32 oflag=direct status=none
check "... and read back" sh -c "dd if=$V bs=1M skip=32 count=2 iflag=direct status=none | cmp - $W/pattern"
check "the drive stayed online throughout" test "$(json_field "$(ctl --json drive show d0)" status)" = online
summary
