#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faithfulness: CPython's own tests of files, directories and processes, bare and inside airlock
# (suites.bash). Each test's result must be the same both ways, but for the differences
# tests/faithful/expected lists with their reasons.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/suites.bash"
require_sandbox
faithful_compare python
done_testing
