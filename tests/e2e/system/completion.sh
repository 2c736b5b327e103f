#!/bin/bash
# Behaviour: the installed bash completion, loaded by bash-completion on demand as in an
# interactive shell, lists blkgatectl's verbs and the running daemon's volume names.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
[ -f /usr/share/bash-completion/bash_completion ] || skip "needs bash-completion"
fresh_service ""
mkvol v0 16M >/dev/null || fail "mkvol v0"
mkvol v1 16M >/dev/null || fail "mkvol v1"
# COMPREPLY of a blkgatectl command line in a fresh bash with bash-completion loaded.
complete_line() { # WORDS... (the last one being typed)
	bash -c '
		. /usr/share/bash-completion/bash_completion
		__load_completion blkgatectl || exit 3
		COMP_WORDS=(blkgatectl "$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_blkgatectl
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$@"
}
# has LIST WORDS...: every WORD is in the space-separated LIST.
# shellcheck disable=SC2317 # called through check
has() {
	local list=" $1 " w
	shift
	for w; do [[ $list == *" $w "* ]] || return 1; done
}
top=$(complete_line "")
check "the top-level verbs" has "$top" disk drive list offline online ping refresh results shutdown volume
check "volume's verbs" test "$(complete_line volume "")" = "create delete dismount list mount offline online path show "
check "volume names from the daemon" test "$(complete_line volume offline "")" = "v0 v1 "
check "object references" test "$(complete_line offline volume/)" = "volume/v0 volume/v1 "
check "options" test "$(complete_line volume offline v0 --)" = "--force --help --json --socket --timeout "
remove_volume v0
remove_volume v1
summary
