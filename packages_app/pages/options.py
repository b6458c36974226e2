"""Page options of the chart pages, read from the query string and written back to it.

The names are the design's stable interface, the same on every page:
`range` (30, 90, 180, 365, 730, 1825, `all`), `start`/`end` (ISO dates, they override
`range`), `agg` (`day`, `week`, `month`), `smooth` (`7` or absent), `scale` (`linear`, `log`).
730 and 1825 are the 2- and 5-year presets: with ClickHouse's history a package reaches
back to 2016.

Pure: no database, no request. The package page and the compare page each pass their
own defaults (`PACKAGE_DEFAULTS`, `COMPARE_DEFAULTS`) and turn `OptionsError` into a
400 (HTMX partial) or a message on the page, never a 500.

Canonical query strings leave defaults out and always list the options in the same
order, so one view state has exactly one URL (shareable links, hx-push-url, cache keys).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

RANGES: tuple[str, ...] = ("30", "90", "180", "365", "730", "1825", "all")
# Ranges drawn per week unless `agg` says otherwise: ten years of days are ~3,700 points
# per series, a page of several hundred KB and a chart too dense to read (decisions.md).
LONG_RANGES: tuple[str, ...] = ("730", "1825", "all")
AGGS: tuple[str, ...] = ("day", "week", "month")
SCALES: tuple[str, ...] = ("linear", "log")
SMOOTH_VALUES: tuple[str, ...] = ("7",)
# Every name this module owns; a page adds its own (compare: packages, metric…).
OPTION_NAMES: tuple[str, ...] = ("range", "start", "end", "agg", "smooth", "scale")

# Dates before PyPI Stats began, or absurdly far ahead, are typos, not requests.
MIN_DATE = dt.date(2016, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


class QueryLike(Protocol):
    """What we read from: a QueryDict, or any mapping of str to str in tests."""

    def get(self, key: str, default: Any = None) -> Any: ...


class OptionsError(ValueError):
    """One or more options are invalid. `errors` maps the option name to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.errors.items()))

    @property
    def messages(self) -> list[str]:
        return [f"{name}: {message}" for name, message in self.errors.items()]


@dataclass(frozen=True)
class OptionDefaults:
    range: str = "180"
    agg: str = "day"
    smooth: bool = False
    scale: str = "linear"
    long_agg: str = "week"  # the default aggregation of LONG_RANGES

    def __post_init__(self) -> None:
        if self.range not in RANGES or self.scale not in SCALES:
            raise ValueError(f"invalid defaults {self!r}")
        if self.agg not in AGGS or self.long_agg not in AGGS:
            raise ValueError(f"invalid defaults {self!r}")

    def agg_for(self, range_: str, *, custom_dates: bool) -> str:
        """The aggregation a view gets when `agg` is absent: weekly on the long presets."""
        return self.long_agg if not custom_dates and range_ in LONG_RANGES else self.agg


PACKAGE_DEFAULTS = OptionDefaults(range="180", agg="day")
COMPARE_DEFAULTS = OptionDefaults(range="365", agg="week")


