"""The drill-down pages: the observations behind a figure, and one evaluation.

The observations page lists exactly what the rollup counts for the same filters
(`services.rollup`: countable rows that no countable correction supersedes, in local-time
periods), so that "88% passed (n = 41)" opens a page whose count is 41. The filters arrive through
`forms.ObservationFilterForm`; every object named is looked up in the user's options, and one
outside them answers 404 exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from organization.models import Employee, Location, Role, Team
from organization.scope import employee_of, role_of, scope_filter, scope_queryset
from servicedesk.pagination import keyset_page
from standards.models import Standard
from touchpoints.models import Touchpoint

from ..filters import day_after, day_start
from ..forms import ObservationFilterForm
from ..models import Deviation, Evaluation, Observation, PeriodKind, Source
from ..services.rollup import CountableWindow, period_end, period_start
from .common import dashboard_locations, dashboard_teams, period_label

# A count reads every row it counts: the page's count stops here, whatever the filters.
COUNT_LIMIT = 10_000
# The page's order, newest first: observation_observed_idx, then the pk between equal times.
PAGE_ORDER = ("observed_at", "id")
OBJECT_FIELDS = ("location", "team", "employee", "standard", "touchpoint")
# Teams or employees the filters list whole; past it, those of the chosen location.
LONG_LIST = 50

# --------------------------------------------------------------------------- drill-down


@dataclass(frozen=True)
class ObservationChoices:
    """What the user may filter the observations page by (their scope), one query per list."""

    locations: list[Location]
    teams: list[Team]
    employees: list[Employee]
    standards: list[Standard]
    touchpoints: list[Touchpoint]

    def objects(self, name: str) -> list:
        return getattr(self, f"{name}s")

    def options(self, params: Mapping[str, str] | None = None) -> dict[str, list[tuple[int, str]]]:
        """(id, label) pairs per filter field, for the form's selects. Teams and employees are
        listed whole up to LONG_LIST; past it only those of the location the filters name (the
        chosen location, or the chosen team's or employee's), so that an admin's page does not
        carry 3,000 options. The choices themselves are unchanged: any id in scope is accepted."""
        teams, employees = self.teams, self.employees
        if len(teams) > LONG_LIST or len(employees) > LONG_LIST:
            where = self._chosen_location(params or {})
            if len(teams) > LONG_LIST:
                teams = [team for team in teams if team.location_id == where]
            if len(employees) > LONG_LIST:
                employees = [employee for employee in employees if employee.location_id == where]
        return {
            "location": [(location.pk, location.name) for location in self.locations],
            "team": [(team.pk, f"{team.name} · {team.location.name}") for team in teams],
            "employee": [(employee.pk, employee.full_name) for employee in employees],
            "standard": [(standard.pk, standard_label(standard)) for standard in self.standards],
            "touchpoint": [(touchpoint.pk, touchpoint.name) for touchpoint in self.touchpoints],
        }

    def narrowed(self) -> list[str]:
        """The fields whose options `options` lists by location (too many to list whole)."""
        return [name for name in ("team", "employee") if len(self.objects(name)) > LONG_LIST]

    def _chosen_location(self, params: Mapping[str, str]) -> int | None:
        """The id of the location the filters name, directly or through a team or employee."""
        for name in ("location", "team", "employee"):
            raw = str(params.get(name) or "")
            if raw.isascii() and raw.isdigit() and len(raw) <= 18:
                found = next((item for item in self.objects(name) if item.pk == int(raw)), None)
                if found is not None:
                    return found.pk if name == "location" else found.location_id
        return None


def observation_choices(user) -> ObservationChoices:
    """The locations, teams and employees in the user's scope, and every standard and touchpoint
    (they belong to no location). Queries: five, whatever the data size."""
    return ObservationChoices(
        locations=list(dashboard_locations(user).order_by("name")),
        teams=list(dashboard_teams(user).order_by("location__name", "name")),
        employees=list(scope_queryset(user, Employee.objects.select_related("user"))),
        standards=list(Standard.objects.order_by("code")),
        touchpoints=list(Touchpoint.objects.order_by("name")),
    )


def standard_label(standard: Standard) -> str:
    """'Greeting within 30 s (STD-01)'."""
    return f"{standard.title} ({standard.code})"


def span_label(first: date | None, last: date | None) -> str:
    """'4 Nov – 3 Dec 2026', '4 Nov 2026', 'from 4 Nov 2026', 'until 3 Dec 2026'."""
    if first and last:
        if first == last:
            return f"{first.day} {first:%b %Y}"
        begins = f"{first.day} {first:%b}" if first.year == last.year else f"{first.day} {first:%b %Y}"
        return f"{begins} – {last.day} {last:%b %Y}"
    if first:
        return f"from {first.day} {first:%b %Y}"
    return f"until {last.day} {last:%b %Y}"


@dataclass(frozen=True)
class ObservationFilter:
    """What the observations page lists; every object already checked against the user's scope."""

    period_kind: str | None = None
    period_start: date | None = None
    date_from: date | None = None  # inclusive local days
    date_to: date | None = None
    location: Location | None = None
    team: Team | None = None
    employee: Employee | None = None
    standard: Standard | None = None
    touchpoint: Touchpoint | None = None
    source: str | None = None
    passed: bool | None = None

    @property
    def is_empty(self) -> bool:
        return not self.params()

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[begins, ends) instants in the organisation's time zone, as the rollup's periods."""
        if self.period_start:
            try:
                end = period_end(self.period_kind, self.period_start)
            except (OverflowError, ValueError):  # a period running past the last day a date holds
                end = date.max
            return day_start(self.period_start), day_start(end)
        begins = day_start(self.date_from) if self.date_from else None
        ends = day_start(day_after(self.date_to)) if self.date_to else None
        return begins, ends

    @property
    def description(self) -> str:
        """'Harbour Street · Greeting within 30 s · 4 Nov – 3 Dec 2026 · failed only'."""
        parts = [
            self.location and self.location.name,
            # A team's name repeats between locations: name its location unless that is said already.
            self.team
            and (self.team.name if self.location else f"{self.team.name} ({self.team.location.name})"),
            self.employee and self.employee.full_name,
            self.standard and self.standard.title,
            self.touchpoint and self.touchpoint.name,
            self.source and Source(self.source).label,
        ]
        if self.period_start:
            parts.append(period_label(self.period_kind, self.period_start))
        elif self.date_from or self.date_to:
            parts.append(span_label(self.date_from, self.date_to))
        if self.passed is not None:
            parts.append("passed only" if self.passed else "failed only")
        return " · ".join(part for part in parts if part) or "All observations in your scope"

    def params(self) -> dict[str, str]:
        """The query string that lists the same observations (links, pages, the CSV)."""
        params = {}
        if self.period_start:
            params["period_kind"] = self.period_kind
            params["period_start"] = self.period_start.isoformat()
        if self.date_from:
            params["from"] = self.date_from.isoformat()
        if self.date_to:
            params["to"] = self.date_to.isoformat()
        for name in OBJECT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value.pk)
        if self.source:
            params["source"] = self.source
        if self.passed is not None:
            params["passed"] = "yes" if self.passed else "no"
        return params

    def scorecard_params(self) -> dict[str, str]:
        """The scorecards page's parameters for the same selection (what it can show of it)."""
        keep = ("period_kind", "period_start", "location", "team", "standard")
        params = {key: value for key, value in self.params().items() if key in keep}
        if self.period_kind not in (None, PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER):
            params.pop("period_kind", None)
            params.pop("period_start", None)
        return params


