"""Lists the functions, classes and methods in every .py file under a directory, as Python's
own parser sees them: the reference that Doctown's Python extraction is checked against.

    python3 tests/accuracy/python_ast.py DIR

prints a JSON list of {"path", "kind", "name", "line"}: `path` relative to DIR and
'/'-separated, `kind` one of function | class | method (a function directly in a class body),
`line` the node's `lineno` (the `def`/`class` line, after any decorators). Files that do not
parse are left out, as are directories of third-party code or tool state.
"""

import ast
import json
import os
import sys

SKIPPED_DIRS = {"node_modules", "vendor", ".git", "__pycache__"}
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def definitions(tree):
    """Yields (kind, name, line) for every function, class and method in a module."""
    stack = [(tree, False)]
    while stack:
        node, in_class_body = stack.pop()
        for child in ast.iter_child_nodes(node):
            direct = in_class_body and child in node.body
            if isinstance(child, FUNCTIONS):
                yield ("method" if direct else "function", child.name, child.lineno)
            elif isinstance(child, ast.ClassDef):
                yield ("class", child.name, child.lineno)
            stack.append((child, isinstance(child, ast.ClassDef)))


def main(root):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for filename in sorted(filenames):
            if not filename.endswith(".py"):
                continue
            full = os.path.join(dirpath, filename)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            try:
                with open(full, "rb") as f:
                    tree = ast.parse(f.read(), filename=rel)
            except (SyntaxError, ValueError, UnicodeDecodeError):
                continue
            for kind, name, line in definitions(tree):
                found.append({"path": rel, "kind": kind, "name": name, "line": line})
    found.sort(key=lambda d: (d["path"], d["line"], d["name"], d["kind"]))
    json.dump(found, sys.stdout, indent=None)
    sys.stdout.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python_ast.py DIR")
    main(sys.argv[1])
