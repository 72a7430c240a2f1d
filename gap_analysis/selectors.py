"""Reads for gap analysis: who may see and change assessments and actions, the touchpoint × 4P
heatmap, the action list, and the public "you said, we did" page.

Scope of gap-analysis records (decided here, used by every page of the app):

- An assessment or action *at a location* belongs to that location: admins see and change all of
  them, a manager those of the locations they manage (``Employee.managed_locations``), as
  ``organization.scope.scope_queryset`` decides for any model with a location.
- An *organisation-wide* assessment (``location`` NULL) concerns every location, so every manager
  sees it — it is the baseline their own locations are compared with — but only admins change it.
  Its actions (``ActionItem.location`` NULL) follow the assessment: visible to every manager, so
  the assessment page can show what is being done about each gap, changed only by admins (and
  only admins may own them). ``ActionItem.scope_paths`` alone would hide them from managers; the
  selectors below add them back on purpose.
- Staff and anonymous users see none of it (the pages refuse them before any lookup).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncQuarter
from django.http import Http404
from django.utils import timezone

from measurement.models import Feedback
from organization.models import Employee, Location, Role
from organization.scope import managed_location_ids, role_of, scope_filter, scope_queryset
from touchpoints.models import Touchpoint

from .models import ActionItem, ActionStatus, Assessment, AssessmentStatus, Dimension, Rating

# An assessment older than this no longer describes the touchpoint: the heatmap flags it.
ASSESSMENT_FRESH_DAYS = 365
OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


def is_overdue(action: ActionItem, today: date) -> bool:
    """Still open or in progress, and due before `today` (the "Overdue only" filter, row by row)."""
    return action.status in OPEN_ACTION_STATUSES and action.due_on < today


# --- Who may see and change what ------------------------------------------------------------


def _visible(user, queryset: QuerySet) -> QuerySet:
    """`queryset` (assessments or actions) narrowed to the user's scope plus organisation-wide rows
    for managers (see the module docstring)."""
    condition = scope_filter(user, queryset.model)
    if condition is None:
        return queryset
    if role_of(user) == Role.MANAGER:
        condition |= Q(location__isnull=True)
    return queryset.filter(condition)


def assessments_visible_to(user) -> QuerySet[Assessment]:
    """Assessments the user may open: their locations' and the organisation-wide ones (managers),
    all (admins), none (anyone else)."""
    return _visible(user, Assessment.objects.all())


def actions_visible_to(user) -> QuerySet[ActionItem]:
    """Action items the user may open, by the same rule as assessments."""
    return _visible(user, ActionItem.objects.all())


def assessable_locations(user) -> QuerySet[Location]:
    """Locations the user may assess and act at: every active location for admins, the active
    locations a manager manages, none for anyone else.

    Deliberately narrower than ``location_queryset_for`` (which adds a manager's own workplace and
    their teams' locations): a manager must be able to see what they create, and assessment
    scope follows ``managed_locations`` only.
    """
    locations = Location.objects.filter(active=True)
    role = role_of(user)
    if role == Role.ADMIN:
        return locations
    if role == Role.MANAGER:
        return locations.filter(pk__in=managed_location_ids(user))
    return locations.none()


def can_change_location(user, location_id: int | None, *, managed_ids: set[int] | None = None) -> bool:
    """Whether the user may change gap-analysis records at `location_id` (None: organisation-wide).

    Pass `managed_ids` (from `managed_location_id_set`) when deciding for many rows, to avoid a
    query per row.
    """
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role != Role.MANAGER or location_id is None:
        return False
    if managed_ids is None:
        managed_ids = managed_location_id_set(user)
    return location_id in managed_ids


def managed_location_id_set(user) -> set[int]:
    """Ids of the locations a manager manages, fetched once (empty for anyone else)."""
    return set(Location.objects.filter(pk__in=managed_location_ids(user)).values_list("pk", flat=True))


def get_assessment_for(user, pk: int, *, for_change: bool = False) -> Assessment:
    """The assessment `pk` with its touchpoint and location if the user may see it (Http404
    otherwise); with `for_change`, PermissionDenied when they may see but not change it."""
    try:
        assessment = assessments_visible_to(user).select_related("touchpoint", "location").get(pk=pk)
    except Assessment.DoesNotExist as exc:
        raise Http404("No assessment found in your scope.") from exc
    if for_change and not can_change_location(user, assessment.location_id):
        raise PermissionDenied("Only an administrator can change an organisation-wide assessment.")
    return assessment


def get_action_for(user, pk: int, *, for_change: bool = False) -> ActionItem:
    """The action item `pk` with its source and owner if the user may see it (Http404
    otherwise); with `for_change`, PermissionDenied when they may see but not change it."""
    queryset = actions_visible_to(user).select_related(
        "location",
        "owner",
        "rating__assessment__touchpoint",
        "feedback__touchpoint",
        "feedback__location",
        "touchpoint",
    )
    try:
        action = queryset.get(pk=pk)
    except ActionItem.DoesNotExist as exc:
        raise Http404("No action found in your scope.") from exc
    if for_change and not can_change_location(user, action.location_id):
        raise PermissionDenied("Only an administrator can change an organisation-wide action.")
    return action


def get_rating_for_action(user, pk: int) -> Rating:
    """A rating the user may start an action from: its assessment is one they may change
    (Http404 if they cannot see it, PermissionDenied if they may only look)."""
    try:
        rating = Rating.objects.select_related("assessment__touchpoint", "assessment__location").get(
            pk=pk, assessment__in=assessments_visible_to(user)
        )
    except Rating.DoesNotExist as exc:
        raise Http404("No rating found in your scope.") from exc
    if not can_change_location(user, rating.assessment.location_id):
        raise PermissionDenied("Only an administrator can act on an organisation-wide assessment.")
    return rating


def get_feedback_for_action(user, pk: int) -> Feedback:
    """A customer's feedback in the user's scope (Http404 outside it)."""
    try:
        return scope_queryset(user, Feedback.objects.select_related("touchpoint", "location")).get(pk=pk)
    except Feedback.DoesNotExist as exc:
        raise Http404("No feedback found in your scope.") from exc


def action_owner_choices(location: Location | None) -> QuerySet:
    """Users who may own an action at `location`: its active managers and the active admins;
    only admins for an organisation-wide action (nobody else would see it to do it)."""
    admins = Employee.objects.filter(active=True, role=Role.ADMIN).values("user_id")
    condition = Q(is_superuser=True) | Q(pk__in=admins)
    if location is not None:
        managers = Employee.objects.filter(active=True, role=Role.MANAGER, managed_locations=location)
        condition |= Q(pk__in=managers.values("user_id"))
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(condition)
        .order_by("first_name", "last_name", "username")
    )


def recent_comments_for_action(user, *, limit: int = 20) -> QuerySet[Feedback]:
    """The latest unhappy customer comments (satisfaction 1–2, or no score) in the user's scope:
    the ones most worth an action."""
    comments = Feedback.objects.exclude(comment="").filter(Q(csat__lte=2) | Q(csat__isnull=True))
    return scope_queryset(user, comments.select_related("touchpoint", "location"))[:limit]


# --- The heatmap ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GapCell:
    """One P of one touchpoint on the heatmap: the rating (None when not rated) and how big its gap is."""

    dimension: str
    dimension_label: str
    rating: Rating | None

    @property
    def gap(self) -> int | None:
        return None if self.rating is None else self.rating.gap

    @property
    def level(self) -> str:
        return gap_level(self.gap)

    @property
    def label(self) -> str:
        return GAP_LEVEL_LABELS[self.level]


GAP_LEVEL_LABELS = {
    "missing": "not rated",
    "exceeds": "exceeds expectations",
    "none": "no gap",
    "small": "small gap",
    "medium": "medium gap",
    "large": "large gap",
}


def gap_level(gap: int | None) -> str:
    """Size of a gap (target − current): exceeds (< 0), none (0), small (1), medium (2), large (≥ 3)."""
    if gap is None:
        return "missing"
    if gap < 0:
        return "exceeds"
    return ("none", "small", "medium")[gap] if gap < 3 else "large"


def rating_cells(ratings) -> list[GapCell]:
    """The four Ps in their fixed order, each with its rating from `ratings` or None."""
    by_dimension = {rating.dimension: rating for rating in ratings}
    return [GapCell(value, label, by_dimension.get(value)) for value, label in Dimension.choices]


@dataclass(frozen=True)
class HeatmapRow:
    touchpoint: Touchpoint
    assessment: Assessment | None
    cells: list[GapCell]
    flag: str | None  # "never" (never assessed), "stale" (older than 12 months) or None

    @property
    def largest_gap(self) -> int | None:
        gaps = [cell.gap for cell in self.cells if cell.gap is not None]
        return max(gaps) if gaps else None


ORGANISATION_WIDE = "org"


def heatmap_touchpoints(
    user, *, location: Location | str | None = None, journey_stage: str = ""
) -> QuerySet[Touchpoint]:
    """Active touchpoints for the heatmap, each annotated with ``latest_assessment_id``: the
    latest *completed* assessment the user may see — one row per touchpoint, whatever the
    number of locations (filter by location to see one location's own assessment).

    `location`: None = every assessment the user may see (their locations and the
    organisation-wide ones); a Location = only assessments at it, and only the touchpoints that
    exist there; ``ORGANISATION_WIDE`` = only organisation-wide assessments. For a manager without
    a location filter, touchpoints that exist only at locations they do not manage are left out.
    """
    touchpoints = Touchpoint.objects.filter(active=True)
    present_somewhere = Touchpoint.locations.through.objects.values("touchpoint_id")
    assessments = assessments_visible_to(user).filter(status=AssessmentStatus.COMPLETED)
    if isinstance(location, Location):
        present_here = Touchpoint.locations.through.objects.filter(location=location)
        touchpoints = touchpoints.filter(
            ~Q(pk__in=present_somewhere) | Q(pk__in=present_here.values("touchpoint_id"))
        )
        assessments = assessments.filter(location=location)
    elif location == ORGANISATION_WIDE:
        assessments = assessments.filter(location__isnull=True)
    elif role_of(user) != Role.ADMIN:
        present_in_scope = Touchpoint.locations.through.objects.filter(
            location__in=managed_location_ids(user)
        )
        touchpoints = touchpoints.filter(
            ~Q(pk__in=present_somewhere)
            | Q(pk__in=present_in_scope.values("touchpoint_id"))
            | Q(pk__in=assessments.values("touchpoint_id"))
        )
    if journey_stage:
        touchpoints = touchpoints.filter(journey_stage=journey_stage)
    latest = assessments.filter(touchpoint=OuterRef("pk")).order_by("-assessed_on", "-pk").values("pk")[:1]
    return touchpoints.annotate(latest_assessment_id=Subquery(latest)).order_by("journey_stage", "name", "pk")


def heatmap_rows(touchpoints, *, today: date | None = None) -> list[HeatmapRow]:
    """Rows of the heatmap for `touchpoints` (a page of ``heatmap_touchpoints``), in two queries
    whatever their number: the assessments, then their ratings."""
    today = today or timezone.localdate()
    touchpoints = list(touchpoints)
    ids = [tp.latest_assessment_id for tp in touchpoints if tp.latest_assessment_id]
    assessments = Assessment.objects.filter(pk__in=ids).select_related("location").prefetch_related("ratings")
    by_pk = {assessment.pk: assessment for assessment in assessments} if ids else {}
    stale_before = today - timedelta(days=ASSESSMENT_FRESH_DAYS)
    rows = []
    for touchpoint in touchpoints:
        assessment = by_pk.get(touchpoint.latest_assessment_id)
        if assessment is None:
            flag = "never"
        elif assessment.assessed_on < stale_before:
            flag = "stale"
        else:
            flag = None
        ratings = assessment.ratings.all() if assessment else []
        rows.append(HeatmapRow(touchpoint, assessment, rating_cells(ratings), flag))
    return rows


HEATMAP_FLAG_LABELS = {None: "current", "stale": "over 12 months old", "never": "never assessed"}

HEATMAP_CSV_HEADER = (
    "touchpoint_id",
    "touchpoint",
    "journey_stage",
    "channel",
    *(f"{value}_{column}" for value, _label in Dimension.choices for column in ("current", "target", "gap")),
    "assessment_id",
    "assessed_on",
    "assessment_location",
    "assessment_state",
)


def heatmap_csv_rows(
    touchpoints: Iterable[Touchpoint], *, batch_size: int = 500, today: date | None = None
) -> Iterator[tuple]:
    """Rows of the heatmap export, in `HEATMAP_CSV_HEADER`'s order, one per touchpoint (as on the
    page: its latest completed assessment in the user's scope, whichever location it is at).

    `touchpoints`: ``heatmap_touchpoints`` (read lazily, e.g. ``.iterator(chunk_size=500)``); their
    assessments and ratings are fetched by `heatmap_rows` in two queries per `batch_size` touchpoints.
    Per P: current, target and gap (empty when not rated); then the assessment, its date, its
    location ("All locations" when organisation-wide) and whether it is current, over 12 months old
    or missing.
    """
    today = today or timezone.localdate()
    touchpoints = iter(touchpoints)
    while batch := list(islice(touchpoints, batch_size)):
        for row in heatmap_rows(batch, today=today):
            touchpoint, assessment = row.touchpoint, row.assessment
            scores = []
            for cell in row.cells:
                rating = cell.rating
                scores += [rating.current, rating.target, rating.gap] if rating else [None, None, None]
            if assessment is None:
                where = ""
            else:
                where = assessment.location.name if assessment.location_id else "All locations"
            yield (
                touchpoint.pk,
                touchpoint.name,
                touchpoint.get_journey_stage_display(),
                touchpoint.get_channel_display(),
                *scores,
                assessment.pk if assessment else None,
                assessment.assessed_on if assessment else None,
                where,
                HEATMAP_FLAG_LABELS[row.flag],
            )


def assessment_page(user, pk: int) -> Assessment:
    """The assessment `pk` for its page, if the user may see it (Http404 otherwise): touchpoint,
    location, assessor, expectations, and ratings with their actions and owners, in a fixed
    number of queries."""
    actions = ActionItem.objects.select_related("owner").order_by(*ACTION_ORDER)
    queryset = assessments_visible_to(user).select_related("touchpoint", "location", "assessor")
    try:
        return queryset.prefetch_related("expectations", Prefetch("ratings__actions", queryset=actions)).get(
            pk=pk
        )
    except Assessment.DoesNotExist as exc:
        raise Http404("No assessment found in your scope.") from exc


# --- Action items ---------------------------------------------------------------------------

# Open work first, soonest due first; then what is finished.
_STATUS_RANK = Case(
    When(status=ActionStatus.IN_PROGRESS, then=Value(0)),
    When(status=ActionStatus.OPEN, then=Value(1)),
    When(status=ActionStatus.DONE, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
ACTION_ORDER = (_STATUS_RANK, "due_on", "pk")


def action_list(
    user, *, status: str = "", overdue: bool = False, mine: bool = False, today: date | None = None
) -> QuerySet[ActionItem]:
    """Action items the user may see, filtered, with everything the list shows joined in (one
    query per page whatever its length). Open and in-progress items come first, soonest due first.

    `overdue`: still open or in progress and due before today. `mine`: owned by the user.
    """
    today = today or timezone.localdate()
    actions = actions_visible_to(user).select_related(
        "location", "owner", "rating__assessment__touchpoint", "feedback__touchpoint", "touchpoint"
    )
    if status:
        actions = actions.filter(status=status)
    if overdue:
        actions = actions.filter(status__in=OPEN_ACTION_STATUSES, due_on__lt=today)
    if mine:
        actions = actions.filter(owner=user)
    return actions.order_by(*ACTION_ORDER)


def action_touchpoint(action: ActionItem) -> Touchpoint | None:
    """The touchpoint an action is about, through its rating or its feedback, or a complaint's own."""
    if action.rating_id:
        return action.rating.assessment.touchpoint
    if action.feedback_id:
        return action.feedback.touchpoint
    return action.touchpoint if action.touchpoint_id else None


ACTION_CSV_HEADER = (
    "id",
    "title",
    "touchpoint",
    "location",
    "source",
    "dimension",
    "owner",
    "due_on",
    "status",
    "overdue",
    "published",
    "published_on",
    "customer_summary",
    "closed_on",
    "closure_note",
)


def action_csv_rows(actions: Iterable[ActionItem], *, today: date | None = None) -> Iterator[tuple]:
    """Rows of the action-list export, in `ACTION_CSV_HEADER`'s order, one per action (read lazily).

    `actions`: ``action_list`` (its joins make this one query, e.g. ``.iterator(chunk_size=500)``).
    `source` is "gap" (then `dimension` names the P), "customer feedback" or "customer complaint"
    (the complaint's reference follows); `overdue` is still
    open or in progress and due before `today`.
    """
    today = today or timezone.localdate()
    for action in actions:
        touchpoint = action_touchpoint(action)
        if action.rating_id:
            source, dimension = "gap", action.rating.get_dimension_display()
        else:
            source, dimension = ("customer feedback" if action.feedback_id else ""), ""
            if action.complaint:
                source = f"customer complaint {action.complaint}"
        yield (
            action.pk,
            action.title,
            touchpoint.name if touchpoint else "",
            action.location.name if action.location_id else "All locations",
            source,
            dimension,
            action.owner.get_full_name() or action.owner.get_username(),
            action.due_on,
            action.get_status_display(),
            is_overdue(action, today),
            action.published,
            action.published_on,
            action.customer_summary,
            action.closed_on,
            action.closure_note,
        )


# --- The public "you said, we did" page -----------------------------------------------------


@dataclass(frozen=True)
class PublicImprovement:
    """What the public page may show about a published action — and nothing else (no owner, no
    internal title or notes, no customer's words or contact details)."""

    summary: str
    location_name: str
    touchpoint_name: str
    published_on: date


@dataclass
class Quarter:
    start: date
    items: list[PublicImprovement] = field(default_factory=list)

    @property
    def key(self) -> str:
        return quarter_key(self.start)

    @property
    def label(self) -> str:
        first, last = self.start.strftime("%B"), date(self.start.year, self.start.month + 2, 1).strftime("%B")
        return f"{first} to {last} {self.start.year}"


@dataclass(frozen=True)
class ImprovementsPage:
    highlights: list[PublicImprovement]
    quarters: list[Quarter]
    older: str | None  # the `before` key of the next, older page, or None
    newest: bool  # whether this is the first page


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_key(start: date) -> str:
    """'2025-Q3' for the quarter starting on `start`."""
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def parse_quarter_key(key: str) -> date | None:
    """The first day of the quarter named by `key` ('2025-Q3'), or None if it names none."""
    year, _, quarter = key.partition("-Q")
    if not (year.isdigit() and len(year) == 4 and quarter in {"1", "2", "3", "4"}):
        return None
    return date(int(year), 3 * (int(quarter) - 1) + 1, 1)


HIGHLIGHTS = 3


def improvements_page(*, before: date | None = None, quarters: int = 8) -> ImprovementsPage:
    """Published improvements by quarter, newest first, in two queries whatever their number.

    Shows the `quarters` latest quarters that have any improvement published before `before`
    (the first day of a quarter; None = up to today). On the first page the three most recent
    improvements are set apart as highlights and not repeated in their quarter. `older` names
    the page that continues with older quarters, if there are any.
    """
    published = ActionItem.objects.filter(published=True, published_on__isnull=False)
    if before is not None:
        published = published.filter(published_on__lt=before)
    starts = list(
        published.annotate(quarter=TruncQuarter("published_on"))
        .order_by("-quarter")
        .values_list("quarter", flat=True)
        .distinct()[: quarters + 1]
    )
    if not starts:
        return ImprovementsPage([], [], None, before is None)
    shown, rest = starts[:quarters], starts[quarters:]
    rows = (
        published.filter(published_on__gte=shown[-1])
        .annotate(
            location_name=Coalesce(F("location__name"), Value("All locations")),
            touchpoint_name=Coalesce(
                F("rating__assessment__touchpoint__name"),
                F("feedback__touchpoint__name"),
                F("touchpoint__name"),
                Value(""),
            ),
        )
        .order_by("-published_on", "-pk")
        .values_list("customer_summary", "location_name", "touchpoint_name", "published_on")
    )
    items = [PublicImprovement(*row) for row in rows]
    highlights = items[:HIGHLIGHTS] if before is None else []
    by_start = {start: Quarter(start) for start in shown}
    for item in items[len(highlights) :]:
        by_start[quarter_start(item.published_on)].items.append(item)
    return ImprovementsPage(
        highlights=highlights,
        quarters=[quarter for quarter in by_start.values() if quarter.items],
        older=quarter_key(shown[-1]) if rest else None,
        newest=before is None,
    )
