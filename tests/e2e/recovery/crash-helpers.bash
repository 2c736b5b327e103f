# shellcheck shell=bash
# tests/e2e/recovery/crash-helpers.bash — helpers of the recovery scripts (not a script of the
# suite: run-suite runs *.sh). Source it after ../lib.sh:
#   crash_gate       kill -9 the daemon and reap it: its devices stay, quiesced
#   gate_with_v0 DRIVE-SIZE VOLUME-ARGS...
#                    start the daemon with drive d0 ($W/data/d0.img, DRIVE-SIZE), disk k0 and
#                    volume v0 (`volume create v0 --disk k0 VOLUME-ARGS`); V0 = its device
# It requires ublk, blkgate and blkgatectl, and registers a cleanup: a script that ends with
# devices left and no daemon (a crash it did not follow with a start) gets a daemon started
# before the trap unmounts anything (an unmount would wait forever on a device no daemon
# serves), so the trap's stop clears them.
require_ublk
require blkgate blkgatectl

crash_gate() {
	kill -KILL "$GPID"
	wait "$GPID" 2>/dev/null
	GPID=
}

gate_with_v0() {
	local size=$1
	shift
	mkdir -p "$W/data"
	check "daemon starts" start_gate
	expect "drive add" ok drive add d0 "$W/data/d0.img" --size "$size"
	expect "disk create" ok disk create k0 d0
	expect "volume create v0" ok volume create v0 --disk k0 "$@"
	# shellcheck disable=SC2034 # the scripts' device
	V0=$(dev_of v0)
}

# shellcheck disable=SC2016,SC2119 # evaluated at exit; start_gate without daemon arguments
on_cleanup '[ -n "$GPID" ] || no_ublk_devices >/dev/null || start_gate'
