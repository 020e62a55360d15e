# SPDX-License-Identifier: MIT
# Workload for "reads never notify": imports many stdlib modules, then stats and reads files.
#
# Run it as `/usr/bin/python3 -B bench/import_heavy.py [ROUNDS]`: -B stops Python from writing
# missing .pyc files, which inside airlock would be notified writes and spoil the point.
# Everything here is a read-only open, a stat or a getdents: none of it may notify.

import importlib
import os
import sys
import sysconfig

MODULES = [
    "json", "email", "email.mime.multipart", "email.mime.text", "email.policy",
    "http.client", "http.server", "http.cookiejar", "urllib.request", "urllib.parse",
    "xml.etree.ElementTree", "xml.dom.minidom", "xml.sax", "html.parser",
    "asyncio", "concurrent.futures", "multiprocessing", "threading", "subprocess",
    "decimal", "fractions", "statistics", "random", "math", "cmath",
    "unittest", "unittest.mock", "doctest", "pdb", "inspect", "dis", "ast", "tokenize",
    "logging", "logging.handlers", "argparse", "configparser", "csv", "sqlite3",
    "tarfile", "zipfile", "gzip", "bz2", "lzma", "shutil", "tempfile", "pathlib", "glob",
    "hashlib", "hmac", "secrets", "base64", "binascii", "uuid", "ssl", "socket",
    "selectors", "smtplib", "imaplib", "ftplib", "mailbox", "mimetypes",
    "datetime", "calendar", "zoneinfo", "locale", "gettext", "string", "textwrap",
    "difflib", "pprint", "reprlib", "enum", "dataclasses", "typing", "functools",
    "itertools", "collections", "heapq", "bisect", "array", "struct", "pickle", "copy",
    "shelve", "dbm", "plistlib", "codecs", "unicodedata", "re", "pydoc", "timeit",
    "trace", "cProfile", "pstats", "traceback", "warnings", "contextlib", "abc",
    "weakref", "queue", "sched", "getpass", "platform", "sysconfig", "venv", "wsgiref.simple_server",
    "xmlrpc.client", "xmlrpc.server", "ipaddress", "webbrowser", "optparse", "netrc",
]

# Files read per round: the stdlib's own sources, in a fixed order, up to this many bytes.
READ_BUDGET = 16 * 1024 * 1024


def import_all():
    n = 0
    for name in MODULES:
        try:
            importlib.import_module(name)
            n += 1
        except ImportError:
            pass  # optional C extensions (e.g. _sqlite3) may be missing; not the point here
    return n


def read_tree(root):
    files = total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        # site-packages/dist-packages differ from host to host; keep the workload fixed.
        dirnames[:] = [d for d in dirnames if d not in ("site-packages", "dist-packages")]
        for name in sorted(filenames):
            if not name.endswith((".py", ".pyc")):
                continue
            path = os.path.join(dirpath, name)
            try:
                os.stat(path)
                with open(path, "rb") as f:
                    total += len(f.read())
            except OSError:
                continue
            files += 1
            if total >= READ_BUDGET:
                return files, total
    return files, total


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    mods = import_all()
    root = sysconfig.get_paths()["stdlib"]
    files = total = 0
    for _ in range(rounds):
        f, t = read_tree(root)
        files += f
        total += t
    if os.environ.get("IMPORT_HEAVY_VERBOSE"):
        print(f"modules {mods} files {files} bytes {total}")


if __name__ == "__main__":
    main()
