#!/bin/bash
# live/monitor-hook-veto.sh — a pre-offline hook's veto is an event: `blkgatectl monitor`
# reports the volume unchanged (online -> online), the refused state and the hook's message.
#   tests/vm/run tests/e2e/live/monitor-hook-veto.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk

mkdir -p "$STATE/hooks"
cat >"$STATE/hooks/10-veto" <<'HOOK'
#!/bin/sh
[ "$BLKGATE_EVENT" = pre-offline ] && exit 3
exit 0
HOOK
chmod +x "$STATE/hooks/10-veto"

check "daemon starts" start_gate
check "a volume" mkvol v0 16M
check "monitor subscribes" monitor_start "$W/events" --count 1
expect "the hook vetoes volume offline" device-in-use volume offline v0
check "monitor saw the veto and exited" monitor_wait
note "$(cat "$W/events")"
check "the veto: nothing changed, offline refused, the hook named" \
	grep -q " volume/v0 online -> online (hook-veto volume.offline: refused offline: device-in-use: hook .*10-veto exited 3)$" "$W/events"
summary
