"""Cases from customer feedback: one answer at a time from the feedback inbox, or a whole intake
batch at once through the active `CaseRule`s.

Either way an answer has at most one case (`Case.feedback` is unique): asking again returns the
case it already has, and a case is never opened twice for the same answer, even when two requests
race. The customer's contact details go to the case only when they consented to be contacted.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case as DbCase
from django.db.models import IntegerField, Q, Value, When
from django.utils import timezone

from measurement.models import Feedback
from organization.models import Employee, Location, Role
from organization.scope import employee_of, scope_queryset

from ..models import Case, CaseCategory, CaseEvent, CaseOrigin, CaseRule, CaseStatus, EventKind, Severity
from ..sla import DeadlineRequest, deadlines_for_many
from .core import case_open

TITLE_MAX = Case._meta.get_field("title").max_length
# How many words of the comment a title quotes before it is cut.
TITLE_WORDS = 8


def feedback_title(
    *, location_name: str, csat: int | None, nps: int | None, comment: str, limit: int = TITLE_MAX
) -> str:
    """ "NPS 2 at Manchester Arndale: the first words of the comment…", within `limit` characters."""
    if nps is not None:
        head = f"NPS {nps} at {location_name}"
    elif csat is not None:
        head = f"CSAT {csat} at {location_name}"
    else:
        head = f"Comment at {location_name}"
    words = comment.split()
    if words:
        quoted = " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")
        head = f"{head}: {quoted}"
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def _contact(feedback: Feedback) -> dict:
    """The customer's details for the case, only when they agreed to be contacted."""
    if not feedback.contact_consent:
        return {}
    return {
        "contact_consent": True,
        "contact_name": feedback.contact_name,
        "contact_email": feedback.contact_email,
    }


def _team_for(touchpoint, location_id: int):
    """The touchpoint's owner team, when that team works at the case's location."""
    team = touchpoint.owner_team if touchpoint is not None else None
    return team if team is not None and team.location_id == location_id else None


def case_open_from_feedback(
    *,
    feedback: Feedback,
    user,
    severity: str = Severity.NORMAL,
    category: CaseCategory | None = None,
) -> Case:
    """Open the case for one customer answer (a manager's "open a case" in the feedback inbox).

    Idempotent: an answer that already has a case returns that case. The person who opens it owns
    it (as with a complaint they take); a user without an employee profile leaves it to the
    location's manager. Raises PermissionDenied when the answer is outside the user's scope.
    """
    if not scope_queryset(user, Feedback.objects.filter(pk=feedback.pk)).exists():
        raise PermissionDenied("This feedback answer is outside your scope.")
    with transaction.atomic():
        # The answer's row lock makes a second, simultaneous "open a case" wait and then find the first.
        answer = (
            Feedback.objects.select_for_update(of=("self",))
            .select_related("location", "touchpoint__owner_team")
            .get(pk=feedback.pk)
        )
        existing = Case.objects.filter(feedback=answer).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return case_open(
                    location=answer.location,
                    title=feedback_title(
                        location_name=answer.location.name,
                        csat=answer.csat,
                        nps=answer.nps,
                        comment=answer.comment,
                    ),
                    description=answer.comment,
                    origin=CaseOrigin.FEEDBACK,
                    user=user,
                    severity=severity,
                    logged_by=employee_of(user),
                    feedback=answer,
                    touchpoint=answer.touchpoint,
                    team=_team_for(answer.touchpoint, answer.location_id),
                    category=category,
                    **_contact(answer),
                )
        except (IntegrityError, ValidationError):
            # Without row locks (SQLite) a racing request can still win: its case is the answer's case.
            existing = Case.objects.filter(feedback=answer).first()
            if existing is None:
                raise
            return existing


# --- rules at intake ---------------------------------------------------------------------------

# Ids per matching query: one query for an API batch (at most 5,000 answers), well within the
# number of parameters SQLite and PostgreSQL take in one statement.
IDS_PER_QUERY = 5000
# A racing writer can take an answer's case between our read and our insert; retry without it.
CONFLICT_RETRIES = 3
SEVERITIES = frozenset(Severity.values)
MATCH_FIELDS = (
    "pk",
    "location_id",
    "location__name",
    "touchpoint_id",
    "touchpoint__owner_team_id",
    "touchpoint__owner_team__location_id",
    "csat",
    "nps",
    "comment",
    "contact_consent",
    "contact_name",
    "contact_email",
    "matched_rule",
)


