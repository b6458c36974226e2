"""Fill ClickPy's per-day targets for a package and a range of days: the numpy half.

How a package-day is split (model.py has its totals), in this fixed order:

  1. versions: the day's active releases (at most VERSION_SLOTS, each >= 1 % of the day's
     weight) share the non-mirror and the mirror downloads by the adoption curves below;
  2. per version, independently: Python minor, system, installer (the non-mirror downloads
     among the non-mirror installers, the mirror downloads among the mirror installers and
     ""), and country; then each (version, installer) cell into file types;
  3. per version, the crossed views: (installer, type) x country, Python x country and
     system x country, each filled from the two tables it must agree with.

Integers throughout: a 1-D split is a largest-remainder split (data.py's `_split`, in integer
arithmetic over weights scaled to 2**24, ties to the lower index), and a 2-D table with both
margins given is proportional floors plus a north-west-corner pass over the remainders, so
both margins come out exact and no cell is negative. Hence these equalities hold exactly,
for every package, day and version (v), on every day:

  - per_day = sum over v of per_day_by_version = sum of every view's rows of that day;
  - for each X in python_minor, system, country_code, type, installer:
    sum over X of ..._by_X[v] = per_day_by_version[v];
  - ..._by_installer_by_type_by_country summed over country = ..._by_installer_by_type (per
    installer; its `type` column is one type, see schema.py) and summed over installer and
    country = ..._by_file_type (per type); summed over (installer, type) = ..._by_country;
  - ..._by_python_by_country summed over country = ..._by_python, over Python = ..._by_country;
    the same for system;
  - sum over the mirror installers and "" = mirror downloads; over the others = the day's
    ClickHouse without_mirrors (model.DayTotals), so with/without_mirrors rebuilt from the
    installer view are exactly the demo upstream's numbers except on disagreement days;
  - Python (system) summed over versions = the day's non-mirror Python (system) split, plus
    every mirror download under "".

Adoption: a minor line's weight ramps up after its first release (time constant
`line_ramp` days) and fades once the next line is out (`line_fade`; every third line, the
long-term-support one, fades twice as slowly); within a line each patch takes over from
the previous ones (`patch_ramp`). Installers: pip dominant; uv from 0 at its launch
(2024-02-15) up an S-curve to 25-45 % depending on the package; poetry from 2018, pdm from
2020, pipenv's 2018 bump, conda, setuptools fading, mirrors. Countries: a fixed mix with India
growing and the US share slowly shrinking, moved per package.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from packages_app.demo.clickhouse_data import model, schema

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Run = Callable[[str], object]  # runs one SQL statement

VERSION_SLOTS = 5
MIN_VERSION_SHARE = 0.01
WEIGHT_SCALE = 1 << 24
CHUNK_DAYS = 366
# The three views that cross country with another breakdown are filled in units of 1/24 of a
# version-day (see fill): their margins stay exact, their cross product is coarse, and they
# hold ~5x fewer rows than a full cross product would (most of the data otherwise).
CROSSED_PARTS = 24
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_UV_LAUNCH_ORDINAL = model.UV_LAUNCH.toordinal()
_YEAR_ZERO = dt.date(2016, 1, 1).toordinal()

# Codes in the staging files -> the strings ClickHouse stores.
DIM_NAMES: dict[str, tuple[str, ...]] = {
    "python_minor": model.PYTHON_MINORS,
    "system": model.SYSTEMS,
    "country_code": model.COUNTRY_CODES,
    "installer": model.INSTALLERS,
    "type": model.FILE_TYPES,
}
_COUNTRY_BASE = (0.34, 0.10, 0.07, 0.05, 0.05, 0.06, 0.03, 0.03, 0.03, 0.03, 0.02, 0.03, 0.01)
_MIRROR_BASE = (0.45, 0.02, 0.25, 0.08, 0.20)  # bandersnatch, z3c, Artifactory, devpi, ""
# sdist share of each installer relative to the package's own (None: a fixed share).
_SDIST_FACTOR: tuple[float | None, ...] = (
    1.0,  # pip
    0.6,  # uv
    1.0,  # poetry
    1.0,  # pdm
    1.0,  # pipenv
    0.0,  # conda
    None,  # requests
    None,  # setuptools
    None,  # Browser
    None,  # bandersnatch
    None,  # z3c.pypimirror
    None,  # Artifactory
    None,  # devpi
    None,  # ""
)
_SDIST_FIXED = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.9, 0.35, 0.5, 0.5, 0.5, 0.5, 0.3)


@dataclass(frozen=True)
class Profile:
    """A package's own shape parameters, derived from its name."""

    line_ramp: float
    line_fade: float
    patch_ramp: float
    uv_share: float
    poetry_share: float
    sdist_share: float
    countries: tuple[float, ...]
    mirrors: tuple[float, ...]


