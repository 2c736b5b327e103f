#!/bin/bash
# gate/hooks-priority.sh — hooks run at SCHED_OTHER nice 10, started by a control thread that
# runs at SCHED_IDLE (the queue threads keep the daemon's priority: daemon/queue-thread-priority).
#   tests/vm/run tests/e2e/gate/hooks-priority.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl awk
require_ublk

mkdir -p "$STATE/hooks"
cat >"$STATE/hooks/10-test" <<HOOK
#!/bin/sh
awk '{print "policy " \$41 " nice " \$19}' /proc/\$\$/stat >$W/hook.prio
awk '\$41 == 5' /proc/\$PPID/task/*/stat | wc -l >$W/daemon.idle-threads
exit 0
HOOK
chmod +x "$STATE/hooks/10-test"

check "daemon starts" start_gate --hook-timeout 20
check "create volume vc" mkvol vc 32M
expect "volume offline (runs the hook)" ok volume offline vc
check "hooks run SCHED_OTHER at nice 10 ($(cat "$W/hook.prio"))" test "$(cat "$W/hook.prio")" = "policy 0 nice 10"
check "the control thread running the hook is SCHED_IDLE ($(cat "$W/daemon.idle-threads") such threads)" \
	test "$(cat "$W/daemon.idle-threads")" -ge 1
expect "online" ok volume online vc
summary
