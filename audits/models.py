"""The audit programme: templates (versioned, with sections, questions and logic), schedules
that plan audits per location, the occurrences they create, and the audits done from them.

An audit's scored answers become observations through the measurement intake service, and its
score becomes the score of the evaluation it records (`audits.services.scoring`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from measurement.models import EVIDENCE_SCOPE, Evaluation, EvaluationMethod
from organization.formatting import day
from organization.models import Employee, Location, Team
from organization.validators import validate_text
from standards.models import MeasureKind, Standard
from touchpoints.models import Touchpoint

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
POSITIVE_WEIGHT = [MinValueValidator(Decimal("0.01"))]


class AuditMethod(models.TextChoices):
    MYSTERY_SHOP = "mystery_shop", "Mystery shop"
    QA_REVIEW = "qa_review", "QA review"
    INTERNAL_AUDIT = "internal_audit", "Internal audit"
    SELF_ASSESSMENT = "self_assessment", "Self-assessment"


# The evaluation an audit records: internal audits and self-assessments are both audits there.
EVALUATION_METHOD = {
    AuditMethod.MYSTERY_SHOP: EvaluationMethod.MYSTERY_SHOP,
    AuditMethod.QA_REVIEW: EvaluationMethod.QA_REVIEW,
    AuditMethod.INTERNAL_AUDIT: EvaluationMethod.AUDIT,
    AuditMethod.SELF_ASSESSMENT: EvaluationMethod.AUDIT,
}


class TemplateStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class AuditTemplate(models.Model):
    """One version of an audit template. Publishing freezes it; editing a published template
    means making its next version (same `lineage`), so every audit keeps the exact questions,
    weights and logic it was done with."""

    lineage = models.UUIDField(default=uuid.uuid4, editable=False, help_text="Shared by all versions.")
    version = models.PositiveIntegerField(default=1, editable=False)
    title = models.CharField(max_length=160, validators=[validate_text])
    description = models.TextField(blank=True, validators=[validate_text])
    method = models.CharField(max_length=16, choices=AuditMethod.choices)
    touchpoints = models.ManyToManyField(
        Touchpoint, blank=True, related_name="audit_templates", help_text="The touchpoints it audits."
    )
    status = models.CharField(max_length=10, choices=TemplateStatus.choices, default=TemplateStatus.DRAFT)
    pass_mark = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(settings.EVALUATION_PASS_MARK),
        validators=PERCENT,
        help_text="The score (in percent) an audit needs to pass.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["title", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["lineage", "version"], name="audit_template_version_unique"),
            models.UniqueConstraint(
                fields=["lineage"],
                condition=Q(status="published"),
                name="audit_template_one_published_version",
            ),
            models.CheckConstraint(
                condition=Q(status__in=TemplateStatus.values), name="audit_template_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(method__in=AuditMethod.values), name="audit_template_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(pass_mark__gte=0) & Q(pass_mark__lte=100), name="audit_template_pass_mark_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    @property
    def frozen(self) -> bool:
        """Published and retired versions are never edited: audits were done with them."""
        return self.status != TemplateStatus.DRAFT

    @property
    def evaluation_method(self) -> str:
        return EVALUATION_METHOD[self.method]


class Section(models.Model):
    template = models.ForeignKey(AuditTemplate, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=160, validators=[validate_text])
    weight = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=1,
        validators=POSITIVE_WEIGHT,
        help_text="The section's share of the audit score, relative to the other sections.",
    )
    fail_below = models.DecimalField(
        "fails the audit below (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT,
        help_text="Leave empty, or the section score (in percent) under which the whole audit fails.",
    )

    class Meta:
        ordering = ["template", "position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gt=0), name="audit_section_weight_positive")
        ]

    def __str__(self) -> str:
        return self.title


class QuestionKind(models.TextChoices):
    YES_NO = "yes_no", "Yes / no"
    PASS_FAIL = "pass_fail", "Pass / fail / N/A"
    RATING = "rating", "Rating (1–5)"
    CHOICE = "choice", "Multiple choice"
    NUMBER = "number", "Number"
    TEXT = "text", "Free text"
    PHOTO = "photo", "Photo"


SCORED_KINDS = {
    QuestionKind.YES_NO,
    QuestionKind.PASS_FAIL,
    QuestionKind.RATING,
    QuestionKind.CHOICE,
    QuestionKind.NUMBER,
}
# Which standards a scored question can feed: its answer must make a valid observation.
STANDARD_KIND = {
    QuestionKind.YES_NO: MeasureKind.PASS_FAIL,
    QuestionKind.PASS_FAIL: MeasureKind.PASS_FAIL,
    QuestionKind.CHOICE: MeasureKind.PASS_FAIL,
    QuestionKind.RATING: MeasureKind.RATING,
    QuestionKind.NUMBER: MeasureKind.NUMERIC,
}
NOT_APPLICABLE = "na"
# The special answer a logic rule or a follow-up can name: any answer that earns less than full marks.
FAILED = "failed"


class Question(models.Model):
    """One question. Scored questions map to a standard: the answer becomes an observation of it.

    Answers are stored as text: yes/no → "yes" | "no"; pass/fail → "pass" | "fail"; rating →
    "1".."5"; choice → the option's value; number → the number; "na" where N/A is allowed.
    A follow-up (`parent` set) is asked only when the parent's answer is one of `shown_when`.
    """

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    text = models.CharField(max_length=300, validators=[validate_text])
    help_text = models.TextField(blank=True, validators=[validate_text])
    kind = models.CharField(max_length=10, choices=QuestionKind.choices)
    standard = models.ForeignKey(
        Standard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_questions",
        help_text="Scored questions record an observation of this standard.",
    )
    weight = models.DecimalField(max_digits=5, decimal_places=2, default=1, validators=POSITIVE_WEIGHT)
    critical = models.BooleanField(default=False, help_text="Failing this question fails the whole audit.")
    required = models.BooleanField(default=True)
    allow_na = models.BooleanField(
        "N/A allowed", default=False, help_text="An N/A answer leaves the score's denominator."
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follow_ups",
        help_text="Ask this question only after an answer to this one …",
    )
    shown_when = models.JSONField(
        default=list, blank=True, help_text='… that is one of these answers (e.g. ["no"] or ["failed"]).'
    )

    class Meta:
        ordering = ["section", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=QuestionKind.values), name="audit_question_kind_valid"
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="audit_question_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def scored(self) -> bool:
        return self.kind in SCORED_KINDS

    @property
    def na_allowed(self) -> bool:
        return self.allow_na or self.kind == QuestionKind.PASS_FAIL

    def clean(self) -> None:
        errors = {}
        if self.scored and self.standard_id is None:
            errors["standard"] = "A scored question records an observation: choose its standard."
        if self.standard_id and not self.scored:
            errors["standard"] = (
                f"{self.get_kind_display()} answers are not scored: leave the standard empty."
            )
        elif self.standard_id and self.standard.measure_kind != STANDARD_KIND[self.kind]:
            errors["standard"] = (
                f"{self.standard.code} is measured as {self.standard.get_measure_kind_display()}; "
                f"a {self.get_kind_display()} question needs a "
                f"{MeasureKind(STANDARD_KIND[self.kind]).label} standard."
            )
        if self.critical and not self.scored:
            errors["critical"] = "Only a scored question can be critical."
        if self.parent_id is not None:
            if self.parent_id == self.pk:
                errors["parent"] = "A question cannot follow up on itself."
            elif self.parent.section.template_id != self.section.template_id:
                errors["parent"] = "A follow-up belongs to the same template as its question."
            if not self.shown_when:
                errors["shown_when"] = "Say after which answers of the parent question this one is asked."
        if not isinstance(self.shown_when, list) or not all(isinstance(v, str) for v in self.shown_when):
            errors["shown_when"] = 'Give a list of answers, e.g. ["no"].'
        if errors:
            raise ValidationError(errors)


class ChoiceOption(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveIntegerField(default=0)
    label = models.CharField(max_length=120, validators=[validate_text])
    value = models.SlugField(max_length=40, help_text="What the answer stores, e.g. “good”.")
    score = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Points for this answer; the best option earns the question's full weight.",
    )

    class Meta:
        ordering = ["question", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["question", "value"], name="audit_option_value_unique"),
            models.CheckConstraint(condition=Q(score__gte=0), name="audit_option_score_not_negative"),
        ]

    def __str__(self) -> str:
        return self.label


class LogicRule(models.Model):
    """What an answer demands before the audit can be submitted (follow-up questions are set on
    the follow-up itself, with `parent` and `shown_when`)."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="rules")
    answers = models.JSONField(
        default=list, help_text='The answers that trigger it, e.g. ["no"], ["1", "2"] or ["failed"].'
    )
    require_note = models.BooleanField(default=False)
    require_photo = models.BooleanField(default=False)
    require_action = models.BooleanField("require a corrective action", default=False)

    class Meta:
        ordering = ["question", "pk"]

    def __str__(self) -> str:
        needs = [
            label
            for flag, label in (
                (self.require_note, "a note"),
                (self.require_photo, "a photo"),
                (self.require_action, "a corrective action"),
            )
            if flag
        ]
        return f"{', '.join(self.answers)} → {' and '.join(needs) or 'nothing'}"

    def clean(self) -> None:
        errors = {}
        if (
            not isinstance(self.answers, list)
            or not self.answers
            or not all(isinstance(v, str) for v in self.answers)
        ):
            errors["answers"] = 'Give at least one answer, e.g. ["no"].'
        if not (self.require_note or self.require_photo or self.require_action):
            errors["require_note"] = (
                "Choose what the answer requires: a note, a photo or a corrective action."
            )
        if errors:
            raise ValidationError(errors)


