#!/bin/bash
# Behaviour: `systemctl restart blkgate` is a handover, as documented in blkgate(8) and the
# unit: the unit's ExecStop= sees the restart job and runs `blkgatectl shutdown
# --keep-devices`, so the volume's device, its mount at the access path (the same mount) and a
# file open on it survive, the next daemon recovers the device (recoveries 1), and writes go on.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
require mkfs.ext4 findmnt
fresh_service ""
mounted_volume v0 before
dev=$(dev_of v0)
id=$(mount_id)
exec 9>>"$W/mnt/file" # a file open on the volume through the restart
on_cleanup "exec 9>&-"
pid=$(prop MainPID)

systemctl restart "$UNIT"
check "active again" test "$(prop ActiveState)" = active
check "a new daemon" test "$(prop MainPID)" != "$pid"
check "ExecStop handed over" sh -c "journalctl -b -u $UNIT -o cat | grep -q 'handing every device over'"
check "the device stayed" test "$(dev_of v0)" = "$dev"
check "recovered by the next daemon" test "$(json_field "$(ctl --json volume show v0)" recoveries)" = 1
check "the same mount" test "$(mount_id)" = "$id"
check "the open file writes on" sh -c 'echo after >&9 && sync'
check "its data" test "$(cat "$W/mnt/file")" = "before
after"
exec 9>&-
remove_volume v0
summary