class CaseIntakeError(Exception):
    """Opening the cases of an intake batch failed; the batch is rolled back with it."""


def rule_condition(rule: CaseRule) -> Q | None:
    """The answers `rule` opens cases for, as a filter on Feedback (every condition given must
    hold); None for a rule without any condition, which matches nothing."""
    condition = Q()
    if rule.nps_at_most is not None:
        condition &= Q(nps__lte=rule.nps_at_most)
    if rule.csat_at_most is not None:
        condition &= Q(csat__lte=rule.csat_at_most)
    if rule.contact_requested:
        condition &= Q(contact_consent=True) & (~Q(contact_email="") | ~Q(contact_name=""))
    if rule.touchpoint_id is not None:
        condition &= Q(touchpoint_id=rule.touchpoint_id)
    return condition or None


def _default_owners(location_ids: set[int]) -> dict[int, int]:
    """`core.default_owner` for many locations in one query: location id → employee id."""
    owners: dict[int, tuple[int, int]] = {}
    rows = (
        Employee.objects.filter(
            managed_locations__in=location_ids, role=Role.MANAGER, active=True, user__is_active=True
        )
        .order_by("user_id")
        .values_list("managed_locations", "pk", "location_id")
    )
    # As `default_owner`: a manager who works at the location first, then the lowest user id.
    for location_id, employee_id, works_at in rows:
        if location_id not in owners or (works_at == location_id and owners[location_id][1] != location_id):
            owners[location_id] = (employee_id, works_at)
    return {location_id: employee_id for location_id, (employee_id, _) in owners.items()}


def _matches(feedback_ids: list[int], rules: list[CaseRule]) -> list[dict]:
    """The answers without a case that a rule matches, each with the first matching rule by name."""
    conditions = [(rule, condition) for rule in rules if (condition := rule_condition(rule)) is not None]
    if not conditions:
        return []
    first_rule = DbCase(
        *(When(condition, then=Value(rule.pk)) for rule, condition in conditions),
        default=None,
        output_field=IntegerField(),
    )
    matching = Q()
    for _rule, condition in conditions:
        matching |= condition
    found: list[dict] = []
    for start in range(0, len(feedback_ids), IDS_PER_QUERY):
        found += (
            Feedback.objects.filter(matching, pk__in=feedback_ids[start : start + IDS_PER_QUERY])
            .filter(case__isnull=True)
            .annotate(matched_rule=first_rule)
            .order_by("pk")
            .values(*MATCH_FIELDS)
        )
    return found


