"""Customer cases: one customer's problem, owned by a person, on a clock, until the loop is closed.

A case comes from a feedback answer (a `CaseRule` at intake, or a manager opening one from the feedback
inbox), from a complaint that staff log, or from another system through the API. Every change is an
event on its timeline (`CaseEvent`), so the history of a case is read, never reconstructed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from gap_analysis.models import ActionItem
from measurement.models import Feedback
from organization.models import Employee, Location, Team
from organization.validators import validate_text
from touchpoints.models import Touchpoint


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Reopened"


# The statuses in which the customer is still waiting: the SLA clock runs and the case is "open".
OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS, CaseStatus.REOPENED)
# Not yet acknowledged: the acknowledgement clock runs. A reopened case was acknowledged before.
UNACKNOWLEDGED_STATUSES = (CaseStatus.NEW,)

# Where each status may go next. Anything else is refused with a message naming both statuses.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CaseStatus.NEW: (CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED),
    CaseStatus.ACKNOWLEDGED: (CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED),
    CaseStatus.IN_PROGRESS: (CaseStatus.RESOLVED,),
    CaseStatus.REOPENED: (CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED),
    CaseStatus.RESOLVED: (CaseStatus.CLOSED, CaseStatus.REOPENED),
    CaseStatus.CLOSED: (CaseStatus.REOPENED,),
}


class Severity(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class CaseOrigin(models.TextChoices):
    FEEDBACK_RULE = "feedback_rule", "Feedback rule"
    FEEDBACK = "feedback", "Opened from feedback"
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "By phone"
    LETTER = "letter", "Letter"
    EMAIL = "email", "Email"
    SOCIAL = "social", "Social media"
    API = "api", "Another system"


# The ways staff take a complaint themselves (the complaint form's choices).
COMPLAINT_ORIGINS = (
    CaseOrigin.IN_PERSON,
    CaseOrigin.PHONE,
    CaseOrigin.LETTER,
    CaseOrigin.EMAIL,
    CaseOrigin.SOCIAL,
)


class CaseCategory(models.Model):
    """A reason customers complain, from a configurable list (e.g. "Waiting time", "Billing error")."""

    name = models.CharField(max_length=80, unique=True, validators=[validate_text])
    description = models.CharField(max_length=240, blank=True, validators=[validate_text])
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "case categories"

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """How fast a case of a severity must be acknowledged and resolved.

    The most specific active policy applies: location and touchpoint, then location, then touchpoint,
    then the severity's general policy. Hours are counted on the location's opening times (see
    `cases.sla`).
    """

    name = models.CharField(max_length=120, validators=[validate_text])
    severity = models.CharField(max_length=10, choices=Severity.choices)
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sla_policies",
        help_text="Limit the policy to one location; leave empty for every location.",
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sla_policies",
        help_text="Limit the policy to one touchpoint; leave empty for every touchpoint.",
    )
    acknowledge_within_hours = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(720)],
        help_text="Opening hours allowed to acknowledge the customer (1–720).",
    )
    resolve_within_days = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Opening days allowed to resolve the case (1–365).",
    )
    warn_before_hours = models.PositiveIntegerField(
        default=2,
        validators=[MaxValueValidator(168)],
        help_text="Warn the owner this many opening hours before a deadline (0 for no warning).",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["severity", "name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["severity", "location", "touchpoint"],
                nulls_distinct=False,
                name="sla_policy_one_per_severity_and_scope",
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="sla_policy_severity_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CaseRule(models.Model):
    """Which feedback answers become cases at intake. Every condition given must hold (AND);
    at least one is required."""

    name = models.CharField(max_length=120, unique=True, validators=[validate_text])
    active = models.BooleanField(default=True)
    nps_at_most = models.PositiveSmallIntegerField(
        "NPS at most",
        null=True,
        blank=True,
        validators=[MaxValueValidator(10)],
        help_text="Answers with a likelihood to recommend at or below this (0–10), e.g. 6 for detractors.",
    )
    csat_at_most = models.PositiveSmallIntegerField(
        "CSAT at most",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Answers with a satisfaction at or below this (1–5), e.g. 2.",
    )
    contact_requested = models.BooleanField(
        default=False, help_text="Only answers whose customer left details and agreed to be contacted."
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="case_rules",
        help_text="Only answers about this touchpoint.",
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    category = models.ForeignKey(
        CaseCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="rules"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(nps_at_most__isnull=False)
                | Q(csat_at_most__isnull=False)
                | Q(contact_requested=True)
                | Q(touchpoint__isnull=False),
                name="case_rule_has_condition",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (
            self.nps_at_most is None
            and self.csat_at_most is None
            and not self.contact_requested
            and not self.touchpoint_id
        ):
            raise ValidationError(
                "Give at least one condition: an NPS or CSAT limit, a contact request or a touchpoint."
            )


class Case(models.Model):
    """One customer's problem, from the first word to the customer's answer on how it was put right."""

    title = models.CharField(max_length=160, validators=[validate_text])
    description = models.TextField(blank=True, validators=[validate_text])
    origin = models.CharField(max_length=16, choices=CaseOrigin.choices)
    feedback = models.OneToOneField(
        Feedback,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case",
        help_text="The customer's answer this case answers (at most one case per answer).",
    )
    rule = models.ForeignKey(CaseRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="cases")
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases")
    category = models.ForeignKey(
        CaseCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    owner = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="owned_cases"
    )
    logged_by = models.ForeignKey(
        Employee, on_delete=models.SET_NULL, null=True, blank=True, related_name="logged_cases"
    )
    contact_name = models.CharField(max_length=120, blank=True, validators=[validate_text])
    contact_email = models.EmailField(blank=True, validators=[validate_text])
    contact_phone = models.CharField(max_length=40, blank=True, validators=[validate_text])
    contact_consent = models.BooleanField(
        default=False, help_text="The customer agreed to be contacted about this case."
    )
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.NEW)
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_policy = models.ForeignKey(
        SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    acknowledge_due_at = models.DateTimeField(null=True, blank=True)
    resolve_due_at = models.DateTimeField(null=True, blank=True)
    # 0: nobody above the owner has been told; 1: the team manager; 2: the location manager.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    resolution_summary = models.TextField(blank=True, validators=[validate_text])
    action = models.ForeignKey(
        ActionItem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        help_text="The gap action this case led to.",
    )
    follow_up_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    follow_up_sent_at = models.DateTimeField(null=True, blank=True)
    # The follow-up survey after resolution is the case's own, not a touchpoint rating: it does not count in CSAT/NPS.
    follow_up_answered_at = models.DateTimeField(null=True, blank=True)
    follow_up_csat = models.PositiveSmallIntegerField(
        "follow-up satisfaction (1–5)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="The customer's answer to 'How satisfied are you with how we handled it?'.",
    )
    follow_up_comment = models.TextField(blank=True, validators=[validate_text])
    recovered = models.BooleanField(
        null=True, blank=True, help_text="The customer's follow-up answer was happy (satisfaction 4–5)."
    )
    external_id = models.CharField(
        max_length=100, unique=True, null=True, blank=True, validators=[validate_text]
    )
    updated_at = models.DateTimeField(auto_now=True)

    scope_paths = {"location": "location", "team": "team", "employee": ("owner", "logged_by")}

    class Meta:
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["location", "status", "opened_at"], name="case_location_status_idx"),
            models.Index(fields=["status", "resolve_due_at"], name="case_status_due_idx"),
            models.Index(fields=["owner", "status"], name="case_owner_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="case_status_valid"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="case_severity_valid"),
            models.CheckConstraint(condition=Q(origin__in=CaseOrigin.values), name="case_origin_valid"),
            models.CheckConstraint(
                condition=Q(contact_consent=True)
                | (Q(contact_name="") & Q(contact_email="") & Q(contact_phone="")),
                name="case_contact_needs_consent",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED])
                | (Q(resolved_at__isnull=False) & ~Q(resolution_summary="")),
                name="case_resolved_has_summary",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        """The number customers and colleagues quote: C-000042."""
        return f"C-{self.pk:06d}" if self.pk else "C-new"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def clean(self) -> None:
        errors = {}
        if (self.contact_name or self.contact_email or self.contact_phone) and not self.contact_consent:
            errors["contact_consent"] = (
                "Record the customer's consent to be contacted, or leave their details out."
            )
        if self.team_id and self.location_id and self.team.location_id != self.location_id:
            errors["team"] = f"Team “{self.team.name}” belongs to {self.team.location}, not to this location."
        if errors:
            raise ValidationError(errors)


class EventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    STATUS = "status", "Status changed"
    NOTE = "note", "Internal note"
    MESSAGE = "message", "Message to the customer"
    ASSIGNED = "assigned", "Owner changed"
    WARNED = "warned", "Deadline warning"
    ESCALATED = "escalated", "Escalated"
    LINKED_ACTION = "linked_action", "Gap action linked"
    FOLLOW_UP = "follow_up", "Follow-up answered"


class CaseEvent(models.Model):
    """One line of a case's timeline: who did what, when. Never edited.

    `key` makes an event happen once (e.g. ``escalated:acknowledge:1`` or a reply's idempotency key):
    a second attempt with the same key finds the first and does nothing.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="case_events",
        help_text="Empty for the system (rules, the SLA clock).",
    )
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    from_status = models.CharField(max_length=12, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=CaseStatus.choices, blank=True)
    text = models.TextField(blank=True, validators=[validate_text])
    recipient = models.CharField(max_length=254, blank=True, help_text="Who a message or escalation went to.")
    key = models.CharField(max_length=120, blank=True)

    scope_paths = {
        "location": "case__location",
        "team": "case__team",
        "employee": ("case__owner", "case__logged_by"),
    }

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_case_at_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "key"], condition=~Q(key=""), name="case_event_once_per_key"
            ),
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="case_event_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} {self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
