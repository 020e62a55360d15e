# SPDX-License-Identifier: MIT
# Helpers for the headless UI tests (sourced after lib.sh; not a test itself): run the real
# binary in its test mode and read the screens it dumped.

# ui KEYS [ARGS...]: run `airlock ARGS` (default: review) on the key script KEYS, drawing at
# ${UI_SIZE:-80x24}; the screens go to $T/dump, stdout and stderr to $T/out and $T/err.
ui() {
	local keys=$1
	shift
	printf '%s' "$keys" >"$T/keys"
	: >"$T/dump"
	AIRLOCK_UI_SCRIPT=$T/keys AIRLOCK_UI_DUMP=$T/dump AIRLOCK_UI_SIZE=${UI_SIZE:-80x24} \
		LC_ALL=C.UTF-8 "$AIRLOCK" "${@:-review}" >"$T/out" 2>"$T/err"
}

# screen N: the Nth dumped screen, with the scratch directory and the session id ($ID) fixed.
screen() {
	awk -v n="$1" '$0 == "--" { k++; next } k == n - 1' "$T/dump" | sed "s|$T|T|g; s|$ID|ID|g"
}
