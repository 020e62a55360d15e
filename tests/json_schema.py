# SPDX-License-Identifier: MIT
"""Check JSON documents against the schemas airlock-json(7) documents: the test reads the
schemas out of the man page itself, so the page and the output cannot drift apart.

In the page, a schema is a literal display right after a comment line `.\\" schema: NAME`:
one member a line, `PATH TYPE`. PATH is a member name, `a.b` inside an object member,
`a[]` for the items of an array (`a[].b` for their members); a trailing `?` marks a member
that may be absent. TYPE is alternatives separated by `|`: string, integer, number, boolean,
null, object, array, any, or a JSON literal (1, "ask"). An `object` is closed (a member the
schema does not name is an error) unless its TYPE is `open`. A line `* TYPE` gives the type of
the document itself (object when there is none).

    python3 tests/json_schema.py man/airlock-json.7 NAME FILE [FILE...]
        each FILE is one JSON document, or with NAME ending in "-lines" one per line;
        prints "valid", or each error on a line of its own.
    python3 tests/json_schema.py --jsonschema SCHEMA.json FILE
        FILE against a JSON Schema (the subset MCP tools use: type, properties, required,
        items, additionalProperties, minItems, maxItems, minimum, maximum).
Standard library only.
"""

import json
import re
import sys

TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "open": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "any": lambda v: True,
}


def read_schemas(page):
    """{name: [(path, optional, [alternatives])]} from the man page."""
    schemas, name, inside = {}, None, False
    for line in open(page, encoding="utf-8"):
        line = line.rstrip("\n")
        m = re.match(r'^\.\\" schema: (\S+)$', line)
        if m:
            name, inside = m.group(1), False
            schemas[name] = []
            continue
        if name and not inside and line.startswith(".Bd -literal"):
            inside = True
            continue
        if inside and line.startswith(".Ed"):
            name, inside = None, False
            continue
        if inside:
            line = line.replace("\\e", "\\").replace("\\&", "")
            if not line.strip():
                continue
            path, _, types = line.strip().partition(" ")
            optional = path.endswith("?")
            schemas[name].append((path.rstrip("?"), optional, [t for t in
                                                               types.strip().split("|")]))
    return schemas


def type_ok(alts, v):
    for t in alts:
        if t in TYPES:
            if TYPES[t](v):
                return True
        elif json.loads(t) == v and type(json.loads(t)) is type(v):
            return True
    return False


def check(schema, doc):
    errs = []
    spec = {p: (opt, alts) for p, opt, alts in schema}
    root = spec.pop("*", (False, ["object"]))[1]

    def walk(prefix, alts, v, where):
        if not type_ok(alts, v):
            errs.append("%s: %r is not %s" % (where or "the document", v, "|".join(alts)))
            return
        if isinstance(v, dict):
            mine = {p[len(prefix):]: p for p in spec
                    if p.startswith(prefix) and p[len(prefix):] and
                    re.fullmatch(r"[^.\[\]]+", p[len(prefix):])}
            for k, p in mine.items():
                opt, a = spec[p]
                if k not in v:
                    if not opt:
                        errs.append("%s: missing %s" % (where or "the document", k))
                    continue
                walk(p + ".", a, v[k], p)
                if isinstance(v[k], list) and p + "[]" in spec:
                    for i, item in enumerate(v[k]):
                        walk(p + "[].", spec[p + "[]"][1], item, "%s[%d]" % (p, i))
            if "open" not in alts:
                for k in v:
                    if k not in mine:
                        errs.append("%s: member %r is not documented" % (where or "the document", k))

    walk("", root, doc, "")
    return errs


def check_jsonschema(s, v, where="the document"):
    errs = []
    t = s.get("type")
    if t is not None:
        alts = t if isinstance(t, list) else [t]
        if not any(TYPES[a](v) for a in alts):
            return ["%s: %r is not %s" % (where, v, "|".join(alts))]
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                errs.append("%s: missing %s" % (where, k))
        for k, x in v.items():
            if k in props:
                errs += check_jsonschema(props[k], x, "%s.%s" % (where, k))
            elif s.get("additionalProperties") is False:
                errs.append("%s: member %r is not allowed" % (where, k))
    if isinstance(v, list):
        if "minItems" in s and len(v) < s["minItems"]:
            errs.append("%s: fewer than %d items" % (where, s["minItems"]))
        if "maxItems" in s and len(v) > s["maxItems"]:
            errs.append("%s: more than %d items" % (where, s["maxItems"]))
        for i, x in enumerate(v):
            errs += check_jsonschema(s.get("items", {}), x, "%s[%d]" % (where, i))
    if TYPES["number"](v):
        if "minimum" in s and v < s["minimum"]:
            errs.append("%s: below %s" % (where, s["minimum"]))
        if "maximum" in s and v > s["maximum"]:
            errs.append("%s: above %s" % (where, s["maximum"]))
    return errs


def load_docs(path, lines):
    text = open(path, encoding="utf-8", errors="replace").read()
    if not lines:
        return [json.loads(text)]
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def main(argv):
    if len(argv) == 4 and argv[1] == "--jsonschema":
        errs = check_jsonschema(json.load(open(argv[2])), json.load(open(argv[3])))
    else:
        schemas = read_schemas(argv[1])
        if argv[2] not in schemas:
            print("no schema %r in %s" % (argv[2], argv[1]))
            return 0
        errs = []
        for f in argv[3:]:
            try:
                docs = load_docs(f, argv[2].endswith("-lines"))
            except ValueError as e:
                errs.append("%s: not JSON: %s" % (f, e))
                continue
            if not docs:
                errs.append("%s: no document" % f)
            for d in docs:
                errs += check(schemas[argv[2]], d)
    print("\n".join(sorted(set(errs))) if errs else "valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