def cases_open_for_feedback(*, feedback_ids: list[int]) -> int:
    """Open a case for every answer in `feedback_ids` that an active `CaseRule` matches; returns
    how many were opened.

    Runs inside the intake transaction (the `feedback_received` signal) and costs a fixed number
    of queries per batch, whatever its size: the active rules (the only query when there are none),
    one query for the matching answers (none match: done), then the SLA policies and opening hours
    (`deadlines_for_many`), the owners, the cases and their events. The first matching rule by name
    wins; an answer that already has a case gets no second one. The cases open now, when the answer
    arrives, not when it was given: a file of last month's answers must not open breached cases.
    """
    rules = list(CaseRule.objects.filter(active=True).order_by("name"))
    if not rules or not feedback_ids:
        return 0
    matches = _matches(list(feedback_ids), rules)
    if not matches:
        return 0
    by_pk = {rule.pk: rule for rule in rules}
    opened_at = timezone.now()
    owners = _default_owners({row["location_id"] for row in matches})
    rules_of = [by_pk[row["matched_rule"]] for row in matches]
    # A severity outside the list (written past the admin's validation) would break the insert.
    severities = [rule.severity if rule.severity in SEVERITIES else Severity.NORMAL for rule in rules_of]
    deadlines = deadlines_for_many(
        [
            DeadlineRequest(
                severity=severity,
                location_id=row["location_id"],
                touchpoint_id=row["touchpoint_id"],
                opened_at=opened_at,
            )
            for row, severity in zip(matches, severities, strict=True)
        ]
    )
    cases: list[Case] = []
    for row, rule, severity, due in zip(matches, rules_of, severities, deadlines, strict=True):
        consent = bool(row["contact_consent"])
        team_here = row["touchpoint__owner_team__location_id"] == row["location_id"]
        cases.append(
            Case(
                title=feedback_title(
                    location_name=row["location__name"],
                    csat=row["csat"],
                    nps=row["nps"],
                    comment=row["comment"],
                ),
                description=row["comment"],
                origin=CaseOrigin.FEEDBACK_RULE,
                feedback_id=row["pk"],
                rule_id=rule.pk,
                location_id=row["location_id"],
                touchpoint_id=row["touchpoint_id"],
                team_id=row["touchpoint__owner_team_id"] if team_here else None,
                category_id=rule.category_id,
                severity=severity,
                owner_id=owners.get(row["location_id"]),
                contact_consent=consent,
                contact_name=row["contact_name"] if consent else "",
                contact_email=row["contact_email"] if consent else "",
                status=CaseStatus.NEW,
                opened_at=opened_at,
                sla_policy=due.policy,
                acknowledge_due_at=due.acknowledge_due_at,
                resolve_due_at=due.resolve_due_at,
            )
        )
    created = _cases_insert(cases)
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case=case,
                at=opened_at,
                kind=EventKind.OPENED,
                to_status=CaseStatus.NEW,
                text=f"Opened by the rule “{by_pk[case.rule_id].name}”.",
            )
            for case in created
        ]
    )
    return len(created)


def _cases_insert(cases: list[Case]) -> list[Case]:
    """Insert `cases`; an answer that another writer gave a case meanwhile is left to that case."""
    for _attempt in range(CONFLICT_RETRIES):
        try:
            with transaction.atomic():
                return Case.objects.bulk_create(cases)
        except IntegrityError as error:
            taken = set(
                Case.objects.filter(feedback_id__in=[case.feedback_id for case in cases]).values_list(
                    "feedback_id", flat=True
                )
            )
            if not taken:
                raise CaseIntakeError(
                    f"The cases for {len(cases)} feedback answer(s) could not be stored: {error}"
                ) from error
            cases = [case for case in cases if case.feedback_id not in taken]
            if not cases:
                return []
    raise CaseIntakeError(
        "Other writers kept opening cases for the same feedback answers; try the batch again."
    )


# --- complaints from other systems (the API) -----------------------------------------------------


def case_open_from_system(
    *,
    user,
    location: Location,
    title: str,
    external_id: str | None = None,
    origin: str = CaseOrigin.API,
    severity: str = Severity.NORMAL,
    **fields,
) -> tuple[Case, bool]:
    """Open a case that a contact-centre or CRM system sends; returns (case, created).

    Idempotent by `external_id`: a resend returns the stored case (created False), also when two
    resends race. The token's owner is recorded as who opened it, but a system takes no calls
    itself: the case goes to the location's manager. `fields` are further `Case` fields
    (touchpoint, category, description, contact details). Raises ValidationError naming the
    field, e.g. `external_id` when the id belongs to a case outside the user's scope.
    """
    if external_id:
        existing = Case.objects.filter(external_id=external_id).first()
        if existing is not None:
            return _resent(user, existing), False
    try:
        with transaction.atomic():
            case = case_open(
                location=location,
                title=title,
                origin=origin,
                user=user,
                severity=severity,
                external_id=external_id or None,
                **fields,
            )
    except (IntegrityError, ValidationError):
        # A resend that raced the first sending: the first one's case is the answer.
        existing = Case.objects.filter(external_id=external_id).first() if external_id else None
        if existing is None:
            raise
        return _resent(user, existing), False
    return case, True


def _resent(user, case: Case) -> Case:
    if not scope_queryset(user, Case.objects.filter(pk=case.pk)).exists():
        raise ValidationError({"external_id": "This external id belongs to a case outside your scope."})
    return case
