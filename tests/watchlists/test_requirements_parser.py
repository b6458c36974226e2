"""The pasted-file parser: names out, everything else ignored, bad lines reported by number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchlists.requirements_parser import parse, parse_requirements, requirement_name


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("requests", "requests"),
        ("Requests>=2.31", "requests"),
        ("numpy == 1.26.*", "numpy"),
        ("Django[argon2,bcrypt]>=5,<7", "django"),
        ("zope.interface~=6.0", "zope-interface"),
        ("typing_extensions; python_version < '3.11'", "typing-extensions"),
        ("foo (>=1.0)", "foo"),
        ("pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee", "pip"),
        ("A", "a"),
        ("my__pkg...x", "my-pkg-x"),
        ("black===23.1.0", "black"),
        ("attrs!=21.1.0", "attrs"),
    ],
)
def test_requirement_name(spec: str, name: str) -> None:
    assert requirement_name(spec) == name


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "https://example.org/pkg.whl",
        "./local/path",
        "-e .",
        "requests foo",
        "-bad",
        "pkg-",
        "é",
        "a" * 129,
    ],
)
def test_requirement_name_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        requirement_name(spec)


REQUIREMENTS = """\
# Production dependencies
-r base.txt
-c constraints.txt
--index-url https://pypi.example.org/simple
-e git+https://github.com/org/proj.git#egg=proj
requests==2.31.0 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
Django>=5.0  # the web framework
numpy[extra]; python_version >= "3.10"
requests>=2   # duplicate, listed once

not a requirement!
https://example.org/pkg.whl
Flask
"""


def test_requirements_file() -> None:
    result = parse(REQUIREMENTS)
    assert result.names == ["requests", "django", "numpy", "flask"]
    assert [(e.line, e.text) for e in result.errors] == [
        (13, "not a requirement!"),
        (14, "https://example.org/pkg.whl"),
    ]
    assert result.errors[1].message == "a URL or path, not a package name"


def test_continuation_lines_keep_the_first_line_number() -> None:
    result = parse_requirements("ok\nbad thing \\\n  --hash=x\n")
    assert result.names == ["ok"]
    assert [e.line for e in result.errors] == [2]


def test_windows_line_endings_and_blank_input() -> None:
    assert parse("a\r\nb\r\n").names == ["a", "b"]
    result = parse("\n  \n# only a comment\n")
    assert result.names == [] and result.errors == []


PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]

[project]
name = "myproj"
version = "1.0"
dependencies = [
    "httpx>=0.27",
    "Pydantic[email]>=2 ; python_version>='3.9'",
    "not valid!!",
]

[project.optional-dependencies]
dev = ["pytest>=8", "ruff"]

[dependency-groups]
docs = ["sphinx", {include-group = "dev"}]

[tool.poetry.dependencies]
python = "^3.11"
celery = "^5"
"""


def test_pyproject() -> None:
    result = parse(PYPROJECT)
    # Build requirements and the project's own name are not dependencies.
    assert result.names == ["httpx", "pydantic", "pytest", "ruff", "sphinx", "celery"]
    assert [(e.line, e.text) for e in result.errors] == [(10, "not valid!!")]


def test_pasted_dependency_array_alone() -> None:
    assert parse('dependencies = [\n  "rich>=13",\n  "click",\n]\n').names == ["rich", "click"]


def test_pasted_array_items_without_the_brackets() -> None:
    """Lines copied out of the middle of an array (not valid TOML) still work."""
    result = parse('    "rich>=13",\n    "typer[all]",\n')
    assert result.names == ["rich", "typer"]
    assert result.errors == []


def test_toml_without_dependencies_falls_back_to_lines() -> None:
    # "a = 1" is TOML but names no dependency: treated as a requirements line (invalid).
    result = parse("a = 1\n")
    assert result.names == []
    assert [e.line for e in result.errors] == [1]


def test_input_is_capped() -> None:
    text = "pkg\n" * 60_000
    assert parse(text).names == ["pkg"]


@given(st.text(max_size=400))
def test_never_raises_and_only_valid_names(text: str) -> None:
    result = parse(text)
    for name in result.names:
        assert requirement_name(name) == name
    assert all(e.line >= 0 for e in result.errors)
