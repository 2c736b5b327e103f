#!/bin/bash
# gate/hooks-veto.sh — a pre-offline hook exiting non-zero vetoes the offline (device-in-use)
# and the volume stays online; hooks get BLKGATE_EVENT/OBJECT/STATE/NAME.
#   tests/vm/run tests/e2e/gate/hooks-veto.sh
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
vveto) exit 3 ;;
esac
exit 0
HOOK
chmod +x "$STATE/hooks/10-test"

check "daemon starts" start_gate --hook-timeout 20
check "create volume vveto" mkvol vveto 32M
expect "a pre-offline hook vetoes" device-in-use volume offline vveto
check "vetoed volume stays online" test "$(state_of vveto)" = online
check "the hook saw pre-offline" grep -q 'pre-offline volume/vveto online' "$W/hooks.log"
check "no post-offline after the veto" sh -c "! grep -q 'post-offline volume/vveto' $W/hooks.log"
summary
