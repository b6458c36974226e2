from __future__ import annotations

from packages_app.names import is_valid_name


class PackageNameConverter:
    """URL converter for package names: invalid names never reach a view.

    The regex is deliberately loose (one path segment); the real check is
    is_valid_name, so `foo%2Fbar`, `..` or an overlong name answer 404.
    """

    regex = r"[^/]+"

    def to_python(self, value: str) -> str:
        if not is_valid_name(value):
            raise ValueError(value)
        return value

    def to_url(self, value: str) -> str:
        return value