def profile(name: str) -> Profile:
    def u(key: str) -> float:
        return model.unit(f"{key}:{name}")

    return Profile(
        line_ramp=15 + 25 * u("line-ramp"),
        line_fade=50 + 110 * u("line-fade"),
        patch_ramp=4 + 10 * u("patch-ramp"),
        uv_share=0.25 + 0.2 * u("uv"),
        poetry_share=0.03 + 0.05 * u("poetry"),
        sdist_share=0.02 + 0.1 * u("sdist"),
        countries=tuple(
            base * (0.7 + 0.6 * u(f"country-{i}")) for i, base in enumerate(_COUNTRY_BASE)
        ),
        mirrors=tuple(base * (0.7 + 0.6 * u(f"mirror-{i}")) for i, base in enumerate(_MIRROR_BASE)),
    )


# --- integer splits ---------------------------------------------------------------------------


def int_weights(weights: Floats) -> Ints:
    """Weights (non-negative, any scale per row) as integers summing to ~2**24 per row."""
    total = weights.sum(axis=-1, keepdims=True)
    scaled = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 0.0)
    return np.rint(scaled * WEIGHT_SCALE).astype(np.int64)


def split(totals: Ints, weights: Ints) -> Ints:
    """Largest-remainder split of each total by its row of integer weights (exact sums).

    `weights` broadcasts to totals.shape + (K,); a row whose weights are all 0 gets 0s, so
    its total must be 0 (the caller guarantees it).
    """
    shape = (*totals.shape, weights.shape[-1])
    w = np.broadcast_to(weights, shape)
    w_sum = w.sum(axis=-1)
    safe = np.where(w_sum > 0, w_sum, 1)[..., None]
    numerators = totals[..., None] * w
    parts = numerators // safe
    remainder = totals - parts.sum(axis=-1)
    order = np.argsort(-(numerators % safe), axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(shape[-1]), shape), axis=-1)
    parts += ranks < remainder[..., None]
    if np.any((w_sum == 0) & (totals != 0)):
        raise ValueError("a non-zero total has no weight to go to")
    return np.where(w_sum[..., None] > 0, parts, 0)


