from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from measurement.models import Deviation, PeriodKind, Scorecard
from organization.models import Employee, Location, Team
from standards.models import Standard


class SubjectKind(models.TextChoices):
    EMPLOYEE = "employee", "Employee"
    TEAM = "team", "Team"
    LOCATION = "location", "Location"


class Condition(models.TextChoices):
    SUSTAINED_PERFORMANCE = "sustained", "Pass rate at or above target for N consecutive periods"
    REPEATED_SHORTFALL = "shortfall", "Pass rate below target for N consecutive periods"
    DEVIATION = "deviation", "Any deviation of a non-negotiable standard"
    TRAINING_LAPSE = "training_lapse", "Pass rate below target while training on the standard has expired"
    SLA_BREACHED = "sla_breached", "Customer cases breached their SLA N times in a period"
    AUDITS_MISSED = "audits_missed", "Planned audits missed N times in a period"


class Polarity(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"


class Action(models.TextChoices):
    RECOGNITION = "recognition", "Recognition"
    COACHING = "coaching", "Coaching session"
    CORRECTIVE_ACTION = "corrective", "Corrective action plan"
    REMEDIAL_TRAINING = "remedial_training", "Remedial training"


# Which condition may lead to which action: good results earn recognition, shortfalls earn
# help, and a deviation of a non-negotiable standard always needs a corrective action.
ALLOWED_ACTIONS = {
    Condition.SUSTAINED_PERFORMANCE: {Action.RECOGNITION},
    Condition.REPEATED_SHORTFALL: {Action.COACHING, Action.CORRECTIVE_ACTION, Action.REMEDIAL_TRAINING},
    Condition.DEVIATION: {Action.CORRECTIVE_ACTION},
    Condition.TRAINING_LAPSE: {Action.REMEDIAL_TRAINING},
    Condition.SLA_BREACHED: {Action.COACHING, Action.CORRECTIVE_ACTION},
    Condition.AUDITS_MISSED: {Action.COACHING, Action.CORRECTIVE_ACTION},
}
# Whose cases an SLA-breach rule counts: one person's (the owner's) or one location's.
SLA_SUBJECTS = {SubjectKind.EMPLOYEE, SubjectKind.LOCATION}


class Rule(models.Model):
    """A consequence rule, as data: when `condition` holds for a subject, propose `action`."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices)
    condition = models.CharField(max_length=16, choices=Condition.choices)
    action = models.CharField(max_length=20, choices=Action.choices)
    period_kind = models.CharField(max_length=7, choices=PeriodKind.choices, default=PeriodKind.MONTH)
    consecutive_periods = models.PositiveSmallIntegerField(
        default=2,
        # A bound on how far back the rule looks: more periods than this reach past any calendar.
        validators=[MinValueValidator(1), MaxValueValidator(36)],
        help_text="How many periods running the condition must hold (1–36).",
    )
    min_observations = models.PositiveIntegerField(
        default=10, help_text="Periods with fewer observations than this are not judged."
    )
    standard = models.ForeignKey(
        Standard,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rules",
        help_text="Limit the rule to one standard; leave empty for the overall pass rate.",
    )
    # Its own field, not min_observations or consecutive_periods, whose help texts say something else.
    breaches_at_least = models.PositiveSmallIntegerField(
        "SLA breaches at least",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="For “Customer cases breached their SLA”: how many of the subject's cases must miss "
        "a deadline (acknowledgement or resolution) within one period of the rule's period kind "
        "(1–1,000). Leave empty for every other condition.",
    )
    missed_at_least = models.PositiveSmallIntegerField(
        "missed audits at least",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="For “Planned audits missed”: how many of the location's planned audits due within one "
        "period of the rule's period kind must have been missed (1–1,000), e.g. 2 in a quarter. Leave "
        "empty for every other condition.",
    )
    due_within_days = models.PositiveIntegerField(
        default=14,
        # Due dates are counted from today: a bound keeps them inside the calendar.
        validators=[MaxValueValidator(3650)],
        help_text="Days allowed to deliver the consequence (at most 3,650, ten years).",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(consecutive_periods__gte=1), name="rule_consecutive_periods_positive"
            ),
            models.CheckConstraint(
                condition=Q(condition=Condition.SUSTAINED_PERFORMANCE, action=Action.RECOGNITION)
                | Q(
                    condition=Condition.REPEATED_SHORTFALL,
                    action__in=[Action.COACHING, Action.CORRECTIVE_ACTION, Action.REMEDIAL_TRAINING],
                )
                | Q(condition=Condition.DEVIATION, action=Action.CORRECTIVE_ACTION)
                | Q(
                    condition=Condition.TRAINING_LAPSE,
                    action=Action.REMEDIAL_TRAINING,
                    subject_kind="employee",
                )
                | Q(
                    condition=Condition.SLA_BREACHED,
                    action__in=[Action.COACHING, Action.CORRECTIVE_ACTION],
                    subject_kind__in=["employee", "location"],
                )
                | Q(
                    condition=Condition.AUDITS_MISSED,
                    action__in=[Action.COACHING, Action.CORRECTIVE_ACTION],
                    subject_kind="location",
                ),
                name="rule_action_fits_condition",
            ),
            models.CheckConstraint(
                condition=Q(
                    condition=Condition.SLA_BREACHED,
                    breaches_at_least__isnull=False,
                    breaches_at_least__gte=1,
                )
                | (~Q(condition=Condition.SLA_BREACHED) & Q(breaches_at_least__isnull=True)),
                name="rule_breaches_only_for_sla_rules",
            ),
            models.CheckConstraint(
                condition=Q(
                    condition=Condition.AUDITS_MISSED,
                    missed_at_least__isnull=False,
                    missed_at_least__gte=1,
                )
                | (~Q(condition=Condition.AUDITS_MISSED) & Q(missed_at_least__isnull=True)),
                name="rule_missed_only_for_audit_rules",
            ),
            models.CheckConstraint(
                condition=Q(subject_kind__in=SubjectKind.values), name="rule_subject_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def polarity(self) -> str:
        return Polarity.POSITIVE if self.action == Action.RECOGNITION else Polarity.NEGATIVE

    def clean(self) -> None:
        errors = {}
        # An unknown condition is reported by the field's choices; don't fail on it here.
        allowed_actions = ALLOWED_ACTIONS.get(self.condition)
        if allowed_actions and self.action and self.action not in allowed_actions:
            allowed = ", ".join(Action(a).label for a in allowed_actions)
            errors["action"] = f"“{self.get_condition_display()}” leads to: {allowed}."
        if self.condition == Condition.TRAINING_LAPSE and self.subject_kind != SubjectKind.EMPLOYEE:
            errors["subject_kind"] = "Training lapses concern one employee: choose Employee."
        if self.condition == Condition.SLA_BREACHED:
            if self.subject_kind and self.subject_kind not in SLA_SUBJECTS:
                errors["subject_kind"] = (
                    "SLA breaches are counted for a case's owner or its location: choose Employee or Location."
                )
            if self.breaches_at_least is None:
                errors["breaches_at_least"] = "Say how many SLA breaches in a period lead to the consequence."
        elif self.breaches_at_least is not None:
            errors["breaches_at_least"] = "Only the SLA-breach condition counts breaches: leave this empty."
        if self.condition == Condition.AUDITS_MISSED:
            if self.subject_kind and self.subject_kind != SubjectKind.LOCATION:
                errors["subject_kind"] = "Audits are planned for a location: choose Location."
            if self.missed_at_least is None:
                errors["missed_at_least"] = "Say how many missed audits in a period lead to the consequence."
        elif self.missed_at_least is not None:
            errors["missed_at_least"] = (
                "Only the missed-audits condition counts missed audits: leave this empty."
            )
        if errors:
            raise ValidationError(errors)


class ConsequenceStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    DELIVERED = "delivered", "Delivered"
    CLOSED = "closed", "Closed"


# The only moves allowed: proposed → approved → delivered → closed.
NEXT_STATUS = {
    ConsequenceStatus.PROPOSED: ConsequenceStatus.APPROVED,
    ConsequenceStatus.APPROVED: ConsequenceStatus.DELIVERED,
    ConsequenceStatus.DELIVERED: ConsequenceStatus.CLOSED,
}


def has_corrective_action() -> models.Exists:
    """True for a deviation (the outer row) that a corrective action answers.

    EXISTS, not ``corrective_action__isnull``: the reverse one-to-one becomes a LEFT JOIN ... IS NULL
    that PostgreSQL estimates at a handful of rows, so with thousands of open deviations it joined
    each to five tables before sorting them.
    """
    return models.Exists(Consequence.objects.filter(deviation=models.OuterRef("pk")))


def unanswered(deviations):
    """`deviations` that no corrective action answers yet."""
    return deviations.filter(~has_corrective_action())


class Consequence(models.Model):
    """A recognition, coaching session, corrective action or remedial training for one subject,
    proposed by a rule (or by hand) with the evidence behind it."""

    rule = models.ForeignKey(
        Rule, on_delete=models.PROTECT, null=True, blank=True, related_name="consequences"
    )
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices)
    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, null=True, blank=True, related_name="consequences"
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="consequences"
    )
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        related_name="consequences",
        help_text="Where the subject works; for a location subject, the location itself.",
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    polarity = models.CharField(max_length=8, choices=Polarity.choices)
    period_kind = models.CharField(max_length=7, choices=PeriodKind.choices, blank=True)
    period_start = models.DateField(null=True, blank=True)
    # Rules are idempotent: one consequence per rule, subject and period (or deviation).
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True, editable=False)
    deviation = models.OneToOneField(
        Deviation, on_delete=models.PROTECT, null=True, blank=True, related_name="corrective_action"
    )
    evidence = models.ManyToManyField(Scorecard, blank=True, related_name="consequences")
    summary = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=ConsequenceStatus.choices, default=ConsequenceStatus.PROPOSED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consequences_owned",
    )
    due_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    closure_note = models.TextField(blank=True, help_text="What was done. Required to close.")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    scope_paths = {"location": "location", "team": "team", "employee": "employee"}

    class Meta:
        ordering = ["status", "due_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(subject_kind=SubjectKind.EMPLOYEE, employee__isnull=False)
                | Q(subject_kind=SubjectKind.TEAM, team__isnull=False, employee__isnull=True)
                | Q(subject_kind=SubjectKind.LOCATION, team__isnull=True, employee__isnull=True),
                name="consequence_subject_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status=ConsequenceStatus.CLOSED)
                | (~Q(closure_note="") & Q(closed_at__isnull=False)),
                name="consequence_closed_has_note",
            ),
            models.CheckConstraint(
                condition=Q(deviation__isnull=True)
                | Q(action=Action.CORRECTIVE_ACTION, polarity=Polarity.NEGATIVE),
                name="consequence_deviation_needs_corrective_action",
            ),
            models.CheckConstraint(
                condition=Q(polarity=Polarity.POSITIVE, action=Action.RECOGNITION)
                | (Q(polarity=Polarity.NEGATIVE) & ~Q(action=Action.RECOGNITION)),
                name="consequence_polarity_matches_action",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ConsequenceStatus.values), name="consequence_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.subject_label}"

    @property
    def subject_label(self) -> str:
        if self.subject_kind == SubjectKind.EMPLOYEE:
            return str(self.employee)
        if self.subject_kind == SubjectKind.TEAM:
            return str(self.team)
        return str(self.location)

    @property
    def is_overdue(self) -> bool:
        return bool(
            self.due_on and self.status != ConsequenceStatus.CLOSED and self.due_on < timezone.localdate()
        )

    def clean(self) -> None:
        errors = {}
        if self.status == ConsequenceStatus.CLOSED and not self.closure_note.strip():
            errors["closure_note"] = "Say what was done before closing" + (
                ": a deviation is closed only by a corrective action." if self.deviation_id else "."
            )
        if self.status == ConsequenceStatus.CLOSED and self.closed_at is None:
            errors["closed_at"] = "Give the date the consequence was closed."
        if self.deviation_id and self.action != Action.CORRECTIVE_ACTION:
            errors["action"] = "A deviation of a non-negotiable standard is answered by a corrective action."
        expected_polarity = Polarity.POSITIVE if self.action == Action.RECOGNITION else Polarity.NEGATIVE
        if self.action and self.polarity and self.polarity != expected_polarity:
            errors["polarity"] = (
                f"{self.get_action_display()} is a {expected_polarity.label.lower()} consequence: "
                "recognition is positive; coaching, corrective action and remedial training are negative."
            )
        if self.subject_kind in SubjectKind.values:
            subject_field = {"employee": self.employee_id, "team": self.team_id, "location": self.location_id}
            if not subject_field[self.subject_kind]:
                errors[self.subject_kind] = f"Choose the {self.subject_kind} this consequence is for."
            # A team or location consequence is about the group, never one named person (or team).
            if self.subject_kind != SubjectKind.EMPLOYEE and self.employee_id:
                errors["employee"] = (
                    f"Leave employee empty for a consequence about a {self.get_subject_kind_display().lower()}."
                )
            if self.subject_kind == SubjectKind.LOCATION and self.team_id:
                errors["team"] = "Leave team empty for a consequence about a location."
        if errors:
            raise ValidationError(errors)
