#!/bin/bash
# Behaviour: under systemd, with the installed package, `blkgatectl monitor` on the service's
# socket reports a volume's offline and online, in that order, each with the call that made
# it, and nothing else; as live/monitor-offline-online.sh does on a daemon run by hand in the
# busybox VM.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
fresh_service ""
check "a volume" mkvol v0 16M
check_offline_online_events v0
remove_volume v0
summary
