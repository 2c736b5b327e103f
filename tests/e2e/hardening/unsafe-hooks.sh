#!/bin/bash
# tests/e2e/hardening/unsafe-hooks.sh — hooks run as root, so only safe ones run (issue 9):
#   tests/vm/run tests/e2e/hardening/unsafe-hooks.sh
# A hook owned by uid 65534 and a root hook with mode 0777 are never run (their marker file is
# not created, nor is the safe hook's) and pre-offline fails with permission-denied naming them;
# a post event with an unsafe hook is not refused and runs none; a hooks dir made writable by
# others after the start fails the same way. A safe hook sees only fds 0-2 (stdin /dev/null) and
# a minimal environment (PATH, LANG, LC_ALL and the BLKGATE_* variables), and `timeout` inside
# a bash hook stops what it started (no blocked SIGTERM, no ignored signals inherited).
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl bash timeout
require_ublk
[ "$(id -u)" = 0 ] || skip "needs root (chown)"
H=$STATE/hooks
mkdir -p "$H"
chmod 0755 "$W" "$STATE" "$H"

# The safe hook: records what it was started with, and what `timeout` can do inside it.
cat >"$H/10-probe" <<HOOK
#!/bin/bash
touch $W/ran-probe
[ "\$BLKGATE_EVENT" = pre-offline ] || exit 0
ls -l /proc/\$\$/fd >$W/hook.fds
tr '\0' '\n' </proc/\$\$/environ >$W/hook.env
start=\$(date +%s)
timeout 2 sleep 60
echo "\$? \$((\$(date +%s) - start))" >$W/hook.timeout
exit 0
HOOK
chmod 0755 "$H/10-probe"

check "daemon starts" start_gate --hook-timeout 60
check "volume v0 (drive d-v0)" mkvol v0 16M

# ---- a safe hook: fds, environment, signals ---------------------------------------------------
expect "offline with a safe hook" ok volume offline v0
check "the safe hook ran" test -e "$W/ran-probe"
# fd -> target, leaving out the shell's own open script (bash keeps it on fd 255).
fds=$(awk -v self="$H/10-probe" '{ for (i = 2; i < NF; i++) if ($i == "->" && $(i + 1) != self) print $(i - 1), $(i + 1) }' "$W/hook.fds" | sort -n | tr '\n' ' ')
note "hook fds: $fds"
check "the hook has fds 0, 1, 2 only, stdin /dev/null ($fds)" \
	sh -c "echo '$fds' | grep -qE '^0 /dev/null 1 [^ ]+ 2 [^ ]+ \$'"
names=$(cut -d= -f1 "$W/hook.env" | sort | tr '\n' ' ')
want="BLKGATE_EVENT BLKGATE_HOOK_TOKEN BLKGATE_KIND BLKGATE_NAME BLKGATE_OBJECT BLKGATE_SOCKET BLKGATE_STATE LANG LC_ALL PATH "
check "the hook's environment is minimal ($names)" test "$names" = "$want"
check "PATH=/usr/sbin:/usr/bin:/sbin:/bin" grep -qx 'PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$W/hook.env"
check "no variable of the daemon's (BLKGATE_IN_VM, HOME) reached it" \
	sh -c "! grep -qE '^(BLKGATE_IN_VM|HOME)=' $W/hook.env"
read -r trc secs <"$W/hook.timeout"
check "timeout inside the hook stopped sleep: exit 124 after ${secs}s" \
	sh -c "[ '$trc' = 124 ] && [ '$secs' -lt 10 ]"
expect "online again" ok volume online v0

# ---- unsafe hooks are never run ---------------------------------------------------------------
# refused NAME HOOK: volume offline gets permission-denied naming HOOK (or the hooks dir), no
# hook ran, and the volume is still online.
refused() {
	local name=$1 what=$2 out rc
	rm -f "$W"/ran-*
	out=$(blkgatectl --socket "$SOCK" --json volume offline v0)
	rc=$?
	printf '%s\n' "$out" >"$W/refused.out"
	check "$name: pre-offline gets permission-denied, exit 13 (exit $rc: $out)" \
		sh -c "[ $rc = 13 ] && grep -q '\"result\":\"permission-denied\"' $W/refused.out"
	check "$name: the message names $what" grep -qF "$what" "$W/refused.out"
	check "$name: it never ran" test ! -e "$W/ran-unsafe"
	check "$name: no other hook ran either" test ! -e "$W/ran-probe"
	check "$name: the volume is still online" test "$(state_of v0)" = online
}
printf '#!/bin/sh\ntouch %s/ran-unsafe\n' "$W" >"$H/20-nobody"
chmod 0755 "$H/20-nobody"
chown 65534:65534 "$H/20-nobody"
refused "a hook owned by uid 65534" "$H/20-nobody is owned by uid 65534"
rm -f "$H/20-nobody"
printf '#!/bin/sh\ntouch %s/ran-unsafe\n' "$W" >"$H/20-open"
chmod 0777 "$H/20-open"
refused "a root hook with mode 0777" "chmod go-w $H/20-open"
# A post event (the gate failing a drive has no pre-offline) is not refused, and runs nothing.
rm -f "$W"/ran-*
expect "drive set-status failed with an unsafe hook present" ok drive set-status d-v0 failed
check "no hook ran for post-offline" test ! -e "$W/ran-unsafe" -a ! -e "$W/ran-probe"
check "the daemon logged why" grep -q "no hook run: permission-denied: hook $H/20-open" "$W/gate.log"
rm -f "$H/20-open"
expect "drive offline (safe hooks again)" ok drive set-status d-v0 offline
expect "drive online" ok drive set-status d-v0 online
# The hooks dir itself, made writable by others after the start.
chmod 0777 "$H"
refused "a hooks dir writable by others" "chmod go-w $H"
chmod 0755 "$H"
rm -f "$W"/ran-*
expect "offline once everything is safe" ok volume offline v0
check "the safe hook ran again" test -e "$W/ran-probe"
summary
