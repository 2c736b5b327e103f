#!/bin/bash
# tests/e2e/demo.sh — the narrated demo (see tools/demo). Exits non-zero if any step misbehaves.
set -euo pipefail
W=$(mktemp -d /tmp/blkgate-demo.XXXXXX)
export BLKGATE_SOCKET=$W/state/control.sock
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { echo "\$ $*"; "$@"; }
mkdir -p "$W/state" "$W/mnt"
blkgate --state-dir "$W/state" 2>"$W/gate.log" &
GPID=$!
trap 'kill $GPID 2>/dev/null; wait $GPID 2>/dev/null; echo; echo "daemon log:"; sed "s/^/  /" "$W/gate.log"' EXIT
for _ in $(seq 100); do blkgatectl ping >/dev/null 2>&1 && break; sleep 0.1; done

say "A drive (a 256 MiB file), a disk on it, and a volume exposed through ublk"
run blkgatectl drive add d0 "$W/d0.img" --size 256M
run blkgatectl disk create k0 d0
run blkgatectl volume create v0 --disk k0 --size 128M
DEV=$(blkgatectl --json volume show v0 | sed -n 's/.*"device":"\([^"]*\)".*/\1/p')

say "ext4 on $DEV, mounted at its access path, with some files"
run mkfs.ext4 -q "$DEV"
run blkgatectl volume path add v0 "$W/mnt"
for i in 1 2 3; do head -c 1048576 /dev/urandom >"$W/mnt/file$i"; done
(cd "$W/mnt" && sha256sum file*) >"$W/sums"
run ls -l "$W/mnt"
run blkgatectl list

say "Offline: the file system is dismounted first, then the gate closes"
run blkgatectl volume offline v0
before=$(sha256sum <"$W/d0.img")
echo "\$ dd if=$DEV of=/dev/null bs=4k count=1 iflag=direct"
if dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>&1; then echo "unexpected: read succeeded"; exit 1; fi
echo "\$ dd if=/dev/zero of=$DEV bs=4k count=1 oflag=direct"
if dd if=/dev/zero of="$DEV" bs=4k count=1 oflag=direct 2>&1; then echo "unexpected: write succeeded"; exit 1; fi
echo "\$ mount $DEV /mnt   # the gate holds the device while it is offline"
if mount "$DEV" /mnt 2>&1; then echo "unexpected: mount succeeded"; exit 1; fi
[ "$(sha256sum <"$W/d0.img")" = "$before" ] && echo "the backing file did not change while offline"
run blkgatectl volume show v0

say "Online: requests are honoured again and the volume is remounted"
run blkgatectl volume online v0
run findmnt "$W/mnt"
(cd "$W/mnt" && sha256sum -c "$W/sums")

say "Stop: SIGTERM stops and deletes the device; the state stays in $W/state/state.json"
blkgatectl volume path remove v0 "$W/mnt"
kill -TERM $GPID
wait $GPID
trap - EXIT
ls /dev/ublkb* 2>/dev/null && { echo "unexpected: a device is left"; exit 1; }
echo "no ublk device left"
say "demo finished"
