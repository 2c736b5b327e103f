#!/bin/bash
# Behaviour: the unit's sandboxing leaves the daemon in the host's mount namespace, so a file
# system it mounts at an access path is the host's (ProtectSystem=, ProtectHome=, PrivateTmp=
# are off); and why: with ProtectSystem=full (any directive that makes a mount namespace) the
# same start mounts the volume only inside the service, where no one else sees it.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
require mkfs.ext4 findmnt nsenter
fresh_service ""
for p in ProtectSystem ProtectHome PrivateTmp PrivateDevices; do
	check "the unit has no $p" test "$(prop "$p")" = no
done
mkvol v0 64M >/dev/null || fail "mkvol v0"
mkfs.ext4 -q "$(dev_of v0)" || fail "mkfs"
mkdir -p "$W/mnt"
ctl volume path add v0 "$W/mnt" >/dev/null || fail "path add"
check "the service's mount is seen in the host" findmnt -rn "$W/mnt"
check "the daemon shares the host's mount namespace" \
	test "$(readlink "/proc/$(prop MainPID)/ns/mnt")" = "$(readlink /proc/1/ns/mnt)"

# The same start with ProtectSystem=full: the restore mounts the volume in the service's
# own namespace only.
systemctl stop "$UNIT"
mkdir -p "$DROPIN_DIR"
printf '[Service]\nProtectSystem=full\n' >"$DROPIN_DIR/test.conf"
systemctl daemon-reload
systemctl start "$UNIT"
pid=$(prop MainPID)
check "ProtectSystem=full: mounted inside the service" nsenter -t "$pid" -m findmnt -rn "$W/mnt"
check_not "ProtectSystem=full: not seen in the host" findmnt -rn "$W/mnt"
remove_volume v0
summary
