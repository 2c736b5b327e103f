#!/bin/bash
# recovery/fail-mode-crash.sh — `blkgate --on-crash fail` (UBLK_F_USER_RECOVERY_FAIL_IO, Linux
# 6.13+): after a kill -9, requests issued while no daemon runs fail at once with an I/O error
# (EREMOTEIO for O_DIRECT readers on 7.2) instead of waiting, the device stays (same
# /dev/ublkbN, recoverable), and the next daemon recovers it: the data written before the crash
# reads back and new I/O works. On a kernel without FAIL_IO
# (6.12) the mode is refused at start (sigterm-deletes-devices.sh), so this script skips (77).
#   VM_KERNEL=unstable tests/vm/run tests/e2e/recovery/fail-mode-crash.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require dd cmp timeout
require_ublk
require blkgate blkgatectl
case $(blkgate --version --json --on-crash fail) in
*'"recovery":"fail"'*) ;;
*) skip "needs UBLK_F_USER_RECOVERY_FAIL_IO (Linux 6.13+; this is $(uname -r))" ;;
esac
# After a crash, a start brings the devices back before the trap unmounts anything.
# shellcheck disable=SC2016 # evaluated at exit
on_cleanup '[ -n "$GPID" ] || no_ublk_devices >/dev/null || start_gate --on-crash fail'

mkdir -p "$W/data"
check "daemon starts with --on-crash fail" start_gate --on-crash fail
expect "drive add" ok drive add d0 "$W/data/d0.img" --size 32M
expect "disk create" ok disk create k0 d0
expect "volume create v0" ok volume create v0 --disk k0 --size 16M
V0=$(dev_of v0)
check "the device's recovery mode is fail" \
	test "$(json_field "$(ctl --json volume show v0)" recovery)" = fail
head -c $((1 << 20)) /dev/urandom >"$W/pat"
check "write data" dd if="$W/pat" of="$V0" bs=64k oflag=direct

kill -KILL "$GPID"
wait "$GPID" 2>/dev/null
GPID=
check "the device stays after the crash" test -b "$V0"
timeout 20 dd if="$V0" of=/dev/null bs=4k count=1 iflag=direct 2>"$W/read.err"
rc=$?
check "a read while no daemon runs fails at once (exit $rc, not 124: no wait)" \
	test "$rc" -ne 0 -a "$rc" -ne 124
# The kernel ends them with an error status: O_DIRECT readers see EREMOTEIO on 7.2.
check "... with an I/O error ($(tr '\n' ' ' <"$W/read.err"))" grep -q "I/O error" "$W/read.err"
timeout 20 dd if=/dev/zero of="$V0" bs=4k count=1 oflag=direct 2>"$W/write.err"
rc=$?
check "a write while no daemon runs fails at once (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "restart after the crash" start_gate --on-crash fail
check "the same device ($V0)" test "$(dev_of v0)" = "$V0"
check "the log says it was recovered" grep -q "volume v0: recovered $V0" "$W/gate.log"
check "the data written before the crash reads back" \
	cmp "$W/pat" <(dd if="$V0" bs=64k count=16 iflag=direct 2>/dev/null)
check "new I/O works" dd if="$W/pat" of="$V0" bs=64k seek=32 oflag=direct
check "SIGTERM stops the daemon" stop_gate
check "no device left" no_ublk_devices
summary
