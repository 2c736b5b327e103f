#!/bin/bash
# gate/another-call-in-progress.sh — while a call works on a volume (its pre-offline hook
# sleeps 4 s), a second call on it answers another-call-in-progress at once, a resource call
# on the pending volume invalid-state, and calls on other objects are not blocked.
#   tests/vm/run tests/e2e/gate/another-call-in-progress.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk

mkdir -p "$STATE/hooks"
cat >"$STATE/hooks/10-test" <<HOOK
#!/bin/sh
[ "\$BLKGATE_EVENT" = pre-offline ] || exit 0
case "\$BLKGATE_NAME" in
vslow) sleep 4 ;;
esac
exit 0
HOOK
chmod +x "$STATE/hooks/10-test"

check "daemon starts" start_gate --hook-timeout 20
check "create volume vslow" mkvol vslow 32M
check "create volume vc" mkvol vc 32M
blkgatectl --socket "$SOCK" volume offline vslow >"$W/slow.out" 2>&1 &
SLPID=$!
sleep 1.5
t0=${EPOCHREALTIME/./}
expect "a second call on a busy volume" another-call-in-progress volume online vslow
t1=${EPOCHREALTIME/./}
ms=$(((t1 - t0) / 1000))
check "another-call-in-progress came at once (${ms} ms, the hook sleeps 4 s)" test $ms -lt 1500
expect "a resource call on a pending volume" invalid-state offline volume/vslow
expect "other objects are not blocked by it" ok volume show vc
wait $SLPID
check "the slow offline finished ok" test $? -eq 0
expect "online vslow" ok volume online vslow
summary
