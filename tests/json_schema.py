#!/usr/bin/env python3
"""Checks JSON documents against the JSON Schema files in docs/schema/.

Usage: json_schema.py SCHEMA [--lines] [FILE]   (FILE defaults to stdin;
the shell tests call it through check_schema in tests/lib.sh)
--lines: every non-empty line is one document (sync --json).

Debian 12 packages no JSON Schema validator, so this is a small one for the
keywords our schemas use (draft 2020-12): type, properties, required,
additionalProperties, items, enum, const, minimum, maximum, minLength,
maxLength, pattern, oneOf, anyOf, $ref into $defs, dependentRequired. A
keyword it does not know is an error, so a schema cannot promise more than
this checks. Prints one line per violation; exits 1 if there was any.
"""
import json
import re
import sys

ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Checker:
    def __init__(self, root):
        self.root = root

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise SystemExit(f"json_schema: only local $ref is supported, not {ref}")
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def check(self, schema, value, where):
        """Returns the list of violations of value against schema."""
        errors = []
        for key in schema:
            if key in ANNOTATIONS:
                continue
            rule = schema[key]
            if key == "$ref":
                errors += self.check(self.resolve(rule), value, where)
            elif key == "type":
                names = rule if isinstance(rule, list) else [rule]
                if not any(TYPES[n](value) for n in names):
                    errors.append(f"{where}: {json.dumps(value)[:60]} is not of type {rule}")
                    return errors
            elif key == "enum":
                if not any(value == e and type(value) is type(e) for e in rule):
                    errors.append(f"{where}: {json.dumps(value)[:60]} is not one of {rule}")
            elif key == "const":
                if not (value == rule and type(value) is type(rule)):
                    errors.append(f"{where}: {json.dumps(value)[:60]} is not {json.dumps(rule)}")
            elif key in ("minimum", "maximum"):
                if TYPES["number"](value) and (value < rule if key == "minimum" else value > rule):
                    errors.append(f"{where}: {value} is out of range ({key} {rule})")
            elif key in ("minLength", "maxLength"):
                if isinstance(value, str) and (len(value) < rule if key == "minLength" else len(value) > rule):
                    errors.append(f"{where}: string of length {len(value)} breaks {key} {rule}")
            elif key == "pattern":
                if isinstance(value, str) and not re.search(rule, value):
                    errors.append(f"{where}: {json.dumps(value)[:60]} does not match {rule}")
            elif key == "required":
                if isinstance(value, dict):
                    errors += [f"{where}: missing \"{k}\"" for k in rule if k not in value]
            elif key == "properties":
                if isinstance(value, dict):
                    for k, sub in rule.items():
                        if k in value:
                            errors += self.check(sub, value[k], f"{where}.{k}")
            elif key == "additionalProperties":
                if isinstance(value, dict):
                    known = schema.get("properties", {})
                    for k in value:
                        if k not in known:
                            if rule is False:
                                errors.append(f"{where}: unexpected key \"{k}\"")
                            elif isinstance(rule, dict):
                                errors += self.check(rule, value[k], f"{where}.{k}")
            elif key == "dependentRequired":
                if isinstance(value, dict):
                    for k, needs in rule.items():
                        if k in value:
                            errors += [f"{where}: \"{k}\" needs \"{n}\"" for n in needs if n not in value]
            elif key == "items":
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        errors += self.check(rule, item, f"{where}[{i}]")
            elif key in ("oneOf", "anyOf"):
                passing = [i for i, sub in enumerate(rule) if not self.check(sub, value, where)]
                if key == "oneOf" and len(passing) != 1 or key == "anyOf" and not passing:
                    errors.append(f"{where}: {json.dumps(value)[:80]} matches {len(passing)} "
                                  f"of the {key} alternatives")
            else:
                raise SystemExit(f"json_schema: the schema uses '{key}', which this checker does not know")
        return errors


def main():
    args = [a for a in sys.argv[1:] if a != "--lines"]
    lines = "--lines" in sys.argv[1:]
    if not 1 <= len(args) <= 2:
        raise SystemExit(__doc__)
    with open(args[0]) as f:
        schema = json.load(f)
    text = open(args[1]).read() if len(args) == 2 else sys.stdin.read()
    checker = Checker(schema)
    docs = []
    try:
        if lines:
            docs = [(f"line {n}", json.loads(l)) for n, l in enumerate(text.splitlines(), 1) if l.strip()]
        else:
            docs = [("document", json.loads(text))]
    except json.JSONDecodeError as e:
        print(f"not JSON: {e}")
        return 1
    if not docs:
        print("no JSON document at all")
        return 1
    errors = []
    for where, doc in docs:
        errors += checker.check(schema, doc, where)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
