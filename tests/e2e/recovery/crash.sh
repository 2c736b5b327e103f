# shellcheck shell=bash
# tests/e2e/recovery/crash.sh — helpers of the recovery scripts; source it after ../lib.sh:
#   needs CMD...     every CMD must exist and ublk be loaded, else "SKIP: needs ..." and exit 77
#   crash_gate       kill -9 the daemon and reap it: its devices stay, quiesced
#   at_exit CMD      run CMD (eval'd) at exit, last registered first
#   gate_with_v0 DRIVE-SIZE VOLUME-ARGS...
#                    start the daemon with drive d0 ($W/data/d0.img, DRIVE-SIZE), disk k0 and
#                    volume v0 (`volume create v0 --disk k0 VOLUME-ARGS`); V0 = its device
# The EXIT trap runs the at_exit commands, then, when no daemon runs but devices are left (a
# crash or a handover the script did not finish), starts and stops one to clear them, then
# stops a running daemon. A check that fails therefore never leaves a device behind.
RECOVERY_AT_EXIT=()

needs() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "SKIP: needs $c"; exit 77; }
	done
	[ -e /dev/ublk-control ] || { echo "SKIP: needs ublk_drv"; exit 77; }
}

crash_gate() {
	kill -KILL "$GPID"
	wait "$GPID" 2>/dev/null
	GPID=
}

at_exit() { RECOVERY_AT_EXIT=("$1" "${RECOVERY_AT_EXIT[@]}"); }

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

# shellcheck disable=SC2317,SC2119 # called from the trap
recovery_exit() {
	local c
	for c in "${RECOVERY_AT_EXIT[@]}"; do eval "$c"; done
	[ -n "$GPID" ] || no_ublk_devices >/dev/null || { start_gate && stop_gate; }
	[ -z "$GPID" ] || stop_gate
}
trap recovery_exit EXIT