def observation_filter(cleaned: Mapping, choices: ObservationChoices) -> ObservationFilter:
    """The filter from an `ObservationFilterForm`'s cleaned data. An id not among the user's
    choices answers 404 (so a name outside scope never shows). No query: the choices are loaded."""
    chosen = {}
    for name in OBJECT_FIELDS:
        pk = cleaned.get(name)
        if pk is None:
            continue
        found = next((item for item in choices.objects(name) if item.pk == pk), None)
        if found is None:
            raise Http404(f"No {name} found in your scope.")
        chosen[name] = found
    kind = cleaned.get("period_kind") or None
    start = cleaned.get("period_start")
    return ObservationFilter(
        # Any day of the period names it, as the rollup does; links give its first day.
        period_kind=kind if start else None,
        period_start=period_start(kind, start) if kind and start else None,
        date_from=cleaned.get("from"),
        date_to=cleaned.get("to"),
        source=cleaned.get("source") or None,
        passed=cleaned.get("passed"),
        **chosen,
    )


def countable_observations(now: datetime | None = None) -> QuerySet[Observation]:
    """The observations a rollup run now would count: inside its `CountableWindow`, and not
    superseded by a countable correction (the rule of `services.rollup._observation_aggregates`,
    from the same Q objects)."""
    countable = CountableWindow.at(now or timezone.now()).observations()
    return Observation.objects.filter(
        countable, ~Exists(Observation.objects.filter(countable, supersedes=OuterRef("pk")))
    )


