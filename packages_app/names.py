"""Package names: validation (PEP 508) and canonical form (PEP 503).

Every name that reaches a URL, a query or the database passes through here first.
"""

from __future__ import annotations

import re

# The PyPA name regex, anchored with \Z: `$` would let a trailing newline through.
_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE)
_SEPARATORS_RE = re.compile(r"[-_.]+")
MAX_NAME_LENGTH = 128
# Upstream's pseudo-package with the totals of all of PyPI; accepted as it is.
ALL_PACKAGES = "__all__"


class InvalidPackageName(ValueError):
    """The string is not a valid PyPI project name."""


def is_valid_name(name: str) -> bool:
    if name == ALL_PACKAGES:
        return True
    return len(name) <= MAX_NAME_LENGTH and _NAME_RE.match(name) is not None


def canonicalize(name: str) -> str:
    """Validate and return the PEP 503 canonical name, or raise InvalidPackageName."""
    if not isinstance(name, str) or not is_valid_name(name):
        raise InvalidPackageName(f"{name!r} is not a valid package name")
    if name == ALL_PACKAGES:
        return name
    return _SEPARATORS_RE.sub("-", name).lower()


def canonicalize_or_none(name: str) -> str | None:
    try:
        return canonicalize(name)
    except InvalidPackageName:
        return None
