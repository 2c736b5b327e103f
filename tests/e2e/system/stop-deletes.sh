#!/bin/bash
# Behaviour: `systemctl stop blkgate` is the clean stop, as documented: the file system at the
# access path is unmounted and the device deleted (no ublk device, no name file left); the
# next start creates the device again and mounts it at its access path, data intact. A volume
# still in use keeps its device and mount through the stop, and the next start recovers it.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
require mkfs.ext4 findmnt
fresh_service ""
mounted_volume v0 kept

systemctl stop "$UNIT"
check "inactive" test "$(prop ActiveState)" = inactive
check "not mounted any more" sh -c "! findmnt -rn $W/mnt"
check "every device deleted" no_ublk_devices
check "no name file left" test -z "$(ls /run/blkgate/devices)"
check "systemd saw a clean exit" test "$(prop Result)" = success

systemctl start "$UNIT"
check "mounted again at the start" findmnt -rn "$W/mnt"
check "its data" test "$(cat "$W/mnt/file")" = kept
check "a new device, not a recovery" test "$(json_field "$(ctl --json volume show v0)" recoveries)" = 0

# In use (a cwd on it): the stop leaves the device and the mount.
(cd "$W/mnt" && exec sleep 600) &
busy=$!
on_cleanup "kill $busy"
sleep 0.5
dev=$(dev_of v0)
systemctl stop "$UNIT"
check "in use: still mounted after the stop" findmnt -rn "$W/mnt"
check "in use: the device stays" test -b "$dev"
systemctl start "$UNIT"
check "in use: recovered at the start" test "$(json_field "$(ctl --json volume show v0)" recoveries)" = 1
kill "$busy"
wait "$busy" 2>/dev/null
remove_volume v0
summary
