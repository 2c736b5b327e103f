#!/bin/bash
# gate/hooks-reentrant.sh — a control call from inside a hook answers reentrant-call (exit 27)
# without blocking the transition; hooks see pre-offline and post-offline with the states.
#   tests/vm/run tests/e2e/gate/hooks-reentrant.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk

mkdir -p "$STATE/hooks"
cat >"$STATE/hooks/10-test" <<HOOK
#!/bin/sh
echo "\$BLKGATE_EVENT \$BLKGATE_OBJECT \$BLKGATE_STATE" >>$W/hooks.log
[ "\$BLKGATE_EVENT" = pre-offline ] || exit 0
case "\$BLKGATE_NAME" in
vre) blkgatectl --json list >$W/reenter.out 2>&1; echo \$? >$W/reenter.rc ;;
esac
exit 0
HOOK
chmod +x "$STATE/hooks/10-test"

check "daemon starts" start_gate --hook-timeout 20
check "create volume vre" mkvol vre 32M
rm -f "$W/reenter.rc"
expect "offline with a hook that calls blkgatectl" ok volume offline vre
check "the hook's call got reentrant-call (exit 27)" test "$(cat "$W/reenter.rc" 2>/dev/null)" = 27
check "the hook's call named reentrant-call" grep -q '"result":"reentrant-call"' "$W/reenter.out"
check "hooks saw pre- and post-offline" sh -c "grep -q 'pre-offline volume/vre online' $W/hooks.log && grep -q 'post-offline volume/vre offline' $W/hooks.log"
summary
