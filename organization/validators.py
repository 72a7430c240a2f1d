"""The rules every value obeys where it enters, whatever the channel (API, CSV import, forms,
admin, import-export files, demo data).

Each rule comes twice: a `*_problem` function that returns the message or None, cheap enough
for intake to call on every row of a million-row file, and a Django validator built on it for
model fields, so that `full_clean()` (admin, import-export, services) says the same thing.

It lives in `organization`, the lowest app, because every app may import it and none must
copy it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from .formatting import day

# --- text ------------------------------------------------------------------------------------


def text_problem(value: str) -> str | None:
    """Why PostgreSQL could not store `value` as text, or None.

    PostgreSQL text cannot hold the NUL character, and a lone surrogate (possible in JSON,
    "\\ud800") cannot be encoded as UTF-8.
    """
    if "\x00" in value:
        return "Text cannot contain the NUL character (\\u0000)."
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "Text cannot contain a lone surrogate (\\ud800–\\udfff): it is not a character."
    return None


def validate_text(value) -> None:
    """Model field validator: text a PostgreSQL column can store."""
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValidationError(problem, code="invalid_text")


# --- time --------------------------------------------------------------------------------------


def earliest_date() -> date:
    """The first day evidence and records may be dated (setting INTAKE_EARLIEST)."""
    return settings.INTAKE_EARLIEST


def earliest_timestamp() -> datetime:
    """Midnight at the start of INTAKE_EARLIEST, in the organisation's time zone."""
    return timezone.make_aware(datetime.combine(earliest_date(), time.min))


def latest_timestamp() -> datetime:
    """Now plus INTAKE_FUTURE_TOLERANCE: clocks differ a little, never by more."""
    return timezone.now() + settings.INTAKE_FUTURE_TOLERANCE


def timestamp_problem(
    value: datetime,
    *,
    earliest: datetime | None = None,
    latest: datetime | None = None,
    shown: str | None = None,
) -> str | None:
    """Why `value` (aware) lies outside the accepted window, or None.

    Pass `earliest`/`latest` when checking many values, to compute the bounds once, and `shown`
    to quote the value as it was sent (else it reads in words: '4 Aug 2026 14:05').
    """
    earliest = earliest if earliest is not None else earliest_timestamp()
    latest = latest if latest is not None else latest_timestamp()
    if value < earliest:
        return f"{shown or day(value, with_time=True)} is before {day(earliest_date())}, the earliest date accepted."
    if value > latest:
        return f"{shown or day(value, with_time=True)} is in the future."
    return None


def validate_timestamp(value) -> None:
    """Model field validator: a time in the accepted window."""
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        if problem := timestamp_problem(value):
            raise ValidationError(problem, code="implausible_time")


def date_problem(value: date, *, future: bool = True) -> str | None:
    """Why `value` is not a plausible date, or None: before INTAKE_EARLIEST, or (unless `future`
    is allowed) after today."""
    if value < earliest_date():
        return f"{day(value)} is before {day(earliest_date())}, the earliest date accepted."
    if not future and value > timezone.localdate():
        return f"{day(value)} is in the future."
    return None


def validate_date(value) -> None:
    """Model field validator: a date not before INTAKE_EARLIEST."""
    if isinstance(value, date) and (problem := date_problem(value)):
        raise ValidationError(problem, code="implausible_date")


def validate_hire_date(value) -> None:
    """Model field validator: a hire date from 1900 up to a year ahead (people are hired in
    advance). A year-9999 start would make every deadline counted from it overflow."""
    if not isinstance(value, date):
        return
    if value < HIRED_EARLIEST:
        raise ValidationError(f"{day(value)} is before {HIRED_EARLIEST.year}.", code="implausible_date")
    if value > timezone.localdate() + HIRED_AHEAD:
        raise ValidationError(f"{day(value)} is more than a year ahead.", code="implausible_date")


HIRED_EARLIEST = date(1900, 1, 1)
HIRED_AHEAD = timedelta(days=366)


# --- numbers -----------------------------------------------------------------------------------


def decimal_problem(value: Decimal, *, max_digits: int, decimal_places: int) -> str | None:
    """Why `value` does not fit a DecimalField(max_digits, decimal_places), or None.

    The rule of Django's DecimalValidator, as a message that says what fits.
    """
    if not value.is_finite():
        return f"“{value}” is not a finite number."
    shown = _shown(value)
    places = max(0, -value.as_tuple().exponent)
    # Leading zeros are not stored: 0.5 has no whole digit.
    whole = max(0, value.adjusted() + 1) if value else 0
    whole_max = max_digits - decimal_places
    if whole > whole_max:
        return f"{shown} is too large: at most {whole_max} digits before the decimal point."
    if places > decimal_places and value != value.quantize(Decimal(1).scaleb(-decimal_places)):
        return f"{shown} has more than {decimal_places} decimal places."
    return None


def _shown(value: Decimal) -> str:
    """A number as a message quotes it: a 100,000-digit one is cut short."""
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}…{text[-8:]}"
