#!/bin/bash
# Behaviour: under systemd, with the installed package, `blkgatectl stats --json` counts what
# fio did on a volume of the service: reads and writes, their number and their bytes, each
# within 1% of fio's own numbers (fio randrw, O_DIRECT, 4k and 64k); as
# live/stats-counts-fio.sh does on a daemon run by hand in the busybox VM.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
require fio
fresh_service ""
mkvol v0 64M >/dev/null || fail "mkvol v0"
dev=$(dev_of v0)
before=$(blkgatectl --json stats v0)
fio_randrw "$dev"
after=$(blkgatectl --json stats v0)
check_stats_vs_fio "$before" "$after"
remove_volume v0
summary
