"""Which evidence a run counts, the rows it leaves out, and the days recent evidence touched."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncDate

from measurement.models import (
    Feedback,
    Observation,
    QuarantinedRow,
    QuarantineReason,
    QuarantineTable,
)
from organization.validators import earliest_timestamp

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .postgresql import Params

# Longest time an intake transaction may stay open between writing rows and committing them.
IN_FLIGHT_MARGIN = timedelta(minutes=2)
# A value the observation column could not hold (NaN, which PostgreSQL's numeric accepts, or more
# whole digits than the column has, which SQLite does not enforce) is left out, like a bad time.
_VALUE_FIELD = Observation._meta.get_field("value")
VALUE_LIMIT = Decimal(10) ** (_VALUE_FIELD.max_digits - _VALUE_FIELD.decimal_places)


@dataclass(frozen=True)
class CountableWindow:
    """The evidence a run counts: times from INTAKE_EARLIEST to the run's clock plus
    INTAKE_FUTURE_TOLERANCE and IN_FLIGHT_MARGIN, and values the column can hold.

    Intake refuses anything else, but a row can still reach the table (older data, a direct SQL
    write); one such row, dated in the year 1 or 9999, has no local-time period Python can
    represent and used to stop every run. Such rows are left out of every aggregate as if they did
    not exist (a correction left out supersedes nothing) and listed in `QuarantinedRow`.
    The upper bound uses the same tolerance as intake, with the in-flight margin as slack for app
    server clocks that run ahead of the worker's. A row dated later is counted once it is due, by
    the nightly full rebuild (an incremental run only revisits rows recorded since the watermark).
    """

    earliest: datetime
    latest: datetime

    @classmethod
    def at(cls, now: datetime) -> CountableWindow:
        return cls(earliest_timestamp(), now + settings.INTAKE_FUTURE_TOLERANCE + IN_FLIGHT_MARGIN)

    def observations(self, prefix: str = "") -> Q:
        """Observations that can be counted (`prefix`: the path to another observation)."""
        value = f"{prefix}value"
        return Q(**{f"{prefix}observed_at__gte": self.earliest, f"{prefix}observed_at__lte": self.latest}) & (
            Q(**{f"{value}__isnull": True}) | Q(**{f"{value}__gt": -VALUE_LIMIT, f"{value}__lt": VALUE_LIMIT})
        )

    def feedback(self) -> Q:
        return Q(submitted_at__gte=self.earliest, submitted_at__lte=self.latest)

    def observations_sql(self, alias: str, params: Params) -> str:
        """`observations()` in SQL for the fast path (NaN fails both comparisons, as it does there)."""
        return (
            f"{alias}.observed_at >= {params(self.earliest)} AND {alias}.observed_at <= {params(self.latest)}"
            f" AND ({alias}.value IS NULL OR ({alias}.value > {params(-VALUE_LIMIT)}"
            f" AND {alias}.value < {params(VALUE_LIMIT)}))"
        )

    def feedback_sql(self, params: Params) -> str:
        return f"submitted_at >= {params(self.earliest)} AND submitted_at <= {params(self.latest)}"


def quarantine(window: CountableWindow, *, now: datetime, since: datetime | None) -> int:
    """List the evidence rows outside `window` in `QuarantinedRow`, set-based, and return how many
    this run read: those recorded after `since`, or every one on a full run (None), which also
    forgets the entries of rows that have become countable or are gone.

    One INSERT … SELECT … ON CONFLICT over both tables (through the indexes on the times, or on
    ``recorded_at``), a count by reason for the log when there are any, and a DELETE on full runs.
    """
    earliest, latest = window.earliest, window.latest
    seen = Value(now, output_field=DateTimeField())

    def listed(queryset: QuerySet, table: str, time: str, value: str) -> QuerySet:
        if since is not None:
            queryset = queryset.filter(recorded_at__gt=since)
        timed = Q(**{f"{time}__lt": earliest}) | Q(**{f"{time}__gt": latest})
        return queryset.annotate(
            q_table=Value(table),
            q_row_id=F("pk"),
            q_reason=Case(
                When(Q(**{f"{time}__lt": earliest}), then=Value(QuarantineReason.TOO_EARLY)),
                When(Q(**{f"{time}__gt": latest}), then=Value(QuarantineReason.FUTURE)),
                default=Value(QuarantineReason.VALUE),
            ),
            q_value=Case(When(timed, then=Cast(time, TextField())), default=Cast(value, TextField())),
            q_first=seen,
            q_last=seen,
        ).values_list("q_table", "q_row_id", "q_reason", "q_value", "q_first", "q_last")

    # The complement of the window, written out: NaN compares above every number in PostgreSQL,
    # so ``value >= VALUE_LIMIT`` catches it, and a null value is countable.
    observations = listed(
        Observation.objects.filter(
            Q(observed_at__lt=earliest)
            | Q(observed_at__gt=latest)
            | Q(value__lte=-VALUE_LIMIT)
            | Q(value__gte=VALUE_LIMIT)
        ),
        QuarantineTable.OBSERVATION,
        "observed_at",
        "value",
    )
    feedback = listed(
        Feedback.objects.filter(Q(submitted_at__lt=earliest) | Q(submitted_at__gt=latest)),
        QuarantineTable.FEEDBACK,
        "submitted_at",
        "submitted_at",
    )
    select, select_params = (
        observations.order_by().union(feedback.order_by(), all=True).query.sql_with_params()
    )
    table = connection.ops.quote_name(QuarantinedRow._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (evidence_table, row_id, reason, value, first_seen_at, last_seen_at) {select}"
            " ON CONFLICT (evidence_table, row_id) DO UPDATE SET reason = excluded.reason,"
            " value = excluded.value, last_seen_at = excluded.last_seen_at",
            select_params,
        )
        read = cursor.rowcount
    if since is None:
        QuarantinedRow.objects.exclude(last_seen_at=now).delete()
    if read:
        counts = (
            QuarantinedRow.objects.filter(last_seen_at=now)
            .values_list("evidence_table", "reason")
            .annotate(n=Count("pk"))
            .order_by("evidence_table", "reason")
        )
        logger.warning(
            "Scorecard rollup left out %d evidence rows it cannot count (%s); they are listed as "
            "quarantined evidence rows in admin",
            read,
            ", ".join(f"{evidence} {reason}: {n}" for evidence, reason, n in counts),
        )
    return read


def days_recorded_since(since: datetime, tz: ZoneInfo, window: CountableWindow) -> set[date]:
    """Local days whose countable evidence changed after `since`.

    A new observation changes its own day and, when it is a correction, the day of the observation
    it supersedes (which loses a row). Rows outside `window` change nothing (and have no day Python
    could always represent). Two queries, each through the index on ``recorded_at``, returning
    distinct days.

    The corrections' days are a branch of their own (UNION), joined to the rows they supersede,
    beside the new rows' days: with one outer join over every new row PostgreSQL expected thousands
    of rows to join and hashed the whole observation table for them (150 ms at a million rows,
    growing with the table), where the few corrections are fetched through the primary key.
    """
    recorded = Observation.objects.filter(window.observations(), recorded_at__gt=since).order_by()
    own_days = recorded.annotate(day=TruncDate("observed_at", tzinfo=tz)).values_list("day", flat=True)
    corrected_days = (
        recorded.filter(window.observations("supersedes__"), supersedes__isnull=False)
        .annotate(day=TruncDate("supersedes__observed_at", tzinfo=tz))
        .values_list("day", flat=True)
    )
    observations = own_days.union(corrected_days)
    feedback = (
        Feedback.objects.filter(window.feedback(), recorded_at__gt=since)
        .annotate(day=TruncDate("submitted_at", tzinfo=tz))
        .values_list("day", flat=True)
        .order_by()
        .distinct()
    )
    return set(observations) | set(feedback)
