#!/bin/bash
# recovery/sigterm-deletes-devices.sh — recoverable devices change nothing for a clean stop:
# SIGTERM stops and deletes every device (none is left quiesced), and the next start creates
# them afresh (recoveries: 0) with their data. `blkgate --on-crash` takes hold or fail only, and
# fail is refused with a clear message where the kernel lacks UBLK_F_USER_RECOVERY_FAIL_IO.
#   tests/vm/run tests/e2e/recovery/sigterm-deletes-devices.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=crash-helpers.bash
. "$(dirname "$0")/crash-helpers.bash"
require dd cmp

blkgate --state-dir "$W/bad" --on-crash sometimes 2>"$W/bad.err"
rc=$?
check "--on-crash sometimes: invalid-argument, exit 11 ($(cat "$W/bad.err"))" test "$rc" = 11
check "... naming the choices" grep -q "hold or fail" "$W/bad.err"
blkgate --state-dir "$W/fail" --on-crash fail 2>"$W/fail.err" &
fpid=$!
for _ in $(seq 50); do kill -0 "$fpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$fpid" 2>/dev/null; then
	note "this kernel has UBLK_F_USER_RECOVERY_FAIL_IO: --on-crash fail is accepted"
	kill -TERM "$fpid"
	wait "$fpid"
	check "--on-crash fail: the daemon logs the fail mode" grep -q "recovery fail" "$W/fail.err"
else
	wait "$fpid"
	rc=$?
	check "--on-crash fail without FAIL_IO: not-supported, exit 18 (exit $rc)" test "$rc" = 18
	check "... saying what is missing and what to use ($(tail -n 1 "$W/fail.err"))" \
		grep -q "USER_RECOVERY_FAIL_IO.*--on-crash hold" "$W/fail.err"
fi

gate_with_v0 64M --size 16M --offset 0
check "the log says devices are recoverable" grep -q "new devices are recoverable" "$W/gate.log"
expect "volume create v1" ok volume create v1 --disk k0 --size 16M --offset 32M
head -c $((1 << 20)) /dev/urandom >"$W/pat"
check "write v0" dd if="$W/pat" of="$V0" bs=64k oflag=direct
check "SIGTERM stops the daemon" stop_gate
check "no device is left, none quiesced" no_ublk_devices
check "the next start" start_gate
check "v0 has its name back" test "$(dev_of v0)" = "$V0"
check "created afresh, not recovered" sh -c "blkgatectl --json volume show v0 | grep -q '\"recoveries\":0'"
check "v0's data" cmp "$W/pat" <(dd if="$V0" bs=64k count=16 iflag=direct 2>/dev/null)
check "SIGTERM again" stop_gate
check "no device left" no_ublk_devices
summary
