#!/bin/bash
# live/monitor-offline-online.sh — `blkgatectl monitor` reports a volume's offline and online,
# in that order, each with the call that made it, and its --json lines are events; --replay
# also gives the daemon start's events (cause recovery) after a restart.
#   tests/vm/run tests/e2e/live/monitor-offline-online.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk

check "daemon starts" start_gate
check "a volume" mkvol v0 16M
check_offline_online_events v0

check "monitor --json subscribes" monitor_start "$W/json" --json --count 3
expect "disk offline" ok disk offline k-v0
expect "disk online" ok disk online k-v0
check "monitor --json exits after 3 events" monitor_wait
note "$(cat "$W/json")"
check "json: disk offline first, with its op" grep -q '"kind":"disk".*"name":"k-v0".*"new":"offline".*"old":"online"' <(sed -n 1p "$W/json")
check "json: cause and op" grep -q '"cause":"call".*"op":"disk.offline"' <(sed -n 1p "$W/json")
check "json: then the volume" grep -q '"name":"v0","new":"offline"' <(sed -n 2p "$W/json")
check "json: then the disk online" grep -q '"name":"k-v0","new":"online","old":"offline"' <(sed -n 3p "$W/json")
check "json: numbered in order" test "$(grep -o '"seq":[0-9]*' "$W/json" | cut -d: -f2 | sort -n -c && echo sorted)" = sorted

check "restart" sh -c "blkgatectl --socket $SOCK shutdown >/dev/null && while [ -S $SOCK ]; do sleep 0.1; done"
wait "$GPID" 2>/dev/null
check "daemon starts again" start_gate
check "monitor --replay subscribes" monitor_start "$W/replay" --replay --count 3
check "monitor --replay exits after the 3 start events" monitor_wait
note "$(cat "$W/replay")"
check "replay: the volume restored, its device recovered or created" grep -Eq "volume/v0 unknown -> online \(recovery: device /dev/ublkb[0-9]+ (recovered|created)\)" "$W/replay"
summary
