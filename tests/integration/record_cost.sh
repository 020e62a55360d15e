#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What the record costs the run: a long command line is recorded once, not in every event (the
# log stays under 1 KiB per event), and a run that holds a large change set returns its status
# before the held files are hashed, while every command on the session waits for the seal.
. "$(dirname "$0")/../lib.sh"
require_sandbox

in_project

# A 3 KB command line, and a program that makes 200 events under it.
LONG=$(printf 'arg%04d ' $(seq 1 400))
LONG=${LONG% }
cat >"$T/many.py" <<'PY'
import sys
for i in range(200):
    open("f%03d" % i, "w").close()
PY
al_run -- "$PY" "$T/many.py" $LONG >"$T/out" 2>"$T/err"
is "$?" 0 "a program with a 3 KB command line ran"
ID=$(last_session)
EV=$AIRLOCK_STATE_DIR/sessions/$ID/events.jsonl
read -r LINES BYTES < <(wc -l -c <"$EV")
check "200 events or more were recorded ($LINES)" test "$LINES" -ge 200
check "under 1 KiB per event ($((BYTES / LINES)) B)" test $((BYTES / LINES)) -le 1024
is "$(grep -c arg0400 "$EV")" 1 "the command line is in the log once, in its exec event"
is "$("$AIRLOCK" show --json last | json_get - '" | ".join(next(c["by"] for c in j["changes"] if c["path"].endswith("/f007")))')" \
	"$PY $T/many.py $LONG" "show names the whole command line as the writer"
"$AIRLOCK" log last >"$T/log" 2>&1
check "log shows the process's writes" grep -q "write .*$P/f199" "$T/log"
check "verify passes" "$AIRLOCK" verify last

# 80 MB held: sealed after the run returns (the threshold is 64 MiB).
"$AIRLOCK" run --review never -- "$PY" -c '
import sys
with open("big", "wb") as f:
    for _ in range(80):
        f.write(b"x" * (1 << 20))
print("written")
sys.exit(3)' >"$T/out" 2>"$T/err" | cat
is "${PIPESTATUS[0]}" 3 "the run's status is the program's"
is "$(cat "$T/out")" written "its output came through"
ID=$(last_session)
is "$("$AIRLOCK" show --json "$ID" | json_get - 'j["state"]')" finished \
	"show waits for the seal: the session is finished"
check "verify passes on the sealed record" "$AIRLOCK" verify "$ID"
check "the sealing mark is gone" test ! -e "$AIRLOCK_STATE_DIR/sessions/$ID/sealing"
is "$(json_get "$AIRLOCK_STATE_DIR/sessions/$ID/meta.json" 'len(j["changes_sha256"])')" 64 \
	"meta.json records the change set's hash"
"$AIRLOCK" commit "$ID" --all >"$T/cout" 2>&1
is "$(stat -c %s "$P/big" 2>/dev/null)" $((80 << 20)) "the held file commits whole"

done_testing
