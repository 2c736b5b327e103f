#!/bin/bash
# recovery/orphans-and-others.sh — a start touches only its own devices. A device of ours that
# no volume in the state claims (here: the state rolled back to v1's intent, saved before its
# device started, as a crash between the device's start and the save of its id leaves it) is
# deleted and named in the log, and v1 gets a fresh device (the create as after the call); the
# other volumes' devices are recovered; another ublk server's device, even at the id a
# volume had, is never touched: the volume takes another id, and a later volume whose recorded
# id that new device took moves on too, at once (not waiting 10 s for itself to exit).
#   tests/vm/run tests/e2e/recovery/orphans-and-others.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=crash-helpers.bash
. "$(dirname "$0")/crash-helpers.bash"
require dd cmp
SERVE=
for c in "$(command -v ublk-serve 2>/dev/null)" "${BLKGATE_VM_BUILD_DIR:-/repo/build}/tests/tools/ublk-serve"; do
	[ -n "$c" ] && [ -x "$c" ] && SERVE=$c && break
done
[ -n "$SERVE" ] || { echo "SKIP: needs tests/tools/ublk-serve (ninja -C build)"; exit 77; }
D=$W/data
SPID=
# shellcheck disable=SC2016 # evaluated at exit
on_cleanup '[ -z "$SPID" ] || { kill -TERM "$SPID"; wait "$SPID"; }'

gate_with_v0 64M --size 16M --offset 0
expect "volume create v1" ok volume create v1 --disk k0 --size 16M --offset 32M
V1=$(dev_of v1)
head -c $((1 << 20)) /dev/urandom >"$W/pat"
check "write v0" dd if="$W/pat" of="$V0" bs=64k oflag=direct
crash_gate
# The generation before v1's device id was saved: v1 (its intent) with no device id, and v1's
# device exists, claimed by no volume of the state.
check "roll the state back to v1's intent" cp "$STATE/state.json.prev" "$STATE/state.json"
check "... which has v1 without a device id" \
	grep -q '"dev_id": -1' "$STATE/state.json"
before=$(wc -l <"$W/gate.log")
check "restart" start_gate
tail -n +$((before + 1)) "$W/gate.log" >"$W/restart.log"
check "the orphan (v1's device $V1) is named in the log" \
	grep -q "ublk device ${V1#/dev/ublkb} .*is ours but no volume in the state claims it: deleting it" "$W/restart.log"
check "... and deleted before v1 got a fresh device" awk '
	/is ours but no volume in the state claims it: deleting it/ { deleted = NR }
	/volume v1 served as/ { served = NR }
	END { exit !(deleted && served > deleted) }' "$W/restart.log"
check "v1 is served" test -b "$(dev_of v1)"
check "v0 is recovered" test "$(dev_of v0)" = "$V0"
check "v0's data" cmp "$W/pat" <(dd if="$V0" bs=64k count=16 iflag=direct 2>/dev/null)
check "SIGTERM" stop_gate
check "no device left" no_ublk_devices

# Another server on v0's id: blkgate leaves it alone and serves v0 elsewhere.
id=${V0#/dev/ublkb}
dd if=/dev/zero of="$D/other.img" bs=1M count=8 2>/dev/null
"$SERVE" --backend file --file "$D/other.img" --size 8M --dev-id "$id" >"$W/serve.out" 2>"$W/serve.err" &
SPID=$!
for _ in $(seq 100); do grep -q DEVICE "$W/serve.out" && break; sleep 0.1; done
check "another server serves ublk device $id" grep -q "DEVICE /dev/ublkb$id" "$W/serve.out"
check "restart with the other server on v0's id" start_gate
check "v0 got another device" sh -c "test \"\$(blkgatectl --json volume show v0 | sed -n 's/.*\"device\":\"\\([^\"]*\\)\".*/\\1/p')\" != $V0"
check "the log says why" grep -q "belongs to another ublk server" "$W/gate.log"
# v0's new device took the lowest free id, v1's recorded one: v1 moves on at once, it does not
# wait 10 s for "the previous daemon" (this one) to exit.
check "v1's recorded id now holds v0's device: v1 takes another id at once" \
	grep -q "volume v1: create-elsewhere: .* is ours and served by this daemon" "$W/gate.log"
check "the other server's device still serves" dd if="/dev/ublkb$id" of=/dev/null bs=64k count=4 iflag=direct
check "v0's data on its new device" cmp "$W/pat" <(dd if="$(dev_of v0)" bs=64k count=16 iflag=direct 2>/dev/null)
check "SIGTERM" stop_gate
check "the other server's device outlives our stop" test -b "/dev/ublkb$id"
kill -TERM "$SPID"
wait "$SPID"
check "the other server stops cleanly" test $? = 0
SPID=
check "no device left" no_ublk_devices
summary