def fill(rows: Ints, columns: Ints, parts: int | None = None) -> Ints:
    """A table whose row sums are `rows` and column sums `columns` (their totals must match).

    Proportional floors, then the remainders north-west-corner: exact margins and no negative
    cell. With `parts`, the floors are taken in units of total // parts, so only cells worth
    at least 1/parts of the table are proportional and the rest goes north-west-corner: at
    most (cells that big) + rows + columns - 1 non-zero cells, for the views whose full cross
    product would be most of the data (see CROSSED_PARTS).
    """
    total = rows.sum(axis=-1)
    if not np.array_equal(total, columns.sum(axis=-1)):
        raise ValueError("row and column totals differ")
    grain = np.maximum(total // parts, 1) if parts else np.ones_like(total)
    safe = (np.where(total > 0, total, 1) * grain)[..., None, None]
    base = rows[..., :, None] * columns[..., None, :] // safe * grain[..., None, None]
    row_rest = rows - base.sum(axis=-1)
    column_rest = columns - base.sum(axis=-2)
    row_end = np.cumsum(row_rest, axis=-1)
    column_end = np.cumsum(column_rest, axis=-1)
    overlap = np.minimum(row_end[..., :, None], column_end[..., None, :]) - np.maximum(
        (row_end - row_rest)[..., :, None], (column_end - column_rest)[..., None, :]
    )
    result: Ints = base + np.maximum(overlap, 0)
    return result


# --- weights over time --------------------------------------------------------------------------


def _logistic(x: Floats) -> Floats:
    result: Floats = 1.0 / (1.0 + np.exp(-x))
    return result


def version_slots(name: str, days: Ints) -> tuple[Ints, Floats]:
    """(release index or -1, weight) of each day's active releases: shape (days, VERSION_SLOTS)."""
    prof = profile(name)
    rels = model.releases(name)
    uploaded = np.array([r.day.toordinal() for r in rels], dtype=np.int64)
    lines = np.array([r.line for r in rels], dtype=np.int64)
    x = (days[:, None] - uploaded[None, :]).astype(np.float64)
    out = x >= 0
    take = np.where(out, 1.0 - np.exp(-(np.maximum(x, 0.0) + 1.0) / prof.patch_ramp), 0.0)
    weights = np.zeros_like(take)
    line_count = int(lines.max()) + 1
    line_start = np.array(
        [uploaded[lines == line].min() for line in range(line_count)], dtype=np.int64
    )
    for line in range(line_count):
        columns = np.flatnonzero(lines == line)
        a = take[:, columns]
        a[:, 0] = out[:, columns[0]]  # a line's first release owns the line until a patch
        keep = np.cumprod((1.0 - a)[:, ::-1], axis=1)[:, ::-1]
        later_kept = np.concatenate([keep[:, 1:], np.ones((len(days), 1))], axis=1)
        xl = (days - line_start[line]).astype(np.float64)
        ramp = np.where(xl >= 0, 1.0 - np.exp(-(np.maximum(xl, 0.0) + 1.0) / prof.line_ramp), 0.0)
        if line + 1 < line_count:
            fade_days = prof.line_fade * (2.0 if line % 3 == 2 else 1.0)
            since_next = (days - line_start[line + 1]).astype(np.float64)
            ramp = ramp * np.exp(-np.maximum(since_next, 0.0) / fade_days)
        weights[:, columns] = ramp[:, None] * a * later_kept
    order = np.argsort(-weights, axis=1, kind="stable")[:, :VERSION_SLOTS]
    top = np.take_along_axis(weights, order, axis=1)
    keep_slot = (top > 0) & (top >= MIN_VERSION_SHARE * weights.sum(axis=1, keepdims=True))
    return np.where(keep_slot, order, -1), np.where(keep_slot, top, 0.0)


def installer_weights(name: str, days: Ints) -> tuple[Floats, Floats]:
    """(non-mirror installers, mirror installers and "") weights per day."""
    prof = profile(name)
    t = (days - _YEAR_ZERO) / 365.25
    since_uv = (days - _UV_LAUNCH_ORDINAL).astype(np.float64)
    uv = np.where(
        since_uv >= 0,
        prof.uv_share * _logistic((since_uv - 420.0) / 130.0) * np.clip(since_uv / 45.0, 0, 1),
        0.0,
    )
    poetry = prof.poetry_share * _logistic((t - 4.2) / 0.5)
    pdm = 0.012 * _logistic((t - 5.8) / 0.5)
    pipenv = 0.035 * _logistic((t - 1.4) / 0.25) * np.exp(-np.maximum(t - 3.5, 0.0) / 3.0)
    ones = np.ones_like(t)
    conda, requests, browser = 0.008 * ones, 0.004 * ones, 0.003 * ones
    setuptools = 0.04 * np.exp(-t / 1.5) + 0.002
    others = uv + poetry + pdm + pipenv + conda + requests + setuptools + browser
    pip = 1.0 - others
    non_mirror = np.stack([pip, uv, poetry, pdm, pipenv, conda, requests, setuptools, browser], 1)
    mirror = np.broadcast_to(np.array(prof.mirrors), (len(days), len(prof.mirrors)))
    return non_mirror, np.array(mirror)


def sdist_weights(name: str, days: Ints) -> Floats:
    """(wheel, sdist) weights per day and installer: shape (days, installers, 2)."""
    prof = profile(name)
    t = (days - _YEAR_ZERO) / 365.25
    own = prof.sdist_share * np.exp(-np.maximum(t, 0.0) / 5.0)
    shares = np.empty((len(days), len(model.INSTALLERS)))
    for i, factor in enumerate(_SDIST_FACTOR):
        shares[:, i] = own * factor if factor is not None else _SDIST_FIXED[i]
    return np.stack([1.0 - shares, shares], axis=-1)


def country_weights(name: str, days: Ints) -> Floats:
    prof = profile(name)
    t = np.maximum((days - _YEAR_ZERO) / 365.25, 0.0)
    weights = np.broadcast_to(np.array(prof.countries), (len(days), len(prof.countries))).copy()
    weights[:, model.COUNTRY_CODES.index("IN")] *= 1.0 + 0.12 * t
    weights[:, model.COUNTRY_CODES.index("US")] *= 1.0 - 0.025 * t
    weights[:, model.COUNTRY_CODES.index("CN")] *= 1.0 + 0.15 * np.sin(t / 1.7)
    return weights


# --- one chunk of days --------------------------------------------------------------------------


@dataclass
class Chunk:
    """A range of days for one package: every view's cells, (days, slots, ...) shaped."""

    days: Ints  # ordinals
    versions: Ints  # (days, slots): release index or -1
    per_day: Ints
    by_version: Ints
    python: Ints
    system: Ints
    country: Ints
    file_type: Ints
    installer: Ints  # (days, slots, installers): both types together
    installer_type: Ints  # (days, slots, installers, types)
    installer_type_country: Ints
    python_country: Ints
    system_country: Ints


def build_chunk(name: str, start: dt.date, end: dt.date) -> Chunk:
    """Every view's counts for `name` on start..end (inclusive)."""
    n = (end - start).days + 1
    days = np.arange(start.toordinal(), start.toordinal() + n, dtype=np.int64)
    without = np.zeros(n, dtype=np.int64)
    mirrors = np.zeros(n, dtype=np.int64)
    python_total = np.zeros((n, len(model.PYTHON_MINORS)), dtype=np.int64)
    system_total = np.zeros((n, len(model.SYSTEMS)), dtype=np.int64)
    first = model.first_download_date(name)
    for i in range(n):
        day = start + dt.timedelta(days=i)
        if day < first:
            continue
        totals = model.day_totals(name, day)
        without[i], mirrors[i] = totals.without_mirrors, totals.mirrors
        python_total[i] = totals.python
        system_total[i] = totals.system
    total = without + mirrors

    versions, version_weight = version_slots(name, days)
    vw = int_weights(version_weight)
    wv = split(without, vw)
    mv = split(mirrors, vw)
    tv = wv + mv

    python = fill(wv, python_total)
    python[..., -1] += mv
    system = fill(wv, system_total)
    system[..., -1] += mv

    non_mirror_w, mirror_w = installer_weights(name, days)
    installer = np.concatenate(
        [
            fill(wv, split(without, int_weights(non_mirror_w))),
            fill(mv, split(mirrors, int_weights(mirror_w))),
        ],
        axis=-1,
    )
    installer_type = split(installer, int_weights(sdist_weights(name, days))[:, None, :, :])
    country = fill(tv, split(total, int_weights(country_weights(name, days))))
    slots = installer_type.shape[1]
    flat = installer_type.reshape(n, slots, -1)
    installer_type_country = fill(flat, country, CROSSED_PARTS).reshape(
        n, slots, len(model.INSTALLERS), len(model.FILE_TYPES), len(model.COUNTRY_CODES)
    )
    return Chunk(
        days=days,
        versions=versions,
        per_day=total,
        by_version=tv,
        python=python,
        system=system,
        country=country,
        file_type=installer_type.sum(axis=2),
        installer=installer,
        installer_type=installer_type,
        installer_type_country=installer_type_country,
        python_country=fill(python, country, CROSSED_PARTS),
        system_country=fill(system, country, CROSSED_PARTS),
    )


# --- rows ----------------------------------------------------------------------------------------


def _dtype(view: schema.DailyView) -> np.dtype[np.void]:
    fields: list[tuple[str, str]] = [("date", "<u2")]
    if view.by_version:
        fields.append(("version", "<u2"))
    fields += [(dim, "u1") for dim in view.dims]
    fields.append(("count", "<i8"))
    return np.dtype(fields)


def _rows(
    view: schema.DailyView, chunk: Chunk, cells: Ints, columns: Sequence[str]
) -> NDArray[np.void]:
    """The non-zero cells of a (days, [slots,] dims...) array as staging rows."""
    index = np.nonzero(cells)
    rows = np.zeros(len(index[0]), dtype=_dtype(view))
    rows["date"] = chunk.days[index[0]] - _EPOCH_ORDINAL
    rows["count"] = cells[index]
    if view.by_version:
        version = chunk.versions[index[0], index[1]]
        if np.any(version < 0):
            raise ValueError("downloads on an inactive version slot")
        rows["version"] = version
        for column, axis in zip(columns, index[2:], strict=True):
            rows[column] = axis
    return rows


def chunk_rows(chunk: Chunk) -> dict[str, NDArray[np.void]]:
    """Staging rows for every daily view of a chunk, by table name."""
    it = chunk.installer_type
    main_type = np.argmax(it, axis=-1)  # the type the merged ClickPy row would keep (schema.py)
    installer_rows = _rows(schema.BY_INSTALLER_BY_TYPE, chunk, chunk.installer, ["installer"])
    nz = np.nonzero(chunk.installer)
    installer_rows["type"] = main_type[nz]
    return {
        schema.PER_DAY.table: _rows(schema.PER_DAY, chunk, chunk.per_day, []),
        schema.BY_VERSION.table: _rows(schema.BY_VERSION, chunk, chunk.by_version, []),
        schema.BY_PYTHON.table: _rows(schema.BY_PYTHON, chunk, chunk.python, ["python_minor"]),
        schema.BY_SYSTEM.table: _rows(schema.BY_SYSTEM, chunk, chunk.system, ["system"]),
        schema.BY_COUNTRY.table: _rows(schema.BY_COUNTRY, chunk, chunk.country, ["country_code"]),
        schema.BY_FILE_TYPE.table: _rows(schema.BY_FILE_TYPE, chunk, chunk.file_type, ["type"]),
        schema.BY_INSTALLER_BY_TYPE.table: installer_rows,
        schema.BY_INSTALLER_BY_TYPE_BY_COUNTRY.table: _rows(
            schema.BY_INSTALLER_BY_TYPE_BY_COUNTRY,
            chunk,
            chunk.installer_type_country,
            ["installer", "type", "country_code"],
        ),
        schema.BY_PYTHON_BY_COUNTRY.table: _rows(
            schema.BY_PYTHON_BY_COUNTRY,
            chunk,
            chunk.python_country,
            ["python_minor", "country_code"],
        ),
        schema.BY_SYSTEM_BY_COUNTRY.table: _rows(
            schema.BY_SYSTEM_BY_COUNTRY,
            chunk,
            chunk.system_country,
            ["system", "country_code"],
        ),
    }


# --- SQL -------------------------------------------------------------------------------------------


def sql_string(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_array(values: Sequence[str]) -> str:
    return "[" + ", ".join(sql_string(v) for v in values) + "]"


_STAGING_TYPES = {"<u2": "UInt16", "|u1": "UInt8", "<i8": "Int64"}


def insert_sql(view: schema.DailyView, name: str, path: Path, dtype: np.dtype[np.void]) -> str:
    structure = ", ".join(
        f"{field} {'Date' if field == 'date' else _STAGING_TYPES[dtype[field].str]}"
        for field in dtype.names or ()
    )
    expressions: list[str] = []
    for column in schema.table_columns(view.table):
        if column == "project":
            expressions.append(sql_string(name))
        elif column == "version":
            versions = [r.version for r in model.releases(name)]
            expressions.append(f"arrayElement({sql_array(versions)}, toUInt32(version) + 1)")
        elif column in DIM_NAMES:
            expressions.append(
                f"arrayElement({sql_array(DIM_NAMES[column])}, toUInt32({column}) + 1)"
            )
        else:
            expressions.append(column)
    return (
        f"INSERT INTO {schema.DATABASE}.{view.table} ({', '.join(schema.table_columns(view.table))})"
        f" SELECT {', '.join(expressions)}"
        f" FROM file({sql_string(str(path))}, 'RowBinary', {sql_string(structure)})"
    )


@dataclass
class BuildStats:
    rows: dict[str, int]
    days: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def insert_days(run: Run, name: str, start: dt.date, end: dt.date, scratch: Path) -> BuildStats:
    """Insert `name`'s rows for start..end into every daily view (in chunks of a year)."""
    stats = BuildStats(rows={view.table: 0 for view in schema.DAILY_VIEWS}, days=0)
    start = max(start, model.first_download_date(name))
    if end < start:
        return stats
    pending: dict[str, list[NDArray[np.void]]] = {view.table: [] for view in schema.DAILY_VIEWS}
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(chunk_start + dt.timedelta(days=CHUNK_DAYS - 1), end)
        for table, rows in chunk_rows(build_chunk(name, chunk_start, chunk_end)).items():
            pending[table].append(rows)
        stats.days += (chunk_end - chunk_start).days + 1
        chunk_start = chunk_end + dt.timedelta(days=1)
    for view in schema.DAILY_VIEWS:
        rows = np.concatenate(pending[view.table])
        stats.rows[view.table] = len(rows)
        if not len(rows):
            continue
        path = scratch / f"{view.table}.rowbinary"
        rows.tofile(path)
        try:
            run(insert_sql(view, name, path, rows.dtype))
        finally:
            path.unlink(missing_ok=True)
    return stats
