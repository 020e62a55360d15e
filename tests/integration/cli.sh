#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command line's own messages: a typo gets "did you mean" and the one usage line, not the
# whole help; every subcommand takes -h and --help; every error starts with "airlock:".
. "$(dirname "$0")/../lib.sh"
cd "$T/work" || exit 1

# typo DESC WANT_RC SUGGESTION ARGS...: airlock ARGS fails with WANT_RC, suggests SUGGESTION
# (or nothing when it is "-"), and prints exactly two lines.
typo() {
	local desc=$1 want=$2 sugg=$3 rc
	shift 3
	"$AIRLOCK" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	is "$rc" "$want" "$desc: exit status $want"
	if [ "$sugg" = - ]; then
		check "$desc: no suggestion" sh -c "! grep -q 'did you mean' '$T/err'"
	else
		check "$desc: suggests $sugg" grep -q "did you mean '$sugg'?" "$T/err"
	fi
	is "$(wc -l <"$T/err")" 2 "$desc: two lines, the error and the usage"
	check "$desc: the error starts with 'airlock:'" sh -c "head -1 '$T/err' | grep -q '^airlock: '"
	check "$desc: the second line is the usage" sh -c "sed -n 2p '$T/err' | grep -q '^usage: airlock '"
	is "$(wc -c <"$T/out")" 0 "$desc: nothing on stdout"
}

typo "run --timout" 125 --timeout run --timout 5s -- true
typo "run --memroy=1G" 125 --memory run --memroy=1G -- true
typo "run -x" 125 - run -x true
typo "list --jsn" 2 --json list --jsn
typo "show --hepl" 2 --help show --hepl
typo "commit --al" 2 --all commit --al
typo "undo --froce" 2 --force undo --froce
typo "verify --json (not an option of verify)" 2 - verify --json
# mcp's options are its own and start's: the error is mcp's, not the start it runs.
typo "mcp --sesion" 2 --session mcp --sesion x
typo "mcp --timout" 2 --timeout mcp --timout 5s
"$AIRLOCK" mcp --sesion x </dev/null >/dev/null 2>"$T/err"
check "mcp --sesion: names mcp and the option" grep -qx "airlock: mcp: unknown option '--sesion'; did you mean '--session'?" "$T/err"
check "mcp --sesion: mcp's usage line" grep -qx "usage: airlock mcp \\[--session ID\\] \\[run options\\]" "$T/err"

"$AIRLOCK" run --timeout >/dev/null 2>"$T/err"
is "$?" 125 "run --timeout without a value: 125"
check "run --timeout without a value: says it needs one" grep -q "^airlock: run: option '--timeout' needs a value" "$T/err"

"$AIRLOCK" comit >/dev/null 2>"$T/err"
is "$?" 2 "an unknown subcommand: 2"
check "an unknown subcommand near a real one: did you mean" grep -q "^airlock: 'comit' is not an airlock command; did you mean 'commit'?" "$T/err"
is "$(wc -l <"$T/err")" 1 "an unknown subcommand: one line"
"$AIRLOCK" "$(printf 'x\033]0;t\007')" >/dev/null 2>"$T/err"
check "an unknown subcommand is shown escaped" sh -c "! grep -q \$(printf '\033') '$T/err'"
"$AIRLOCK" rules chek >/dev/null 2>"$T/err"
is "$?" 2 "rules: an unknown subcommand: 2"
check "rules: an unknown subcommand near a real one: did you mean" grep -qx "airlock: rules: unknown subcommand 'chek'; did you mean 'check'?" "$T/err"
is "$(wc -l <"$T/err")" 3 "rules: ... and the usage lines, not the whole help"

# A command line that is wrong otherwise: "airlock: CMD: why", then the usage line(s).
# usage_err DESC WANT_RC FIRST_LINE ARGS...
usage_err() {
	local desc=$1 want=$2 first=$3 lines=2
	shift 3
	"$AIRLOCK" "$@" </dev/null >"$T/out" 2>"$T/err"
	is "$?" "$want" "$desc: exit status $want"
	is "$(head -1 "$T/err")" "$first" "$desc: says what is wrong, naming the subcommand"
	[ "$1" = rules ] && lines=3
	is "$(wc -l <"$T/err")" "$lines" "$desc: then the usage, not the whole help"
	check "$desc: ... which is the usage" sh -c "sed -n 2p '$T/err' | grep -q '^usage: airlock $1'"
}
usage_err "list with an argument" 2 "airlock: list: unexpected argument 'extra'" list extra
usage_err "show with two IDs" 2 "airlock: show: unexpected argument 'b'" show a b
usage_err "diff --stat --name-status" 2 "airlock: diff: --stat and --name-status are one or the other" \
	diff --stat --name-status
usage_err "log --color=x" 2 "airlock: log: --color takes auto, always or never" log --color=x
usage_err "diff --relative=" 2 "airlock: diff: --relative= names no directory" diff --relative=
usage_err "commit --all and a path" 2 "airlock: commit: --all or paths, not both" commit --all last -- /x
usage_err "commit --run x" 2 "airlock: commit: --run takes the number of a deferred command (1, 2, ...)" \
	commit --run x
usage_err "rules check --bogus" 2 "airlock: rules check: unknown option '--bogus'" rules check --bogus
usage_err "rules check without a file" 2 "airlock: rules check: no file given" rules check
usage_err "rules show x" 2 "airlock: rules show: unexpected argument 'x'" rules show x

