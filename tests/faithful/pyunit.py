# SPDX-License-Identifier: MIT
# pyunit.py MODULE...: runs CPython's own test modules (Debian's libpython3.11-testsuite) and
# prints one line per test, "@faithful pass|fail|skip ID", sorted, so that a bare run and a
# run inside airlock compare line by line. Resources stay off as under `python3 -m test`
# (no network, no large files).
import os
import sys
import unittest

from test import support

support.use_resources = []
support.verbose = 0


class Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.lines = {}

    def put(self, test, status):
        tid = test.id()
        # A test whose subtest failed is a failure, whatever its own end says.
        if self.lines.get(tid) != "fail":
            self.lines[tid] = status

    def addSuccess(self, test):
        self.put(test, "pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.put(test, "fail")

    def addError(self, test, err):
        super().addError(test, err)
        self.put(test, "fail")

    def addSkip(self, test, reason):
        self.put(test, "skip")

    def addExpectedFailure(self, test, err):
        self.put(test, "pass")

    def addUnexpectedSuccess(self, test):
        self.put(test, "fail")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.lines[test.id()] = "fail"


MARK = "@faithful"


def main(names):
    result = Result()
    for name in names:
        try:
            suite = unittest.defaultTestLoader.loadTestsFromName("test." + name)
        except Exception as e:  # an import that fails is the module's failure
            result.lines[name] = "fail"
            print("# %s: %s" % (name, e), file=sys.stderr)
            continue
        suite.run(result)
    for kind, errs in (("FAIL", result.failures), ("ERROR", result.errors)):
        for test, tb in errs:
            print("# %s %s\n%s" % (kind, test, tb), file=sys.stderr)
    # Inside the sandbox a file written would be held, not on the host: the results go to
    # stdout, each line marked, since subprocesses of the tests print there too.
    sys.stdout.flush()
    for tid in sorted(result.lines):
        print(MARK, result.lines[tid], tid)


if __name__ == "__main__":
    main(sys.argv[1:])
