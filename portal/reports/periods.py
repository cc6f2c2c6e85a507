"""Report periods: inclusive local dates, presets, and ISO-week / month buckets in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, cast, func, literal_column

PRESETS = {
    "this_week": _l("This week"),
    "last_4_weeks": _l("Last 4 weeks"),
    "quarter": _l("This quarter"),
    "last_quarter": _l("Last quarter"),
    "year": _l("Last 12 months"),
    "custom": _l("Custom"),
}
DEFAULT_PRESET = "last_4_weeks"
GROUPS = ("week", "month", "none")


def tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def today() -> date:
    return datetime.now(tz()).date()


@dataclass(frozen=True)
class Period:
    """``start``..``end`` inclusive local dates; either may be open (None)."""

    start: date | None
    end: date | None
    preset: str = "custom"

    @property
    def utc_start(self) -> datetime | None:
        if self.start is None:
            return None
        return datetime.combine(self.start, time.min, tz()).astimezone(UTC)

    @property
    def utc_end(self) -> datetime | None:
        """The first moment after the period (exclusive bound)."""
        if self.end is None:
            return None
        return datetime.combine(self.end + timedelta(days=1), time.min, tz()).astimezone(UTC)

    @property
    def days(self) -> int | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).days + 1

    def previous(self) -> Period | None:
        """The period of the same length just before this one (for comparisons)."""
        if self.days is None:
            return None
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    def args(self) -> dict:
        """URL arguments that reproduce this period."""
        out = {}
        if self.start:
            out["from"] = self.start.isoformat()
        if self.end:
            out["to"] = self.end.isoformat()
        if self.preset != "custom":
            out["preset"] = self.preset
        return out

    def weeks(self) -> list[str]:
        """ISO weeks the period touches, in order."""
        if self.start is None or self.end is None:
            return []
        labels, day = [], self.start - timedelta(days=self.start.weekday())
        while day <= self.end:
            labels.append(week_label(day))
            day += timedelta(days=7)
        return labels

    def months(self) -> list[str]:
        if self.start is None or self.end is None:
            return []
        labels, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            labels.append(f"{year}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return labels


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def preset_period(preset: str, on: date | None = None) -> Period:
    on = on or today()
    monday = on - timedelta(days=on.weekday())
    if preset == "this_week":
        return Period(monday, monday + timedelta(days=6), preset)
    if preset == "quarter":
        first = date(on.year, 3 * ((on.month - 1) // 3) + 1, 1)
        return Period(first, _quarter_end(first), preset)
    if preset == "last_quarter":
        this_first = date(on.year, 3 * ((on.month - 1) // 3) + 1, 1)
        first = (
            date(this_first.year - 1, 10, 1)
            if this_first.month == 1
            else date(this_first.year, this_first.month - 3, 1)
        )
        return Period(first, this_first - timedelta(days=1), preset)
    if preset == "year":
        return Period(on - timedelta(days=364), on, preset)
    # last 4 weeks: this week and the three before it
    return Period(monday - timedelta(weeks=3), monday + timedelta(days=6), "last_4_weeks")


def _quarter_end(first: date) -> date:
    month = first.month + 3
    year = first.year + (1 if month > 12 else 0)
    month = month - 12 if month > 12 else month
    return date(year, month, 1) - timedelta(days=1)


class PeriodError(ValueError):
    def __init__(self, fields: dict):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def parse_date(value: str | None, name: str, fields: dict) -> date | None:
    if value in (None, ""):
        return None
    try:
        parsed = date.fromisoformat(value.strip()[:10])
    except (ValueError, AttributeError):
        fields[name] = _l("Must be a date like 2026-11-27.")
        return None
    if not 2000 <= parsed.year <= 2100:
        fields[name] = _l("The year must be between 2000 and 2100.")
        return None
    return parsed


def period_from_args(args, *, default: str | None = DEFAULT_PRESET) -> Period:
    """``from``/``to`` (inclusive) win over ``preset``; neither: the default preset or open."""
    fields: dict = {}
    start = parse_date(args.get("from"), "from", fields)
    end = parse_date(args.get("to"), "to", fields)
    if start and end and start > end:
        fields["to"] = _l("The end date is before the start date.")
    if fields:
        raise PeriodError(fields)
    if start or end:
        preset = args.get("preset") if args.get("preset") in PRESETS else "custom"
        return Period(start, end, preset)
    preset = args.get("preset")
    if preset in PRESETS and preset != "custom":
        return preset_period(preset)
    if default is None:
        return Period(None, None, "custom")
    return preset_period(default)


# --- SQL buckets --------------------------------------------------------------------------


def _offset_minutes() -> int:
    """The portal's UTC offset now (Moscow has no daylight saving time)."""
    offset = datetime.now(tz()).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


def _dialect() -> str:
    from ..extensions import db

    return db.engine.dialect.name


def local_time(column):
    """A UTC column shifted to the portal's local time, in SQL."""
    minutes = _offset_minutes()
    if _dialect() == "postgresql":
        return column + literal_column(f"interval '{minutes} minutes'")
    return func.datetime(column, f"{minutes:+d} minutes")


def week_bucket(column):
    """``2026-W48``: the ISO week of a UTC timestamp column, in local time, in SQL."""
    local = local_time(column)
    if _dialect() == "postgresql":
        return func.to_char(local, 'IYYY-"W"IW')
    weekday = (cast(func.strftime("%w", local), Integer) + 6) % 7  # Monday = 0
    thursday = func.date(local, func.printf("-%d days", weekday), "+3 days")
    week = (cast(func.strftime("%j", thursday), Integer) - 1) / 7 + 1
    return func.printf("%s-W%02d", func.strftime("%Y", thursday), week)


EPOCH_MONDAY = date(1970, 1, 5)
JULIAN_EPOCH_MONDAY = 2440591.5  # julianday('1970-01-05 00:00')


def week_index(column):
    """Whole weeks since Monday 1970-01-05 of the column's local time: an integer in SQL.

    Far cheaper than building the ``2026-W48`` label row by row (one julianday() instead
    of eight date functions); Python names the few distinct values with ``week_of_index``.
    """
    minutes = _offset_minutes()
    if _dialect() == "postgresql":
        seconds = func.extract("epoch", column) + minutes * 60 - 345600  # 1970-01-05
        return cast(func.floor(seconds / 604800), Integer)
    return cast((func.julianday(column) + minutes / 1440.0 - JULIAN_EPOCH_MONDAY) / 7, Integer)


_week_labels: dict[int, str] = {}


def week_of_index(index: int) -> str:
    label = _week_labels.get(index)
    if label is None:
        label = _week_labels[index] = week_label(EPOCH_MONDAY + timedelta(weeks=int(index)))
    return label


def index_of_week(label: str) -> int | None:
    """The week_index() of ``2026-W48``; None for anything else."""
    try:
        year, week = label.split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
    except (ValueError, AttributeError):
        return None
    return (monday - EPOCH_MONDAY).days // 7


def month_bucket(column):
    local = local_time(column)
    if _dialect() == "postgresql":
        return func.to_char(local, "YYYY-MM")
    return func.strftime("%Y-%m", local)


def bucket(column, group: str):
    if group == "week":
        return week_bucket(column)
    if group == "month":
        return month_bucket(column)
    return None


def in_period(column, period: Period) -> list:
    """WHERE clauses keeping ``column`` (UTC) inside the period."""
    clauses = []
    if period.utc_start is not None:
        clauses.append(column >= period.utc_start)
    if period.utc_end is not None:
        clauses.append(column < period.utc_end)
    return clauses
