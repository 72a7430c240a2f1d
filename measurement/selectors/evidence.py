"""The drill-down pages: the observations behind a figure, and one evaluation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from organization.models import Employee, Location, Team
from organization.scope import get_in_scope, scope_queryset
from standards.models import Standard

from ..models import Evaluation, Observation, PeriodKind
from ..services.rollup import period_start
from .common import dashboard_locations, dashboard_teams, parse_date, period_bounds, period_label

# --------------------------------------------------------------------------- drill-down


@dataclass(frozen=True)
class ObservationFilter:
    """What the observations page lists; every object already checked against the user's scope."""

    period_kind: str | None = None
    period_start: date | None = None
    location: Location | None = None
    team: Team | None = None
    employee: Employee | None = None
    standard: Standard | None = None

    @property
    def description(self) -> str:
        parts = [
            str(part)
            for part in (self.location and self.location.name, self.team, self.employee, self.standard)
            if part
        ]
        if self.period_start:
            parts.append(period_label(self.period_kind, self.period_start))
        return " · ".join(parts) or "All observations in your scope"

    def params(self) -> dict[str, str]:
        params = {}
        if self.period_start:
            params["period_kind"] = self.period_kind
            params["period_start"] = self.period_start.isoformat()
        for name in ("location", "team", "employee", "standard"):
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value.pk)
        return params


def _get_or_404(queryset: QuerySet, raw: str | None, what: str):
    if not raw:
        return None
    if not str(raw).isdigit():
        raise Http404(f"No such {what}.")
    try:
        return queryset.get(pk=int(raw))
    except queryset.model.DoesNotExist as exc:
        raise Http404(f"No {what} found in your scope.") from exc


def observation_filter_from(user, params: Mapping[str, str]) -> ObservationFilter:
    """Read the drill-down filter; a location, team or employee outside the user's scope answers 404
    (so their names never show). Queries: one per object named."""
    kind = params.get("period_kind") or None
    start = parse_date(params.get("period_start"))
    if kind not in PeriodKind.values or start is None:
        kind, start = None, None
    else:
        start = period_start(kind, start)
    return ObservationFilter(
        period_kind=kind,
        period_start=start,
        location=_get_or_404(dashboard_locations(user), params.get("location"), "location"),
        team=_get_or_404(dashboard_teams(user), params.get("team"), "team"),
        employee=_get_or_404(
            scope_queryset(user, Employee.objects.select_related("user")), params.get("employee"), "employee"
        ),
        standard=_get_or_404(Standard.objects.all(), params.get("standard"), "standard"),
    )


def observations_behind(user, selected: ObservationFilter) -> QuerySet[Observation]:
    """The observations in the user's scope that the matching scorecards count: those no correction
    supersedes, newest first, with what a list shows already joined."""
    observations = scope_queryset(
        user,
        Observation.objects.current().select_related(
            "standard", "location", "team", "employee__user", "touchpoint", "evaluation"
        ),
    )
    if selected.period_start:
        begins, ends = period_bounds(selected.period_kind, selected.period_start)
        observations = observations.filter(observed_at__gte=begins, observed_at__lt=ends)
    for name in ("location", "team", "employee", "standard"):
        value = getattr(selected, name)
        if value is not None:
            observations = observations.filter(**{name: value})
    return observations.order_by("-observed_at", "-pk")


def observation_counts(observations: QuerySet[Observation]) -> dict[str, int]:
    """{'observations': n, 'passed': k} of a list, in one query."""
    return observations.order_by().aggregate(
        observations=Count("pk"), passed=Count("pk", filter=Q(passed=True))
    )


OBSERVATION_CSV_HEADER = (
    "observed_at",
    "location_code",
    "standard_code",
    "team",
    "employee_number",
    "touchpoint",
    "source",
    "value",
    "passed",
    "weight",
    "critical",
    "evaluation_id",
    "external_id",
    "comment",
)


def observation_csv_rows(observations: QuerySet[Observation]) -> Iterable[tuple]:
    """Rows for `OBSERVATION_CSV_HEADER`, streamed in chunks (the whole filtered list, not a page)."""
    for observation in observations.iterator(chunk_size=2000):
        yield (
            observation.observed_at,
            observation.location.code,
            observation.standard.code,
            observation.team.name if observation.team_id else "",
            observation.employee.employee_number if observation.employee_id else "",
            observation.touchpoint.name if observation.touchpoint_id else "",
            observation.get_source_display(),
            observation.value,
            observation.passed,
            observation.weight,
            observation.critical,
            observation.evaluation_id,
            observation.external_id,
            observation.comment,
        )


def evaluation_for(user, pk: int) -> Evaluation:
    """The evaluation if it is in the user's scope, else Http404. Queries: one."""
    return get_in_scope(
        user,
        Evaluation.objects.select_related("location", "team", "employee__user", "touchpoint", "evaluator"),
        pk=pk,
    )


def evaluation_items(evaluation: Evaluation) -> QuerySet[Observation]:
    """The evaluation's observations (its items), current ones first, in standard order."""
    return evaluation.observations.select_related("standard", "superseded_by").order_by(
        "standard__code", "pk"
    )
