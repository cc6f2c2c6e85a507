"""Locale-aware formatting of money and dates for templates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from flask import Flask
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

DATE_PATTERNS = {"ru": "d MMMM y", "en": "d MMMM y"}
DATETIME_PATTERNS = {"ru": "d MMMM y, HH:mm", "en": "d MMMM y, HH:mm"}


def _lang() -> str:
    return str(get_locale() or "ru").split("_")[0]


def money(amount, currency: str = "RUB") -> str:
    """``1 250 000 ₽`` — kopecks shown only when there are some."""
    if amount is None:
        return "—"
    value = Decimal(str(amount))
    whole = value == value.to_integral_value()
    number = format_decimal(value, format="#,##0" if whole else "#,##0.00", locale=_lang())
    if currency == "RUB":
        # Babel's English name for the rouble symbol is "RUB"; sales people write ₽.
        return f"{number}\u00a0₽"
    return format_currency(value, currency, locale=_lang(), currency_digits=not whole)


def long_date(value: date | datetime | None) -> str:
    """``27 ноября 2026`` / ``27 November 2026``."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.date() if value.tzinfo is None else value
        if isinstance(value, datetime):
            return format_datetime(value, DATE_PATTERNS[_lang()])
    return format_date(value, DATE_PATTERNS[_lang()])


def long_datetime(value: datetime | None) -> str:
    if value is None:
        return "—"
    return format_datetime(value, DATETIME_PATTERNS[_lang()])


ROLE_LABELS = {
    "manager": _l("Sales manager"),
    "lead": _l("Team lead"),
    "head": _l("Head of sales"),
    "admin": _l("Administrator"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def today_local() -> date:
    from flask_babel import get_timezone

    return datetime.now(get_timezone()).date()


def init_formatting(app: Flask) -> None:
    app.add_template_filter(money, "money")
    app.add_template_filter(long_date, "long_date")
    app.add_template_filter(long_datetime, "long_datetime")
    app.add_template_global(role_label, "role_label")

    @app.context_processor
    def inject_today():
        return {"today": today_local()}