class ExternalEvaluator(models.Model):
    """A mystery shopper or an auditor from another firm. Such a user has no employee profile,
    so the rest of the program shows them nothing; they see only the audits assigned to them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_evaluator"
    )
    organisation = models.CharField(max_length=160, blank=True, validators=[validate_text])
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name"]

    def __str__(self) -> str:
        name = self.user.get_full_name() or self.user.get_username()
        return f"{name} ({self.organisation})" if self.organisation else name


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly, on chosen days"
    MONTHLY = "monthly", "Monthly, on a day of the month"
    QUARTERLY = "quarterly", "Quarterly, on a day of the quarter's first month"
    CUSTOM = "custom", "Custom rule (RFC 5545)"


class AssigneeMode(models.TextChoices):
    ANY = "any", "Any one of them"
    EACH = "each", "Each of them"


class Schedule(models.Model):
    """Plans audits of one template at one location. Occurrences follow the recurrence; each one
    opens at `opens_at` on its day and is due `due_after_days` later at `due_time` (local time)."""

    template = models.ForeignKey(
        AuditTemplate,
        on_delete=models.PROTECT,
        related_name="schedules",
        help_text="Audits use this template's published version at the time they start.",
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="audit_schedules")
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_schedules"
    )
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY)
    weekdays = models.CharField(max_length=30, blank=True, help_text="For weekly schedules: e.g. MO,WE,FR.")
    day_of_month = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text="For monthly and quarterly schedules; a shorter month uses its last day.",
    )
    rule = models.CharField(
        "recurrence rule",
        max_length=300,
        blank=True,
        help_text="For custom schedules: an RFC 5545 RRULE, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU.",
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    opens_at = models.TimeField(default="09:00", help_text="Local time at which each audit opens.")
    due_after_days = models.PositiveSmallIntegerField(
        default=6,
        validators=[MaxValueValidator(90)],
        help_text="Days from opening to the due date (0: due the same day).",
    )
    due_time = models.TimeField(default="18:00", help_text="Local time at which each audit is due.")
    assignee_mode = models.CharField(max_length=4, choices=AssigneeMode.choices, default=AssigneeMode.ANY)
    assigned_employees = models.ManyToManyField(Employee, blank=True, related_name="audit_schedules")
    assigned_team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_schedules",
        help_text="Everyone in this team is an assignee.",
    )
    assigned_evaluators = models.ManyToManyField(ExternalEvaluator, blank=True, related_name="schedules")
    late_allowed_days = models.PositiveSmallIntegerField(
        "late submission allowed for (days)",
        default=0,
        validators=[MaxValueValidator(90)],
        help_text="0: an audit not submitted by its due time is missed.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"location": "location"}

    class Meta:
        ordering = ["location__name", "template__title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=Frequency.values), name="audit_schedule_frequency_valid"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="audit_schedule_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(day_of_month__gte=1) & Q(day_of_month__lte=31), name="audit_schedule_day_1_31"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.title} at {self.location.code}, {self.get_frequency_display().lower()}"

    def clean(self) -> None:
        from .services.schedules import schedule_problems  # the services import this module

        problems = schedule_problems(self)
        if problems:
            raise ValidationError(problems)


class OccurrenceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    OPEN = "open", "Open"
    DONE = "done", "Done"
    LATE = "late", "Done late"
    MISSED = "missed", "Missed"


class Occurrence(models.Model):
    """One planned audit: scheduled → open (from `opens_at`) → done (submitted by `due_at`),
    late (after it, while late submission is allowed, up to `closes_at`) or missed."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="occurrences")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="audit_occurrences")
    scheduled_for = models.DateField()
    opens_at = models.DateTimeField()
    due_at = models.DateTimeField()
    closes_at = models.DateTimeField(help_text="The due time plus any late submission allowed.")
    # With "each of them", one occurrence per assignee; with "any one of them", one with no assignee
    # (every assignee of the schedule may do it). The key makes (schedule, day, assignee) unique.
    assignee_key = models.CharField(max_length=30, default="", blank=True)
    assigned_employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_occurrences"
    )
    assigned_evaluator = models.ForeignKey(
        ExternalEvaluator, on_delete=models.CASCADE, null=True, blank=True, related_name="occurrences"
    )
    status = models.CharField(
        max_length=9, choices=OccurrenceStatus.choices, default=OccurrenceStatus.SCHEDULED
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    missed_alerted_at = models.DateTimeField(null=True, blank=True)

    scope_paths = {"location": "location"}

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "scheduled_for", "assignee_key"], name="audit_occurrence_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=OccurrenceStatus.values), name="audit_occurrence_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(opens_at__lt=models.F("due_at")) & Q(due_at__lte=models.F("closes_at")),
                name="audit_occurrence_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["done", "late"], completed_at__isnull=False)
                | (~Q(status__in=["done", "late"]) & Q(completed_at__isnull=True)),
                name="audit_occurrence_completed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="audit_occurrence_due_idx"),
            models.Index(fields=["location", "scheduled_for"], name="audit_occurrence_location_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule.template.title} at {self.location.code}, due {day(self.due_at)}"


class AuditStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"


class Audit(models.Model):
    """An audit being done (a draft, saved answer by answer) or done (submitted: its evaluation
    holds the score and its observations the evidence). Keeps the exact template version."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    template = models.ForeignKey(AuditTemplate, on_delete=models.PROTECT, related_name="audits")
    occurrence = models.OneToOneField(
        Occurrence, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="audits")
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.PROTECT, null=True, blank=True, related_name="audits"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="audits")
    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="audits"
    )
    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="audits"
    )
    status = models.CharField(max_length=9, choices=AuditStatus.choices, default=AuditStatus.DRAFT)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    evaluation = models.OneToOneField(
        Evaluation, on_delete=models.PROTECT, null=True, blank=True, related_name="audit"
    )
    comment = models.TextField(blank=True, validators=[validate_text])

    scope_paths = EVIDENCE_SCOPE

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AuditStatus.values), name="audit_status_valid"),
            models.CheckConstraint(
                condition=Q(status="draft", submitted_at__isnull=True, evaluation__isnull=True)
                | Q(status="submitted", submitted_at__isnull=False, evaluation__isnull=False),
                name="audit_submitted_has_evaluation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.title} at {self.location.code}, {day(self.started_at)}"


class Answer(models.Model):
    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    value = models.CharField(max_length=300, blank=True, validators=[validate_text])
    note = models.TextField(blank=True, validators=[validate_text])
    action = models.TextField(
        "corrective action", blank=True, validators=[validate_text], help_text="What will be done, by whom."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["audit", "question__section__position", "question__position"]
        constraints = [models.UniqueConstraint(fields=["audit", "question"], name="audit_answer_unique")]

    def __str__(self) -> str:
        return f"{self.question}: {self.value}"


def _photo_path(photo: Photo, filename: str) -> str:
    # A random name: the original one may say who or where; the extension is the verified format's.
    return f"audit-photos/{photo.answer.audit.key}/{uuid.uuid4().hex}.jpg"


class Photo(models.Model):
    """A photo attached to an answer: verified as an image, re-encoded without its metadata
    (location, camera), stored outside the static files and served only to users in scope."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=_photo_path, max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="Bytes, as stored.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return f"Photo for {self.answer.question}"