def observations_behind(
    user, selected: ObservationFilter, *, choices: ObservationChoices | None = None
) -> QuerySet[Observation]:
    """The observations the matching scorecards count, newest first, with what a row shows joined.

    A location, team or employee chosen is in the user's scope already, and its scorecard counts
    all of its observations (a team's include those made at another location), so then the list
    is theirs whole; without one, it is narrowed to the user's scope. Every filter is a column
    with an index (location, standard, team, employee, touchpoint, observed_at) or sits on one.

    `choices` (the user's, already loaded) let a manager's scope be read through those indexes:
    the scope's subqueries are tested row by row, so alone they scan the whole table (490 ms for
    2,000 rows of one location among a million); beside them, the same locations, teams and
    employee as literal ids, which PostgreSQL reads as one bitmap of three index scans (31 ms)."""
    observations = countable_observations().select_related(
        "standard", "location", "team", "employee__user", "touchpoint", "evaluation"
    )
    if not (selected.location or selected.team or selected.employee):
        observations = scope_queryset(user, observations)
        if choices is not None and role_of(user) == Role.MANAGER:
            # A superset of the scope (every team at the manager's locations, not only theirs):
            # the scope itself still decides, this only lets the indexes find the rows.
            employee = employee_of(user)
            observations = observations.filter(
                Q(location__in=[location.pk for location in choices.locations])
                | Q(team__in=[team.pk for team in choices.teams])
                | Q(employee=employee.pk if employee else None)
            )
    begins, ends = selected.bounds()
    if begins is not None:
        observations = observations.filter(observed_at__gte=begins)
    if ends is not None:
        observations = observations.filter(observed_at__lt=ends)
    for name in OBJECT_FIELDS:
        value = getattr(selected, name)
        if value is not None:
            observations = observations.filter(**{name: value})
    if selected.source:
        observations = observations.filter(source=selected.source)
    if selected.passed is not None:
        observations = observations.filter(passed=selected.passed)
    return observations.order_by("-observed_at", "-pk")


@dataclass(frozen=True)
class ObservationCounts:
    observations: int
    passed: int | None  # None when the count stopped at the limit
    more_than: int | None = None  # the limit, when there are more rows than it


def observation_counts(observations: QuerySet[Observation]) -> ObservationCounts:
    """How many observations a list has and how many passed, in one query that reads at most
    COUNT_LIMIT + 1 rows, so that its cost never grows with the table. A list longer than that
    is reported as `more_than` the limit, without a pass count, which would describe an
    arbitrary part of it (the scorecards have the totals)."""
    measures = {"observations": Count("pk"), "passed": Count("pk", filter=Q(passed=True))}
    counted = observations.order_by()[: COUNT_LIMIT + 1].aggregate(**measures)
    if counted["observations"] > COUNT_LIMIT:
        return ObservationCounts(observations=COUNT_LIMIT, passed=None, more_than=COUNT_LIMIT)
    return ObservationCounts(**counted)


@dataclass(frozen=True)
class ObservationPage:
    """One page of a list, newest first, and where the pages beside it start: `older` and `newer`
    are the ids of the rows they continue from (None at either end)."""

    rows: list[Observation]
    older: int | None = None
    newer: int | None = None
    first: bool = True  # whether this is the newest page

    @property
    def has_other_pages(self) -> bool:
        return bool(self.older or self.newer)


class PageNotFound(Http404):
    pass


def page_cursor(params: Mapping[str, str]) -> tuple[str, int] | None:
    """("older" | "newer", id) from the query string, None for the newest page; PageNotFound
    when it names no page (both, or an id that is not a positive whole number)."""
    given = [(name, params[name]) for name in ("older", "newer") if name in params]
    if not given:
        return None
    if len(given) > 1 or not given[0][1].isascii() or not given[0][1].isdigit() or len(given[0][1]) > 18:
        raise PageNotFound("No such page of observations.")
    return given[0][0], int(given[0][1])


