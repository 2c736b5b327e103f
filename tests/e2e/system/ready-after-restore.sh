#!/bin/bash
# Behaviour: READY=1 comes only once every volume is restored and serving: with a slow
# restore (the test-only BLKGATE_TEST_RESTORE_DELAY_MS), the service stays "activating" and
# the volume has no device; the moment it is "active", the volume's device serves reads and
# STATUS= counts it.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
fresh_service "Environment=BLKGATE_TEST_RESTORE_DELAY_MS=6000"
mkvol v0 16M >/dev/null || fail "mkvol v0"
systemctl stop "$UNIT"
check "the clean stop deleted the device" no_ublk_devices
systemctl start --no-block "$UNIT"
check "activating while the restore waits" wait_for 3 sh -c "[ \"\$(systemctl show -P ActiveState $UNIT)\" = activating ]"
check "no device yet" no_ublk_devices
state=
while :; do
	state=$(prop ActiveState)
	[ "$state" = activating ] || break
	sleep 0.1
done
dev=$(json_field "$(blkgatectl --json volume show v0)" device)
check "active after the restore" test "$state" = active
check "the volume's device serves at once" dd if="$dev" of=/dev/null bs=4k count=16 iflag=direct
check "STATUS= counts it" sh -c "systemctl show -P StatusText $UNIT | grep -q '^serving 1 volume (0 offline, 0 stopped)'"
# systemd's own clock: from the daemon's exec to READY=1 (active) at least the 6 s delay.
started=$(prop ExecMainStartTimestampMonotonic)
ready=$(prop ActiveEnterTimestampMonotonic)
note "exec to active: $(((ready - started) / 1000)) ms"
check "READY=1 came after the restore's delay" test "$started" -gt 0 -a $((ready - started)) -ge 6000000
remove_volume v0
summary
