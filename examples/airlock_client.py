# SPDX-License-Identifier: MIT
"""A small Python client for airlock: live sessions and the approver protocol.

Standard library only; copy it into an agent framework or import it from here. The JSON it
reads and writes is documented, with its version, in airlock-json(7).

    from airlock_client import Session

    def approve(ask):                      # every ask of the session, from another thread
        if ask["class"] == "connect" and ask.get("name") == "pypi.org":
            return "allow", "session"
        return "deny", "once"

    with Session.start("--net", "mediated", approver=approve) as s:
        r = s.exec(["python3", "-m", "pip", "download", "requests"])
        print(r.exit_code, r.stdout)
        print(s.exec("ls -l", cwd="/tmp").stdout)   # a string runs with /bin/sh -c
        for change in s.changes():
            print(change["path"], change["state"], change["risk"])
    # the session is stopped here; the person reviews and commits (airlock review ID)

run() is `airlock run --json` with the same approver. Nothing here commits or approves
changes: that stays the person's (airlock review, airlock commit).
"""

import json
import os
import socket
import subprocess
import threading

__all__ = ["AirlockError", "ExecResult", "Session", "Approver", "run"]

# The JSON contracts this module reads (airlock-json(7)); a newer one is refused rather than
# misread.
SUPPORTED_VERSION = 1


