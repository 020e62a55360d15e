# SPDX-License-Identifier: MIT
# The tests of examples/airlock_client.py, run by pyclient.sh: one "PASS desc" or
# "FAIL desc: why" line per check. argv: the airlock binary, a scratch directory.
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "examples"))
import airlock_client as ac  # noqa: E402

AIRLOCK, T = sys.argv[1], sys.argv[2]
WORK = os.path.join(T, "work")


def check(desc, cond, why=""):
    if cond:
        print("PASS " + desc, flush=True)
    else:
        print("FAIL %s: %s" % (desc, str(why).replace("\n", "|")[:600]), flush=True)


os.chdir(WORK)
with open(os.path.join(T, "ask.rules"), "w") as f:
    f.write("ask exec touch\n")

# A live session: steps see each other's changes, the host sees nothing.
with ac.Session.start("--net", "none", airlock=AIRLOCK) as s:
    check("start gives the session's ID", isinstance(s.id, str) and s.id.count("-") == 2, s.id)
    r = s.exec(["sh", "-c", "echo one > a.txt; echo to-err >&2; exit 3"])
    check("exec returns the step's status and output",
          (r.exit_code, r.stdout, r.stderr, r.step) == (3, "", "to-err\n", 1), r.raw)
    r = s.exec("cat a.txt")
    check("a string runs with /bin/sh -c and sees the earlier step's file",
          (r.exit_code, r.stdout) == (0, "one\n"), r.raw)
    os.makedirs("sub", exist_ok=True)
    r = s.exec(["pwd"], cwd="sub")
    check("cwd names the step's directory", r.stdout == os.path.join(WORK, "sub") + "\n", r.raw)
    check("the host is untouched", not os.path.exists("a.txt"))
    ch = s.changes()
    check("changes lists the held file with its state",
          [(c["path"], c["state"]) for c in ch] == [(os.path.join(WORK, "a.txt"), "approved")], ch)
    check("show carries a version", s.show().get("version") == 1)
    sid = s.id
check("leaving the with block stops the session", s.stopped)
# airlock exec starts a stopped session again over its held changes.
r = s.exec("cat a.txt")
check("exec on a stopped session starts it again over its changes",
      (r.exit_code, r.stdout) == (0, "one\n"), r.raw)
s.stop()
subprocess.run([AIRLOCK, "discard", sid], capture_output=True)
try:
    s.exec(["true"])
    check("exec on a discarded session raises AirlockError", False, "no exception")
except ac.AirlockError as e:
    check("exec on a discarded session raises AirlockError", "not live" in str(e), e)

# The approver protocol: the asks reach the function, its answers decide.
seen = []


def decide(ask):
    seen.append(ask)
    return ("allow", "once") if "allowed.txt" in ask.get("command", []) else "deny"


with ac.Session.start("--net", "none", "-r", os.path.join(T, "ask.rules"), approver=decide,
                      airlock=AIRLOCK) as s:
    ok = s.exec(["touch", "allowed.txt"])
    no = s.exec(["touch", "denied.txt"])
    check("an ask the approver allows runs", ok.exit_code == 0, ok.raw)
    check("an ask the approver denies does not", no.exit_code != 0, no.raw)
    check("the asks carry the protocol's members and version",
          [(a["type"], a["version"], a["class"], a["command"]) for a in seen]
          == [("ask", 1, "exec", ["touch", "allowed.txt"]), ("ask", 1, "exec", ["touch", "denied.txt"])],
          seen)
    check("the approver keeps what it was asked", s.approver.asks == seen)
    check("the allowed step's change is held", [os.path.basename(c["path"]) for c in s.changes()]
          == ["allowed.txt"], s.changes())

# run(): airlock run --json, with and without an approver.
r = ac.run(["sh", "-c", "echo hi > r.txt; echo out"], "--net", "none", airlock=AIRLOCK)
check("run returns the result", (r.exit_code, r.stdout, r.raw.get("version")) == (0, "out\n", 1),
      r.raw)
check("with its changes", [os.path.basename(c["path"]) for c in r.raw["changes"]] == ["r.txt"],
      r.raw)
asks = []
r = ac.run(["touch", "x.txt"], "--net", "none", "-r", os.path.join(T, "ask.rules"),
           approver=lambda a: asks.append(a) or "deny", airlock=AIRLOCK)
check("run's asks go to the approver, whose deny holds",
      (r.exit_code != 0, [a["command"] for a in asks]) == (True, [["touch", "x.txt"]]), r.raw)


def broken(ask):
    raise RuntimeError("no")


r = ac.run(["touch", "y.txt"], "--net", "none", "-r", os.path.join(T, "ask.rules"),
           approver=broken, airlock=AIRLOCK)
check("an approver that fails denies", r.exit_code != 0, r.raw)
check("nothing reached the host", not any(os.path.exists(p) for p in
                                          ("r.txt", "x.txt", "y.txt", "allowed.txt")))
try:
    ac._check_version({"version": 2}, "test")
    check("a newer JSON version is refused", False, "accepted")
except ac.AirlockError:
    check("a newer JSON version is refused", True)
try:
    ac.Session("x", airlock=AIRLOCK).exec([])
    check("an empty command is refused", False, "accepted")
except ValueError:
    check("an empty command is refused", True)
