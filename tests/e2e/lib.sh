# tests/e2e/lib.sh — shared helpers for the end-to-end scripts that drive the blkgate daemon
# through blkgatectl inside the VM (tests/vm/run). Source it; it defines:
#   pass/fail/check/expect   assertions; `summary` prints "N passed, N failed" and exits
#   start_gate [ARGS]        start the daemon on $STATE (waits for its socket); stop_gate
#   ctl ARGS                 blkgatectl on our socket
#   dev_of VOLUME            /dev/ublkbN of a volume (from `volume show --json`)
#   make_volume NAME SIZE    a file drive, a disk and a volume NAME; remove_volume NAME undoes it
export LC_ALL=C
W=${E2E_WORKDIR:-/tmp/e2e}
STATE=$W/state
SOCK=$STATE/control.sock
export BLKGATE_SOCKET=$SOCK
npass=0
nfail=0
GPID=

mkdir -p "$W"

pass() { echo "PASS $*"; npass=$((npass + 1)); }
fail() { echo "FAIL $*"; nfail=$((nfail + 1)); }
note() { echo "  $*"; }

# check NAME CMD...: passes when CMD exits 0.
check() {
	local name=$1
	shift
	if "$@" >"$W/check.out" 2>&1; then pass "$name"; else fail "$name: $(tail -n 5 "$W/check.out" | tr '\n' ' ')"; fi
}

# check_not NAME CMD...: passes when CMD exits non-zero.
check_not() {
	local name=$1
	shift
	if "$@" >"$W/check.out" 2>&1; then fail "$name: succeeded but must not: $(tail -n 3 "$W/check.out" | tr '\n' ' ')"; else pass "$name"; fi
}

# expect NAME RESULT ARGS...: blkgatectl ARGS must end with the named RESULT (ok or an error
# name), both in its exit status and on stderr / in --json.
declare -A EXIT_OF=([ok]=0 [invalid-argument]=11 [not-found]=12 [permission-denied]=13
	[not-ready]=14 [failed-to-offline-disk]=15 [temporarily-dismounted]=16
	[permanently-dismounted]=17 [not-supported]=18 [has-access-path]=19 [device-in-use]=20
	[cache-corrupt]=21 [object-deleted]=22 [object-failed]=23 [another-call-in-progress]=24
	[system-volume]=25 [invalid-state]=26 [reentrant-call]=27 [already-exists]=28
	[io-error]=29 [protocol-error]=30)
expect() {
	local name=$1 want=$2
	shift 2
	local out rc
	out=$(blkgatectl --socket "$SOCK" --json "$@" 2>"$W/expect.err")
	rc=$?
	local got
	got=$(printf '%s' "$out" | sed -n 's/^{"result":"\([a-z-]*\)".*/\1/p')
	if [ "$rc" = "${EXIT_OF[$want]}" ] && [ "$got" = "$want" ]; then
		pass "$name ($want)"
	else
		fail "$name: wanted $want (exit ${EXIT_OF[$want]}), got '$got' exit $rc: $out $(cat "$W/expect.err")"
	fi
}

ctl() { blkgatectl --socket "$SOCK" "$@"; }

# json_field JSON KEY: the scalar value of "KEY" at the top level of a compact JSON object.
json_field() { printf '%s' "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\)\"\{0,1\}[,}].*/\1/p" | head -n 1; }

dev_of() { json_field "$(ctl --json volume show "$1")" device; }
state_of() { json_field "$(ctl --json volume show "$1")" state; }

start_gate() {
	mkdir -p "$STATE"
	rm -f "$SOCK"
	blkgate --state-dir "$STATE" "$@" 2>>"$W/gate.log" &
	GPID=$!
	local i
	for i in $(seq 100); do
		if [ -S "$SOCK" ] && ctl ping >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$GPID" 2>/dev/null; then
			echo "blkgate exited at start:"
			tail -n 20 "$W/gate.log"
			GPID=
			return 1
		fi
		sleep 0.1
	done
	echo "blkgate did not open its socket"
	return 1
}

stop_gate() {
	[ -n "$GPID" ] || return 0
	kill -TERM "$GPID"
	wait "$GPID"
	local rc=$?
	GPID=
	return $rc
}

# no_ublk_devices: nothing left in /dev or sysfs.
no_ublk_devices() {
	local left
	left=$(ls /dev/ublkb* /dev/ublkc* 2>/dev/null; ls /sys/class/ublk-char/ 2>/dev/null)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# dd_direct_err DEV ARGS: run an O_DIRECT dd, print its error text (empty on success).
dd_err() { dd "$@" 2>&1 >/dev/null | grep -v 'records\|copied' || true; }

summary() {
	[ -n "$GPID" ] && stop_gate
	echo "---- blkgate daemon log (tail) ----"
	tail -n 40 "$W/gate.log" 2>/dev/null
	echo "$npass passed, $nfail failed"
	[ "$nfail" -eq 0 ]
	exit $?
}

# make_volume NAME SIZE: a file drive d-NAME ($W/NAME.img, created), a disk k-NAME on it and a
# volume NAME of SIZE on that (one queue).
make_volume() {
	ctl drive add "d-$1" "$W/$1.img" --size "$2" && ctl disk create "k-$1" "d-$1" &&
		ctl volume create "$1" --disk "k-$1" --size "$2" --queues 1
}

# remove_volume NAME: undo make_volume, quietly and as far as it goes: the volume's access
# paths are removed (unmounting them), what else is mounted is dismounted (forced), then the
# volume, its disk and its drive (and the drive's file) are deleted.
remove_volume() {
	ctl --json volume path list "$1" 2>/dev/null | grep -o '"path":"[^"]*"' | cut -d'"' -f4 |
		while IFS= read -r p; do ctl volume path remove "$1" "$p" >/dev/null 2>&1; done
	ctl volume dismount "$1" --force >/dev/null 2>&1
	ctl volume delete "$1" >/dev/null 2>&1
	ctl disk delete "k-$1" >/dev/null 2>&1
	ctl drive remove "d-$1" >/dev/null 2>&1
	rm -f "$W/$1.img"
}