def observation_page(
    observations: QuerySet[Observation], cursor: tuple[str, int] | None, *, size: int
) -> ObservationPage:
    """The page of `observations` after (`older`) or before (`newer`) the row with the cursor's
    id, in the page order; the row itself need not be in the list, only exist. Reads `size` + 1
    rows from one range of the observed_at index, never an OFFSET. Queries: one, two with a
    cursor; PageNotFound if its row does not exist."""
    position = None
    if cursor is not None:
        position = Observation.objects.filter(pk=cursor[1]).values_list(*PAGE_ORDER).first()
        if position is None:
            raise PageNotFound("No such page of observations.")
    rows, older, newer = keyset_page(
        observations,
        PAGE_ORDER,
        position,
        descending=True,
        backwards=cursor is not None and cursor[0] == "newer",
        size=size,
    )
    if not rows:
        return ObservationPage(rows=[], first=cursor is None)
    return ObservationPage(
        rows=rows,
        older=rows[-1].pk if older else None,
        newer=rows[0].pk if newer else None,
        first=not newer,
    )


def observation_filter_from(user, params: Mapping[str, str]) -> ObservationFilter:
    """The filter a query string asks for, checked as the page checks it: ValueError naming the
    fields of malformed parameters, Http404 for an object outside the user's scope."""

    choices = observation_choices(user)
    form = observation_filter_form(params, choices)
    if not form.is_valid():
        raise ValueError("; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()))
    return observation_filter(form.cleaned_data, choices)


def observation_filter_form(params: Mapping[str, str], choices: ObservationChoices):
    """The page's filter form, bound to `params`, with the user's options."""
    return ObservationFilterForm(
        params, options=choices.options(params), period_kinds=PeriodKind.choices, sources=Source.choices
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


# --------------------------------------------------------------------------- one evaluation


def evaluation_for(user, pk: int) -> Evaluation:
    """The evaluation if the user's scope covers it or they recorded it themselves, else Http404.
    Queries: one."""
    evaluations = Evaluation.objects.select_related(
        "location", "team", "employee__user", "touchpoint", "evaluator"
    )
    condition = scope_filter(user, Evaluation)
    if condition is not None and getattr(user, "is_authenticated", False):
        condition |= Q(evaluator_id=user.pk)
    visible = evaluations if condition is None else evaluations.filter(condition)
    evaluation = visible.filter(pk=pk).first()
    if evaluation is None:
        raise Http404("No evaluation found in your scope.")
    return evaluation


def evaluation_items(evaluation: Evaluation) -> QuerySet[Observation]:
    """The evaluation's observations (its items), in standard order, corrected ones included."""
    return evaluation.observations.select_related("standard", "superseded_by").order_by(
        "standard__code", "pk"
    )


@dataclass(frozen=True)
class EvaluationResult:
    """What one evaluation found: its items, the weights behind its score, its critical failures,
    the deviations it created, and where its evidence lies on the observations page."""

    evaluation: Evaluation
    items: list[Observation]
    deviations: list[Deviation]
    evidence_params: dict[str, str]  # the location's observations in the evaluation's month
    pass_mark: object

    @property
    def current_items(self) -> list[Observation]:
        """The items that count: a corrected one is replaced by its correction."""
        return [item for item in self.items if not _is_superseded(item)]

    @property
    def critical_failures(self) -> list[Observation]:
        return [item for item in self.current_items if item.critical and not item.passed]

    @property
    def weight_total(self):
        return sum((item.weight for item in self.current_items), 0)

    @property
    def weight_earned(self):
        return sum((item.weight for item in self.current_items if item.passed), 0)

    def standard_params(self, item: Observation) -> dict[str, str]:
        """The observations of the item's standard at the location, in the evaluation's month."""
        return {**self.evidence_params, "standard": str(item.standard_id)}


def _is_superseded(item: Observation) -> bool:
    try:
        return item.superseded_by is not None
    except Observation.superseded_by.RelatedObjectDoesNotExist:
        return False


def evaluation_result(evaluation: Evaluation) -> EvaluationResult:
    """The evaluation's page. Queries: two (items, deviations)."""
    month = period_start(PeriodKind.MONTH, timezone.localtime(evaluation.evaluated_at).date())
    return EvaluationResult(
        evaluation=evaluation,
        items=list(evaluation_items(evaluation)),
        deviations=list(
            Deviation.objects.filter(observation__evaluation=evaluation)
            .select_related("standard", "observation")
            .order_by("standard__code", "pk")
        ),
        evidence_params={
            "period_kind": PeriodKind.MONTH,
            "period_start": month.isoformat(),
            "location": str(evaluation.location_id),
        },
        pass_mark=settings.EVALUATION_PASS_MARK,
    )


def sees_evidence(user) -> bool:
    """Whether the user may open the observations page (managers and admins)."""
    return role_of(user) in (Role.MANAGER, Role.ADMIN)
