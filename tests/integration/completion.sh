#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shell completion: completion/airlock.bash completes subcommands, options, session IDs (from
# `airlock list`), paths and commands against the built airlock; completion/_airlock loads
# in zsh and defines its completion function.
. "$(dirname "$0")/../lib.sh"

W=$T/work
cd "$W" || exit 1
# shellcheck disable=SC1091
. "$TOP/completion/airlock.bash"

# comp WORD...: the completions offered for the last WORD (empty: a new word), one per line.
comp() {
	COMP_WORDS=("$AIRLOCK" "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_airlock
	printf '%s\n' "${COMPREPLY[@]}" | sort
}
has() { grep -qx -- "$2" <<<"$1"; }

out=$(comp "")
check "subcommands from airlock --help: run" has "$out" run
check "subcommands: doctor" has "$out" doctor
check "subcommands: commit" has "$out" commit
is "$(comp di)" "$(printf 'diff\ndiscard')" "a prefix completes to the subcommands it starts"
check "doctor" has "$(comp do)" doctor
out=$(comp run --)
check "run options from run --help: --rules" has "$out" --rules
check "run options: --net" has "$out" --net
check "run options: --review" has "$out" --review
is "$(comp run --net "")" "$(printf 'host\nmediated\nnone')" "--net values"
is "$(comp run --review a)" "$(printf 'always\nauto')" "--review values"
mkdir -p "$W/rulesdir" && : >"$W/rulesdir/my.rules"
is "$(comp run -r rulesdir/m)" "rulesdir/my.rules" "-r completes a path"
check "run's command is a command name" has "$(comp run --review never pytho)" python3
is "$(comp run -- ls rulesdir/)" "rulesdir/my.rules" "the command's arguments are paths"
is "$(comp commit --a)" "--all" "commit options from commit --help"

# Session IDs come from airlock list.
"$AIRLOCK" run --review never -- /bin/true >/dev/null 2>&1
id=$("$AIRLOCK" list 2>/dev/null | awk 'NR == 2 { print $1 }')
if [ -n "$id" ]; then
	out=$(comp show "")
	check "show completes the session id from airlock list" has "$out" "$id"
	check "and 'last'" has "$out" last
	check "diff completes ids and paths" has "$(comp diff "")" rulesdir
else
	not_ok "a session to complete (airlock run failed)"
fi
is "$(comp rules "")" "$(printf 'check\nshow')" "rules: check and show"
is "$(comp rules check rulesdir/)" "rulesdir/my.rules" "rules check: paths"

if command -v zsh >/dev/null; then
	check "zsh parses completion/_airlock" zsh -n "$TOP/completion/_airlock"
	out=$(HOME=$T zsh -f -c "fpath=($TOP/completion \$fpath); autoload -Uz compinit; compinit -u -D; \
		autoload -Uz _airlock; print -r -- \${_comps[airlock]}" 2>&1)
	is "$out" _airlock "zsh: compinit binds _airlock to airlock (#compdef)"
else
	not_ok "zsh is installed (scripts/install-deps)"
fi

done_testing