@dataclass(frozen=True)
class Window:
    """The dates a chart covers, clipped to the dates held.

    `requested_start`/`requested_end` are what the options asked for; `start`/`end`
    is the part of it inside [first_date, latest_date]: only inside it is a missing
    day a zero; before first_date nothing is held, which is not the same thing.
    """

    start: dt.date
    end: dt.date
    requested_start: dt.date
    requested_end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def clipped(self) -> bool:
        return self.start != self.requested_start or self.end != self.requested_end

    def as_payload(self) -> dict[str, str | int | bool]:
        """The `window` object of the package and compare pages' chart payloads."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "requested_start": self.requested_start.isoformat(),
            "requested_end": self.requested_end.isoformat(),
            "days": self.days,
            "clipped": self.clipped,
        }


@dataclass(frozen=True)
class ChartOptions:
    range: str
    start: dt.date | None
    end: dt.date | None
    agg: str
    smooth: bool
    scale: str
    defaults: OptionDefaults = PACKAGE_DEFAULTS

    @property
    def custom_dates(self) -> bool:
        return self.start is not None or self.end is not None

    @property
    def default_agg(self) -> str:
        """The aggregation left out of the URL for this range (OptionDefaults.agg_for)."""
        return self.defaults.agg_for(self.range, custom_dates=self.custom_dates)

    @property
    def smoothing_applies(self) -> bool:
        """A 7-day average is drawn on daily series only; weeks and months are already sums."""
        return self.smooth and self.agg == "day"

    @property
    def shown_agg(self) -> str:
        """The aggregation drawn: a 7-day average is a daily series whatever `agg` says."""
        return "day" if self.smoothing_applies else self.agg

    def as_payload(self) -> dict[str, str | bool | None]:
        """The `options` object of the package and compare pages' chart payloads."""
        return {
            "range": None if self.custom_dates else self.range,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "agg": self.shown_agg,
            "smooth": self.smoothing_applies,
            "scale": self.scale,
        }

    def window(self, first_date: dt.date | None, latest_date: dt.date | None) -> Window | None:
        """The window these options select given the dates held; None when nothing is held in it.

        `range=N` is the N days ending at the latest date held (upstream's own habit:
        "last 30 days" ends yesterday, not today). `start`/`end` override the range; a
        missing `start` means the first date held, a missing `end` the latest.
        """
        if first_date is None or latest_date is None:
            return None
        if self.custom_dates:
            requested_start = self.start or first_date
            requested_end = self.end or latest_date
        elif self.range == "all":
            requested_start, requested_end = first_date, latest_date
        else:
            requested_end = latest_date
            requested_start = latest_date - dt.timedelta(days=int(self.range) - 1)
        start = max(requested_start, first_date)
        end = min(requested_end, latest_date)
        if start > end:
            return None
        return Window(start, end, requested_start, requested_end)

    def params(self, **overrides: Any) -> list[tuple[str, str]]:
        """The non-default options as (name, value) pairs, in the canonical order.

        Overrides use the field names (`range="90"`, `agg="week"`, `smooth=True`,
        `start=None`…). Setting `range` drops `start`/`end`: a preset replaces dates. A
        range or dates that change the default aggregation take it along when the view is
        on the old default (1 year daily -> All weekly -> 30 days daily), not when the user
        chose one.
        """
        if "range" in overrides and "start" not in overrides and "end" not in overrides:
            overrides = {**overrides, "start": None, "end": None}
        if overrides and "agg" not in overrides and self.agg == self.default_agg:
            moved = dataclasses.replace(self, **overrides)
            overrides = {**overrides, "agg": moved.default_agg}
        options = dataclasses.replace(self, **overrides) if overrides else self
        defaults = options.defaults
        pairs: list[tuple[str, str]] = []
        if options.custom_dates:
            if options.start is not None:
                pairs.append(("start", options.start.isoformat()))
            if options.end is not None:
                pairs.append(("end", options.end.isoformat()))
        elif options.range != defaults.range:
            pairs.append(("range", options.range))
        if options.agg != options.default_agg:
            pairs.append(("agg", options.agg))
        if options.smooth != defaults.smooth:
            pairs.append(("smooth", "7" if options.smooth else "0"))
        if options.scale != defaults.scale:
            pairs.append(("scale", options.scale))
        return pairs

    def querystring(self, extra: Iterable[tuple[str, str]] = (), /, **overrides: Any) -> str:
        """`?…` for links and hx-push-url ("" when everything is default).

        `extra` pairs come first (e.g. compare's `packages`), then the options.
        """
        pairs = [*extra, *self.params(**overrides)]
        return "?" + urlencode(pairs) if pairs else ""

    @property
    def cache_key(self) -> str:
        """A short, canonical string identifying these options (for cache keys)."""
        return urlencode(self.params()) or "-"


def parse_options(query: QueryLike, defaults: OptionDefaults = PACKAGE_DEFAULTS) -> ChartOptions:
    """Read and validate the options; raise OptionsError listing every invalid one.

    An empty value counts as absent (an HTML form submits empty date fields).
    """
    errors: dict[str, str] = {}

    def value(name: str) -> str | None:
        raw = query.get(name)
        if raw is None:
            return None
        raw = str(raw).strip()
        return raw or None

    range_ = value("range") or defaults.range
    if range_ not in RANGES:
        errors["range"] = f"must be one of {', '.join(RANGES)}"

    def parse_date(name: str) -> dt.date | None:
        raw = value(name)
        if raw is None:
            return None
        try:
            parsed = dt.date.fromisoformat(raw)
        except ValueError:
            errors[name] = "must be a date as YYYY-MM-DD"
            return None
        if len(raw) != 10:  # fromisoformat also takes 20240101 and 2024-W01-1
            errors[name] = "must be a date as YYYY-MM-DD"
            return None
        if not MIN_DATE <= parsed <= MAX_DATE:
            errors[name] = f"must be between {MIN_DATE} and {MAX_DATE}"
            return None
        return parsed

    start = parse_date("start")
    end = parse_date("end")
    if start is not None and end is not None and start > end:
        errors["start"] = "must not be after end"

    agg = value("agg") or defaults.agg_for(range_, custom_dates=bool(start or end))
    if agg not in AGGS:
        errors["agg"] = f"must be one of {', '.join(AGGS)}"

    smooth_raw = value("smooth")
    if smooth_raw is None:
        smooth = defaults.smooth
    elif smooth_raw in SMOOTH_VALUES:
        smooth = True
    elif smooth_raw == "0":  # lets a link turn off a default-on smoothing
        smooth = False
    else:
        errors["smooth"] = "must be 7 or absent"
        smooth = False

    scale = value("scale") or defaults.scale
    if scale not in SCALES:
        errors["scale"] = f"must be one of {', '.join(SCALES)}"

    if errors:
        raise OptionsError(errors)
    return ChartOptions(
        range=range_,
        start=start,
        end=end,
        agg=agg,
        smooth=smooth,
        scale=scale,
        defaults=defaults,
    )
