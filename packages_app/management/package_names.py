"""The shared head of the commands that take package names (`track`, `untrack`, `refresh`)."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from packages_app.names import is_valid_name


def add_names_argument(parser: CommandParser, *, required: bool = True) -> None:
    parser.add_argument("names", nargs="+" if required else "*", metavar="NAME")


def check_names(names: list[str]) -> None:
    """Refuse the whole command when any name is invalid: a typo should not half-apply."""
    invalid = [name for name in names if not is_valid_name(name)]
    if invalid:
        raise CommandError(f"not a valid package name: {', '.join(map(repr, invalid))}")