class AirlockError(Exception):
    """airlock itself failed (exit status 125 or a usage error): message is its stderr."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def _check_version(obj, what):
    v = obj.get("version", 1) if isinstance(obj, dict) else None
    if not isinstance(v, int) or v > SUPPORTED_VERSION:
        raise AirlockError("%s: JSON version %r is newer than this client (%d)"
                           % (what, v, SUPPORTED_VERSION))


class ExecResult:
    """The result of one step (`airlock exec --json`) or run (`airlock run --json`)."""

    def __init__(self, obj):
        self.raw = obj
        self.session = obj.get("session")
        self.step = obj.get("step")
        self.exit_code = obj.get("exit_code")
        self.signal = obj.get("signal")
        self.stdout = obj.get("stdout", "")
        self.stderr = obj.get("stderr", "")
        self.truncated = obj.get("truncated", False)
        self.error = obj.get("error")

    @property
    def ok(self):
        return self.exit_code == 0

    def __repr__(self):
        return "ExecResult(session=%r, step=%r, exit_code=%r)" % (
            self.session, self.step, self.exit_code)


class Approver:
    """The controller's side of `--ask fd:N`: one end of a socket pair handed to airlock.

    decide(ask) is called for each ask (a dict: type, version, id, class, pid, argv, target,
    name, ...) on a thread of its own and returns "allow" or "deny", or a pair (decision,
    remember) with remember "once" or "session". An exception or another value denies. Asks
    not answered within airlock's --ask-timeout are denied by airlock.
    """

    def __init__(self, decide):
        self.decide = decide
        self.asks = []  # every ask seen, in order (for a log or a test)
        self._ours, self._theirs = socket.socketpair()
        self._thread = None

    def fd(self):
        """The descriptor to pass to airlock (as --ask fd:N, and in pass_fds)."""
        return self._theirs.fileno()

    def handed_over(self):
        """Once airlock holds its end: close ours of it and start answering."""
        self._theirs.close()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _answer(self, ask):
        try:
            d = self.decide(ask)
        except Exception:  # a broken decider denies, never allows
            d = "deny"
        decision, remember = (d if isinstance(d, tuple) else (d, "once"))
        if decision not in ("allow", "deny"):
            decision = "deny"
        if remember not in ("once", "session"):
            remember = "once"
        return {"id": ask.get("id"), "decision": decision, "remember": remember}

    def _serve(self):
        buf = b""
        while True:
            try:
                chunk = self._ours.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    ask = json.loads(line.decode("utf-8", "replace"))
                except ValueError:
                    continue
                if not isinstance(ask, dict) or ask.get("type") != "ask":
                    continue
                self.asks.append(ask)
                answer = json.dumps(self._answer(ask)) + "\n"
                try:
                    self._ours.sendall(answer.encode())
                except OSError:
                    return

    def close(self):
        try:
            self._ours.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._ours.close()
        if self._thread:
            self._thread.join(timeout=5)


def _airlock(airlock, args, pass_fds=(), input_=None, env=None, timeout=None):
    return subprocess.run([airlock] + list(args), capture_output=True, text=True,
                          pass_fds=pass_fds, stdin=subprocess.DEVNULL if input_ is None else None,
                          input=input_, env=env, timeout=timeout)


def _argv(command):
    if isinstance(command, str):
        return ["/bin/sh", "-c", command]
    command = list(command)
    if not command or not all(isinstance(a, str) for a in command):
        raise ValueError("a command is a string or a non-empty list of strings")
    return command


class Session:
    """A live session: `airlock start`, then exec() any number of steps, then stop()."""

    def __init__(self, sid, airlock="airlock", approver=None, env=None):
        self.id = sid
        self.airlock = airlock
        self.approver = approver
        self.env = env
        self.stopped = False

    @classmethod
    def start(cls, *run_options, name=None, idle=None, approver=None, airlock="airlock",
              env=None):
        """Start a live session with `airlock start RUN_OPTIONS...`. approver: a function
        deciding asks (see Approver), or an Approver."""
        args = ["start", "--json"] + list(run_options)
        if name:
            args += ["--name", name]
        if idle:
            args += ["--idle", idle]
        appr = approver
        if appr is not None and not isinstance(appr, Approver):
            appr = Approver(appr)
        fds = ()
        if appr:
            args += ["--ask", "fd:%d" % appr.fd()]
            fds = (appr.fd(),)
        p = _airlock(airlock, args, pass_fds=fds, env=env)
        if p.returncode != 0:
            if appr:
                appr.close()
            raise AirlockError(p.stderr.strip() or "airlock start failed", p.returncode)
        obj = json.loads(p.stdout)
        _check_version(obj, "airlock start")
        if appr:
            appr.handed_over()
        return cls(obj["session"], airlock=airlock, approver=appr, env=env)

    def exec(self, command, cwd=None, timeout=None):
        """Run command (a list, or a string for /bin/sh -c) as the next step; returns an
        ExecResult. Its status is the command's; AirlockError when airlock could not run it.
        A stopped session that was not committed is started again over its held changes."""
        args = ["exec", self.id, "--json"]
        if cwd:
            args += ["-C", cwd]
        p = _airlock(self.airlock, args + ["--"] + _argv(command), env=self.env,
                     timeout=timeout)
        try:
            obj = json.loads(p.stdout)
        except ValueError:
            raise AirlockError(p.stderr.strip() or "airlock exec printed no result",
                               p.returncode)
        _check_version(obj, "airlock exec")
        self.stopped = False  # airlock exec started it again if it was stopped
        return ExecResult(obj)

    def show(self):
        """`airlock show --json`: the session's changes, commands and connections."""
        p = _airlock(self.airlock, ["show", self.id, "--json"], env=self.env)
        if p.returncode != 0:
            raise AirlockError(p.stderr.strip(), p.returncode)
        obj = json.loads(p.stdout)
        _check_version(obj, "airlock show")
        return obj

    def changes(self):
        """The held changes (path, kind, state, risk, ...)."""
        return self.show()["changes"]

    def stop(self, grace=5):
        """End the session; its record is sealed for the person's review."""
        if self.stopped:
            return
        p = _airlock(self.airlock, ["stop", "-t", str(int(grace)), self.id], env=self.env)
        self.stopped = True
        if self.approver:
            self.approver.close()
        if p.returncode != 0:
            raise AirlockError(p.stderr.strip(), p.returncode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def run(command, *run_options, approver=None, airlock="airlock", env=None, timeout=None):
    """`airlock run --json RUN_OPTIONS... -- command`: the result as an ExecResult whose raw
    member holds the whole report (changes, commands, connections)."""
    appr = approver
    if appr is not None and not isinstance(appr, Approver):
        appr = Approver(appr)
    args = ["run", "--json", "--review", "never"] + list(run_options)
    fds = ()
    if appr:
        args += ["--ask", "fd:%d" % appr.fd()]
        fds = (appr.fd(),)
    proc = subprocess.Popen([airlock] + args + ["--"] + _argv(command), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            pass_fds=fds, env=env)
    if appr:
        appr.handed_over()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if appr:
            appr.close()
    try:
        obj = json.loads(out)
    except ValueError:
        raise AirlockError(err.strip() or "airlock run printed no result", proc.returncode)
    _check_version(obj, "airlock run")
    return ExecResult(obj)
