#!/bin/bash
# tests/e2e/hardening/state-dir-modes.sh — strict modes on the state dir (issue 9):
#   tests/vm/run tests/e2e/hardening/state-dir-modes.sh
# The daemon runs hooks from DIR/hooks as root and trusts DIR/state.json, so it refuses to start
# (permission-denied, exit 13), naming the path and the fix and changing nothing, when the state
# dir, its hooks dir or a directory above them can be changed by anyone but root: a 0777 state
# dir, a hooks dir writable by others, a parent owned by another user, a world-writable parent
# without the sticky bit, a symlink into such a place. A sticky world-writable parent (/tmp) is
# fine, and a state dir it creates is 0700.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl timeout
require_ublk
[ "$(id -u)" = 0 ] || skip "needs root (chown)"

T=$W/modes
after_stop "rm -rf /tmp/blkgate-sticky-state"
mkdir -p "$T"
chmod 0755 "$W" "$T"

# snapshot DIR: what is in and at DIR (names, modes, owners), to prove a refusal changed nothing.
snapshot() { if [ -e "$1" ]; then ls -lanR "$1"; else echo "absent"; fi; }

# refuses NAME DIR PATH FIX: blkgate --state-dir DIR exits 13 at once, its message names PATH
# and the FIX, and DIR is left as it was.
refuses() {
	local name=$1 dir=$2 path=$3 fix=$4 before rc
	before=$(snapshot "$dir")
	timeout 10 blkgate --state-dir "$dir" 2>"$W/refuse.err"
	rc=$?
	check "$name: exit 13, permission-denied (exit $rc: $(tail -n 1 "$W/refuse.err"))" test "$rc" = 13
	check "$name: says permission-denied" grep -qF "permission-denied: " "$W/refuse.err"
	check "$name: the message names $path" grep -qF "$path" "$W/refuse.err"
	check "$name: the message says the fix ($fix)" grep -qF "$fix" "$W/refuse.err"
	check "$name: nothing created or changed" test "$(snapshot "$dir")" = "$before"
}

# A 0777 state dir: anyone could plant hooks/ or a symlink named state.json.tmp.
mkdir "$T/open-state"
chmod 0777 "$T/open-state"
refuses "0777 state dir" "$T/open-state" "$T/open-state" "chmod go-w $T/open-state"
chmod 1777 "$T/open-state"
refuses "1777 state dir (sticky is not enough for the dir itself)" "$T/open-state" \
	"$T/open-state" "chmod go-w $T/open-state"

# A hooks dir writable by others (or by a group): anyone could add a hook that runs as root.
mkdir -p "$T/s1/hooks"
chmod 0700 "$T/s1"
chmod 0777 "$T/s1/hooks"
refuses "hooks dir 0777" "$T/s1" "$T/s1/hooks" "chmod go-w $T/s1/hooks"
chmod 0775 "$T/s1/hooks"
refuses "hooks dir 0775" "$T/s1" "$T/s1/hooks" "chmod go-w $T/s1/hooks"
chmod 0755 "$T/s1/hooks"
chown 65534 "$T/s1/hooks"
refuses "hooks dir owned by uid 65534" "$T/s1" "$T/s1/hooks" "chown root $T/s1/hooks"

# A parent owned by another user: they could rename the state dir and put their own in place.
mkdir -p "$T/alice/state"
chmod 0700 "$T/alice/state"
chown 65534 "$T/alice"
refuses "parent owned by uid 65534" "$T/alice/state" "$T/alice" "chown root $T/alice"
# The state dir itself owned by another user.
mkdir -p "$T/bob"
chown 65534 "$T/bob"
chmod 0700 "$T/bob"
refuses "state dir owned by uid 65534" "$T/bob" "$T/bob" "chown root $T/bob"

# A world-writable parent without the sticky bit; and a state dir to be created there is not.
mkdir -p "$T/pub/state"
chmod 0777 "$T/pub"
chmod 0700 "$T/pub/state"
refuses "world-writable parent" "$T/pub/state" "$T/pub" "chmod go-w $T/pub"
refuses "a missing state dir in a world-writable parent is not created" "$T/pub/new" "$T/pub" \
	"chmod go-w $T/pub"
# Through a symlink: the place it leads to is judged.
ln -s "$T/pub/state" "$T/link"
refuses "symlink into a world-writable parent" "$T/link" "$T/pub" "chmod go-w $T/pub"

# A sticky world-writable parent, like /tmp, is fine; a state dir created there is 0700.
[ "$(stat -c %a /tmp)" = 1777 ] || chmod 1777 /tmp
STATE=/tmp/blkgate-sticky-state
SOCK=$STATE/control.sock
export BLKGATE_SOCKET=$SOCK
rm -rf "$STATE"
blkgate --state-dir "$STATE" 2>>"$W/gate.log" &
GPID=$!
for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.05; done
check "a state dir created in sticky /tmp: the daemon starts" ctl ping
check "... and the state dir is 0700 ($(stat -c %a "$STATE"))" test "$(stat -c %a "$STATE")" = 700
check "stop" stop_gate
# A sticky parent that is not /tmp, with a state dir and hooks dir that are right.
mkdir -p "$T/sticky/state/hooks"
chmod 1777 "$T/sticky"
chmod 0755 "$T/sticky/state" "$T/sticky/state/hooks"
STATE=$T/sticky/state
SOCK=$STATE/control.sock
export BLKGATE_SOCKET=$SOCK
check "a sticky world-writable parent: the daemon starts" start_gate
check "stop" stop_gate
summary
