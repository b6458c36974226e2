"""The image's static files storage: whitenoise's hashed, compressed files and manifest."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(
    patterns: tuple[tuple[str, tuple[object, ...]], ...],
) -> tuple[tuple[str, tuple[object, ...]], ...]:
    return tuple(
        (glob, tuple(p for p in found if "sourceMappingURL" not in str(p)))
        for glob, found in patterns
    )


# whitenoise ships no type information: its class is Any to mypy.
class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    """Hashes and compresses every file, rewriting the url()/import references it hashes, but
    not `sourceMappingURL` comments: the vendored bundles (static/vendor) name source maps the
    project does not ship, and a reference to a missing file fails collectstatic."""

    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)
