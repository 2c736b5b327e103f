#!/bin/bash
# crash-steps/kill-at-every-step.sh — crash consistency of the control plane: a kill -9 at any
# step of a control operation leaves, after the restart, every object as it was before the
# call or as the call leaves it, the state file and the kernel's devices agreeing (every volume
# served, one ublk device per volume: none leaked), and no stale claim (an online volume
# nothing mounts opens O_EXCL; an offline one is claimed).
#
# How: test-only crash points (gate/fault_point.h) sit before each effect of a call on the
# world (persisting the state, ublk commands, mounts, claims, gate words, hooks). For each
# operation and each N = 1, 2, ...: a fresh world, handed over to a daemon started with
# BLKGATE_TEST_KILL_AT=N, the call (the daemon kills itself with SIGKILL before its Nth step),
# then a normal start and the checks; N grows until the call completes without reaching it.
# The references are the world after the same handover without the call, and after the call.
#   tests/vm/run tests/e2e/crash-steps/kill-at-every-step.sh   (5 to 20 minutes under TCG, with the host load)
# shellcheck disable=SC2119 # start_gate takes daemon arguments; none here
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require_ublk
require blkgate blkgatectl mkfs.ext4
BLKCALL=${BLKGATE_VM_BUILD_DIR:-/repo/build}/tests/tools/blkcall
[ -x "$BLKCALL" ] || { echo "SKIP: needs tests/tools/blkcall (ninja -C build)"; exit 77; }
D=$W/data
M0=$W/m0
M2=$W/m2
FLOG=$W/faults.log

# The operations: NAME|blkgatectl arguments.
OPS=(
	"volume create|volume create v1 --disk k0 --size 4M --offset 40M"
	"volume delete|volume delete v2"
	"volume offline (mounted)|volume offline v0"
	"volume online|volume online v3"
	"volume dismount --permanent|volume dismount v2 --permanent"
	"volume path add|volume path add v2 $M2"
	"volume path remove|volume path remove v0 $M0"
	"drive set-status offline|drive set-status d0 offline"
)

# teardown: no daemon, no device, no mount, no state.
teardown() {
	[ -z "$GPID" ] || stop_gate
	no_ublk_devices >/dev/null || { start_gate && stop_gate; }
	umount "$M0" "$M2" 2>/dev/null
	rm -rf "$STATE" "$D"
}

# baseline: a fresh world. v0 ext4 mounted at its access path, v2 ext4 without one, v3 offline.
baseline() {
	teardown
	mkdir -p "$D" "$M0" "$M2"
	start_gate &&
		ctl drive add d0 "$D/d0.img" --size 64M && ctl disk create k0 d0 &&
		ctl volume create v0 --disk k0 --size 8M --offset 0 &&
		ctl volume create v2 --disk k0 --size 8M --offset 16M &&
		ctl volume create v3 --disk k0 --size 8M --offset 24M &&
		mkfs.ext4 -q -F "$(dev_of v0)" && mkfs.ext4 -q -F "$(dev_of v2)" &&
		ctl volume path add v0 "$M0" && ctl volume offline v3
} >"$W/baseline.log" 2>&1

# handover [KILL_AT]: the running daemon leaves its devices; the next one starts (armed to die
# before step KILL_AT of the next call, when given).
handover() {
	ctl shutdown --keep-devices >/dev/null && wait "$GPID"
	GPID=
	rm -f "$FLOG"
	if [ -n "${1:-}" ]; then
		export BLKGATE_TEST_KILL_AT=$1 BLKGATE_TEST_FAULT_LOG=$FLOG
	fi
	start_gate
	local rc=$?
	unset BLKGATE_TEST_KILL_AT BLKGATE_TEST_FAULT_LOG
	return $rc
}

# snapshot: the objects as `list --json` shows them, without the counters.
snapshot() {
	ctl --json list | sed -e 's/"stats":{[^}]*}//g' -e 's/"recoveries":[0-9]*//g'
}

# consistent: every volume served, one ublk device per volume, claims as the states say (a
# volume offline by its own or its disk's flag, or permanently dismounted, is claimed; one that
# reads offline only because a drive under it is offline is not, nor is an online one nothing
# mounts).
consistent() {
	local json nvol nrun ndev
	json=$(ctl --json list) || { echo "list failed"; return 1; }
	nvol=$(printf '%s' "$json" | grep -o '"backend":' | wc -l)
	nrun=$(printf '%s' "$json" | grep -o '"device":"/dev/ublkb[0-9]*"' | wc -l)
	ndev=$(find /sys/class/ublk-char -mindepth 1 -maxdepth 1 | wc -l)
	[ "$nvol" = "$nrun" ] || { echo "$nvol volumes, $nrun served"; return 1; }
	[ "$nvol" = "$ndev" ] || { echo "$nvol volumes, $ndev ublk devices"; return 1; }
	local name dev state mounts out want show
	while read -r name dev _ state _ _ mounts; do
		[ "$name" = NAME ] && continue
		[ "$mounts" = - ] || continue # a mount holds it
		want=ok
		show=$(ctl --json volume show "$name")
		case $(json_field "$show" offline_by) in volume | disk) want=EBUSY ;; esac
		[ "$(json_field "$show" dismount)" = permanent ] && want=EBUSY
		out=$("$BLKCALL" "$dev" open-excl 2>&1)
		[ "$out" = "$want" ] || { echo "$name ($state): O_EXCL open: $out, wanted $want"; return 1; }
	done < <(ctl volume list)
}

for op in "${OPS[@]}"; do
	name=${op%%|*}
	read -ra args <<<"${op#*|}"
	baseline || { fail "$name: baseline: $(tail -n 3 "$W/baseline.log")"; continue; }
	handover || { fail "$name: handover"; continue; }
	before=$(snapshot)
	baseline || { fail "$name: baseline"; continue; }
	ctl "${args[@]}" >"$W/call.out" 2>&1 || { fail "$name: the call itself fails: $(cat "$W/call.out")"; continue; }
	handover || { fail "$name: handover"; continue; }
	after=$(snapshot)
	[ "$before" != "$after" ] || { fail "$name: changes nothing"; continue; }
	for n in $(seq 1 40); do
		baseline || { fail "$name: baseline"; break; }
		handover "$n" || { fail "$name: armed start"; break; }
		ctl "${args[@]}" >"$W/call.out" 2>&1
		# The fault log, not `kill -0`, says whether the daemon killed itself: a killed daemon
		# the shell has not reaped yet still answers `kill -0`.
		if ! grep -q ' KILL$' "$FLOG" 2>/dev/null; then
			note "$name: $((n - 1)) steps: $(cut -d' ' -f2- "$FLOG" 2>/dev/null | tr '\n' ',' | sed 's/,$//')"
			[ "$n" -gt 1 ] || fail "$name: no crash point reached"
			break
		fi
		wait "$GPID" 2>/dev/null
		GPID=
		step=$(sed -n 's/^[0-9]* \(.*\) KILL$/\1/p' "$FLOG")
		if ! start_gate >"$W/restart.out" 2>&1; then
			fail "$name: killed before step $n ($step): the restart fails: $(tail -n 3 "$W/restart.out")"
			continue
		fi
		now=$(snapshot)
		if [ "$now" = "$before" ]; then
			was="as before"
		elif [ "$now" = "$after" ]; then
			was="as after"
		else
			fail "$name: killed before step $n ($step): neither before nor after: $now"
			continue
		fi
		if why=$(consistent); then
			pass "$name: killed before step $n ($step): $was, consistent"
		else
			fail "$name: killed before step $n ($step): $was, but $why"
		fi
	done
done
teardown
summary