for c in run start exec stop attend mcp list show diff review commit undo discard log replay \
	verify doctor rules "rules check" "rules show"; do
	for h in -h --help; do
		# shellcheck disable=SC2086 # "rules check" is two words
		"$AIRLOCK" $c "$h" </dev/null >"$T/out" 2>"$T/err"
		rc=$?
		if [ "$rc" -eq 0 ] && grep -q "^usage: airlock ${c%% *}" "$T/out"; then
			ok "$c $h prints its usage on stdout and exits 0"
		else
			not_ok "$c $h prints its usage on stdout and exits 0 (rc $rc)"
			diag "$(head -c 200 "$T/err")"
		fi
	done
done

# rules check names every bad line, not only the first.
printf 'allow exec\nfrobnicate x\nallow write ./ok/**\ndeny bogus y\n' >"$T/bad.rules"
chmod 600 "$T/bad.rules"
"$AIRLOCK" rules check "$T/bad.rules" >/dev/null 2>"$T/err"
is "$?" 1 "rules check of a file with three bad lines exits 1"
is "$(grep -c "^airlock: $T/bad.rules:[124]: " "$T/err")" 3 "rules check names each of the three bad lines"
printf 'allow write ./ok/**\n' >"$T/good.rules"
chmod 600 "$T/good.rules"
out=$("$AIRLOCK" rules check "$T/good.rules" 2>&1)
is "$out" "$T/good.rules: ok, 1 rule" "rules check of a good file says ok"

# --pids past what Linux can have is refused, not wrapped around to a tiny limit.
"$AIRLOCK" run --review never --pids 18446744073709551615 -- true >/dev/null 2>"$T/err"
is "$?" 125 "--pids 2^64-1 is refused (125)"
check "... saying the largest it takes" grep -q "^airlock: --pids 18446744073709551615: expected at most 4194304" "$T/err"

# list: ID, STATE, EXIT (or the limit), CHANGES, AGE, CWD (~ for home), COMMAND; --json too.
if "$AIRLOCK" run --review never -- /bin/true >/dev/null 2>&1; then
	mkdir -p "$T/home/proj"
	(cd "$T/home/proj" && HOME=$T/home "$AIRLOCK" run --review never -- sh -c 'echo a >a; echo b >b; exit 3') >/dev/null 2>&1
	(cd "$T/home/proj" && "$AIRLOCK" run --review never --timeout 1s -- sleep 30) >/dev/null 2>&1
	HOME=$T/home "$AIRLOCK" list >"$T/list"
	check "list: the header has every column" grep -qE '^ID +STATE +EXIT +CHANGES +AGE +CWD +COMMAND$' "$T/list"
	check "list: exit status, changes, age, cwd under ~" \
		grep -qE "^[0-9a-f-]+ +finished +3 +2 +[0-9]+s +~/proj +sh -c echo a" "$T/list"
	check "list: the limit that stopped a run" grep -qE "^[0-9a-f-]+ +finished +timeout +0 +[0-9]+s +~/proj +sleep 30" "$T/list"
	"$AIRLOCK" list --json >"$T/list.json"
	is "$(json_get "$T/list.json" '[(x["exit_code"], x["limit"], x["cwd"] == "'"$T/home/proj"'", x["age_s"] >= 0) for x in j[-2:]]')" \
		"[(3, None, True, True), (124, 'timeout', True, True)]" "list --json: the same fields"
	id=$(json_get "$T/list.json" 'j[-2]["session"]')

	# show of a committed session: what went in, what was left and why; local time with offset.
	"$AIRLOCK" commit "$id" "$T/home/proj/a" >/dev/null 2>&1
	TZ=XYZ-2 "$AIRLOCK" show "$id" >"$T/show"
	check "show: committed lists what went in" grep -qxF "  $T/home/proj/a" "$T/show"
	check "show: under a heading with the count" grep -qx "committed (1)" "$T/show"
	check "show: what was left, and why" grep -qE "^  added .* $T/home/proj/b +\[left: not chosen\]" "$T/show"
	check "show: times in local time with the offset" grep -qE "^started   [0-9-]{10} [0-9:]{8} \+0200" "$T/show"
	check "show: the commit's time too" grep -qE "^committed [0-9-]{10} [0-9:]{8} \+0200 by " "$T/show"
	"$AIRLOCK" show --json "$id" >"$T/show.json"
	is "$(json_get "$T/show.json" '(j["committed"], [(c["committed"], c["left"]) for c in j["changes"]], j["start"][-1])')" \
		"(['$T/home/proj/a'], [(False, 'not chosen')], 'Z')" "show --json: the same, times in UTC"

	# show on a terminal: colour, as diff and log; none under NO_COLOR or --color=never.
	if command -v script >/dev/null; then
		esc=$(printf '\033')
		TERM=xterm script -qec "env -u NO_COLOR '$AIRLOCK' show --no-pager '$id'" /dev/null >"$T/tty"
		check "show on a terminal: headings in colour" grep -qF "${esc}[1mcommitted (1)" "$T/tty"
		TERM=xterm NO_COLOR=1 script -qec "'$AIRLOCK' show --no-pager '$id'" /dev/null >"$T/tty"
		check "show on a terminal under NO_COLOR: no colour" sh -c "! grep -qF '$esc' '$T/tty'"
		TERM=xterm script -qec "env -u NO_COLOR '$AIRLOCK' show --color=never --no-pager '$id'" /dev/null >"$T/tty"
		check "show --color=never on a terminal: no colour" sh -c "! grep -qF '$esc' '$T/tty'"
	else
		skip "show's colour on a terminal" "script(1) is not installed"
	fi
else
	skip "list and show of real sessions" "airlock run cannot start here"
fi

done_testing
