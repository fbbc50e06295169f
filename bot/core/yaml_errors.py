"""One-line descriptions of YAML syntax errors, shared by the content and locale loaders."""

from __future__ import annotations

import yaml

_YAML_HINTS = (
    ("mapping values are not allowed", 'a text containing ":" must be in "double quotes"'),
    ("'\\t'", "indent with spaces, not tabs"),
    ("expected <block end>", "check the indentation of this line and the one above"),
)


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """``line L, column C: YAML syntax error: what (hint)`` on one line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    parts = (getattr(exc, "context", None), getattr(exc, "problem", None))
    what = "; ".join(str(part) for part in parts if part) or str(exc)
    what = " ".join(what.split())
    for needle, hint in _YAML_HINTS:
        if needle in what:
            what = f"{what} ({hint})"
            break
    if mark is None:
        return f"YAML syntax error: {what}"
    return f"line {mark.line + 1}, column {mark.column + 1}: YAML syntax error: {what}"
