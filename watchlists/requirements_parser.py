"""Package names from a pasted requirements.txt or pyproject.toml dependency list.

Pure functions, no Django: only the names matter here. Versions, extras, environment
markers, URLs after `@`, comments and pip options (-r, -e, -c, --hash, --index-url…)
are dropped; a line that names no valid package is reported with its line number so
the user can fix it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

from packages_app.names import InvalidPackageName, canonicalize

MAX_INPUT_CHARS = 100_000

# A requirement: a name, optional [extras], then nothing or a version/URL/marker part.
_REQ_RE = re.compile(
    r"""^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)
        \s*(?P<extras>\[[^\]]*\])?
        \s*(?P<rest>.*)$""",
    re.VERBOSE | re.DOTALL,
)
# What may follow the name: a version specifier, a parenthesised one, or `@ url`.
_REST_RE = re.compile(r"^(?:$|===|==|!=|~=|>=|<=|<|>|\(|@)")
# pip options trailing a requirement on the same line (--hash=…, --global-option…).
_TRAILING_OPTION_RE = re.compile(r"\s+--?[A-Za-z].*$")
# A comment starts at '#' at the start of a line or after whitespace (pip's rule).
_COMMENT_RE = re.compile(r"(^|\s)#.*$")
_QUOTED_RE = re.compile(r"""^\s*(["'])(?P<body>.*)\1\s*,?\s*$""")


@dataclass(frozen=True)
class LineError:
    line: int
    text: str
    message: str


@dataclass
class ParseResult:
    names: list[str] = field(default_factory=list)  # canonical, deduplicated, in input order
    errors: list[LineError] = field(default_factory=list)

    def _add(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)


def requirement_name(spec: str) -> str:
    """The canonical package name of one PEP 508 requirement string.

    Raises ValueError (with a message fit for the user) when there is none.
    """
    spec = spec.split(";", 1)[0].strip()  # environment markers
    if not spec:
        raise ValueError("no package name")
    if "://" in spec.split("@", 1)[0] or spec.startswith((".", "/", "~")):
        raise ValueError("a URL or path, not a package name")
    match = _REQ_RE.match(spec)
    if match is None:
        raise ValueError("not a package name")
    rest = match.group("rest").strip()
    if not _REST_RE.match(rest):
        raise ValueError("unexpected text after the package name")
    try:
        return canonicalize(match.group("name"))
    except InvalidPackageName:
        raise ValueError("not a valid package name") from None


def parse(text: str) -> ParseResult:
    """Names from either format: pyproject.toml when the text is TOML, else requirements."""
    text = text[:MAX_INPUT_CHARS]
    result = _parse_toml(text)
    if result is not None:
        return result
    return parse_requirements(text)


def parse_requirements(text: str) -> ParseResult:
    result = ParseResult()
    for number, line in _logical_lines(text):
        stripped = _COMMENT_RE.sub("", line).strip()
        if not stripped or stripped.startswith("-"):
            continue  # blank, comment, or a pip option line (-r, -e, -c, --index-url…)
        # Lines pasted out of a TOML array: `"requests>=2",`, and its brackets.
        if stripped in ("[", "]", "],") or re.fullmatch(r"[\w.-]+\s*=\s*\[", stripped):
            continue
        quoted = _QUOTED_RE.match(stripped)
        if quoted is not None:
            stripped = quoted.group("body").strip()
        stripped = _TRAILING_OPTION_RE.sub("", stripped)
        try:
            result._add(requirement_name(stripped))
        except ValueError as exc:
            result.errors.append(LineError(number, line.strip(), str(exc)))
    return result


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with pip's backslash continuations joined, numbered by their first line."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if pending is not None:
            start, joined = pending
            current = (start, joined + " " + raw.strip())
        else:
            current = (number, raw)
        if current[1].rstrip().endswith("\\"):
            pending = (current[0], current[1].rstrip()[:-1])
            continue
        pending = None
        lines.append(current)
    if pending is not None:
        lines.append(pending)
    return lines


def _parse_toml(text: str) -> ParseResult | None:
    """Dependencies of a pyproject.toml (PEP 621, PEP 735 groups, Poetry), or None if not TOML."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    specs = list(_toml_specs(data))
    if not specs:
        return None
    result = ParseResult()
    lines = text.splitlines()
    for spec in specs:
        try:
            result._add(requirement_name(spec))
        except ValueError as exc:
            result.errors.append(LineError(_line_of(lines, spec), spec, str(exc)))
    return result


def _toml_specs(data: dict[str, object]) -> list[str]:
    """Dependency strings of a parsed TOML document of any shape (each level is checked)."""
    specs: list[str] = []
    project = data.get("project")
    if isinstance(project, dict):
        specs += _strings(project.get("dependencies"))
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            for group in optional.values():
                specs += _strings(group)
    # A pasted bare `dependencies = [...]` array.
    specs += _strings(data.get("dependencies"))
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        for group in groups.values():
            specs += _strings(group)  # {include-group = …} tables are skipped
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if isinstance(poetry, dict):
        tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
        poetry_groups = poetry.get("group")
        if isinstance(poetry_groups, dict):
            tables += [g.get("dependencies") for g in poetry_groups.values() if isinstance(g, dict)]
        for table in tables:
            if isinstance(table, dict):
                specs += [name for name in table if name.lower() != "python"]
    return specs


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def _line_of(lines: list[str], spec: str) -> int:
    for number, line in enumerate(lines, start=1):
        if spec in line:
            return number
    return 0
