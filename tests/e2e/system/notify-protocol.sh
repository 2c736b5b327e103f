#!/bin/bash
# Behaviour: the daemon speaks systemd's notify protocol as documented, seen by systemd itself
# (its debug log names every message a service sends): at the start READY=1 with a STATUS=
# summary, once its volumes are restored; at `systemctl stop` STOPPING=1 with a STATUS=,
# before it exits, from the same process; and the same STOPPING=1 when the daemon stops on
# its own (`blkgatectl shutdown`), after which the unit is inactive, not failed.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
require journalctl systemd-analyze

# systemd logs "Got notification message from PID N (A=1, B=...)" at debug level.
level=$(systemd-analyze log-level)
systemd-analyze log-level debug
on_cleanup "systemd-analyze log-level $level"
# notes SINCE: the notification messages blkgate.service sent since the epoch time SINCE, one
# per line, as "PID TEXT".
notes() {
	journalctl -q -o cat --since "@$1" -u "$UNIT" |
		sed -n 's/.*Got notification message from PID \([0-9]*\) (\(.*\))$/\1 \2/p'
}

t=$(date +%s)
sleep 1
fresh_service ""
mkvol v0 16M >/dev/null || fail "mkvol v0"
systemctl restart "$UNIT"
pid=$(prop MainPID)
journalctl -q --sync
notes "$t" >"$W/start.notes"
check "READY=1 with a STATUS= summary from the daemon" \
	grep -qE "^$pid READY=1, STATUS=serving 1 volume" "$W/start.notes"

t=$(date +%s)
sleep 1
systemctl stop "$UNIT"
journalctl -q --sync
notes "$t" >"$W/stop.notes"
check "STOPPING=1 with a STATUS= at systemctl stop, from the same process" \
	grep -qE "^$pid STOPPING=1, STATUS=stopping" "$W/stop.notes"
check "systemd saw a clean exit" test "$(prop Result)" = success

systemctl start "$UNIT"
pid=$(prop MainPID)
t=$(date +%s)
sleep 1
ctl shutdown >/dev/null || fail "blkgatectl shutdown"
check "the daemon exited on its own" wait_for 30 sh -c "[ \"\$(systemctl show -P ActiveState $UNIT)\" = inactive ]"
journalctl -q --sync
notes "$t" >"$W/shutdown.notes"
check "STOPPING=1 at blkgatectl shutdown" grep -qE "^$pid STOPPING=1" "$W/shutdown.notes"
check "inactive, not failed, and not restarted" test "$(prop Result) $(prop ActiveState)" = "success inactive"
summary
