#!/bin/bash
# recovery/offline-holds-through-crash.sh — the gate holds through a crash: a volume that was
# offline when the daemon was killed never serves a request. A read and a write issued while no
# daemon runs wait (--on-crash hold), then fail with ENODEV once the next daemon has recovered
# the device, and the backing file does not change; the volume is still offline, and online
# again serves its data.
#   tests/vm/run tests/e2e/recovery/offline-holds-through-crash.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=crash-helpers.bash
. "$(dirname "$0")/crash-helpers.bash"
require dd cmp sha256sum
D=$W/data
RPID=
WPID=

gate_with_v0 32M --size 16M --offset 0
head -c $((1 << 20)) /dev/urandom >"$W/pat"
check "write data while online" dd if="$W/pat" of="$V0" bs=64k oflag=direct
expect "volume offline" ok volume offline v0
before=$(sha256sum <"$D/d0.img")
crash_gate

dd if="$V0" of=/dev/null bs=4k count=1 iflag=direct 2>"$W/read.err" &
RPID=$!
dd if=/dev/zero of="$V0" bs=4k count=1 oflag=direct 2>"$W/write.err" &
WPID=$!
sleep 1
check "a read while no daemon runs waits" kill -0 "$RPID"
check "a write while no daemon runs waits" kill -0 "$WPID"

check "restart after the crash" start_gate
check "the same device ($V0)" test "$(dev_of v0)" = "$V0"
wait "$RPID"
rrc=$?
wait "$WPID"
wrc=$?
RPID=
WPID=
check "the held read failed after recovery (exit $rrc)" test "$rrc" -ne 0
check "... with ENODEV ($(tr '\n' ' ' <"$W/read.err"))" grep -q "No such device" "$W/read.err"
check "the held write failed after recovery (exit $wrc)" test "$wrc" -ne 0
check "... with ENODEV ($(tr '\n' ' ' <"$W/write.err"))" grep -q "No such device" "$W/write.err"
check "a new read fails with ENODEV too" sh -c "dd if=$V0 of=/dev/null bs=4k count=1 iflag=direct 2>&1 | grep -q 'No such device'"
check "the volume is still offline" test "$(state_of v0)" = offline
check "the backing file did not change" test "$(sha256sum <"$D/d0.img")" = "$before"
expect "volume online" ok volume online v0
check "online again: the data reads back" cmp "$W/pat" <(dd if="$V0" bs=64k count=16 iflag=direct 2>/dev/null)
check "SIGTERM stops the daemon" stop_gate
check "no device left" no_ublk_devices
summary
