from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from measurement.models import Feedback
from organization.formatting import day
from organization.models import Location
from touchpoints.models import Touchpoint


class CustomerExpectation(models.Model):
    """What customers expect everywhere (respect, fairness, timely response, ...): the criteria
    a touchpoint is assessed against. Seeded by a migration, editable in admin."""

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETED = "completed", "Completed"


class Assessment(models.Model):
    """A gap analysis of one touchpoint (optionally at one location) across the four Ps."""

    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="assessments")
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="assessments",
        help_text="Leave empty for an assessment of the touchpoint across the organisation.",
    )
    assessed_on = models.DateField()
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assessments"
    )
    status = models.CharField(max_length=10, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT)
    expectations = models.ManyToManyField(
        CustomerExpectation,
        blank=True,
        related_name="assessments",
        help_text="Expectations this touchpoint must meet.",
    )
    summary = models.TextField(blank=True)

    scope_paths = {"location": "location"}

    class Meta:
        ordering = ["-assessed_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AssessmentStatus.values), name="assessment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        where = self.location.code if self.location_id else "all locations"
        return f"{self.touchpoint} ({where}), {day(self.assessed_on)}"


class Dimension(models.TextChoices):
    POLICIES = "policies", "Policies"
    PROCESSES = "processes", "Processes"
    PEOPLE = "people", "People"
    PRACTICES = "practices", "Practices"


class Rating(models.Model):
    """One P of a touchpoint, rated now (current) against what customers expect (target), 1–5."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="ratings")
    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    current = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    target = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    evidence = models.TextField(
        blank=True, help_text="What was seen, heard or measured to justify the rating."
    )

    class Meta:
        verbose_name = "rating of a P"
        verbose_name_plural = "ratings of the four Ps"
        ordering = ["assessment", "dimension"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "dimension"], name="rating_once_per_dimension"),
            models.CheckConstraint(
                condition=Q(current__gte=1) & Q(current__lte=5), name="rating_current_1_5"
            ),
            models.CheckConstraint(condition=Q(target__gte=1) & Q(target__lte=5), name="rating_target_1_5"),
            models.CheckConstraint(
                condition=Q(dimension__in=Dimension.values), name="rating_dimension_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assessment} · {self.get_dimension_display()}: {self.current} → {self.target} (gap {self.gap})"

    @property
    def gap(self) -> int | None:
        """Target − current: how far this P falls short of what customers expect (≤ 0: no gap)."""
        if self.target is None or self.current is None:
            return None
        return self.target - self.current


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class ActionItem(models.Model):
    """An owned, dated action that closes a gap found in an assessment or raised by a customer.

    A done action may be published with a customer-facing summary: published actions form the
    public "you said, we did" page.
    """

    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    rating = models.ForeignKey(
        Rating, on_delete=models.CASCADE, null=True, blank=True, related_name="actions"
    )
    feedback = models.ForeignKey(
        Feedback,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
        help_text="The customer comment that prompted this action.",
    )
    # A complaint is recorded by a higher app (cases); it is named here by its reference, so this
    # app never imports the one above it.
    complaint = models.CharField(
        "customer complaint",
        max_length=40,
        blank=True,
        help_text="The reference of the customer's complaint that prompted this action (e.g. C-000042).",
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="action_items",
        help_text="What a complaint was about; an action from a rating or feedback takes theirs.",
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="action_items"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items")
    due_on = models.DateField()
    status = models.CharField(max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    closure_note = models.TextField(blank=True, help_text="What was done. Required to mark the action done.")
    closed_on = models.DateField(null=True, blank=True)
    customer_summary = models.CharField(
        max_length=280, blank=True, help_text="For the public page: 'You said …, we did …'."
    )
    published = models.BooleanField(default=False)
    published_on = models.DateField(null=True, blank=True)

    scope_paths = {"location": "location"}

    class Meta:
        ordering = ["status", "due_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=False) | Q(feedback__isnull=False) | ~Q(complaint=""),
                name="action_has_source",
            ),
            models.CheckConstraint(
                condition=~Q(status=ActionStatus.DONE) | (~Q(closure_note="") & Q(closed_on__isnull=False)),
                name="action_done_has_closure",
            ),
            models.CheckConstraint(
                condition=Q(published=False)
                | (Q(status=ActionStatus.DONE) & ~Q(customer_summary="") & Q(published_on__isnull=False)),
                name="action_published_when_done_with_summary",
            ),
            models.CheckConstraint(condition=Q(status__in=ActionStatus.values), name="action_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors = {}
        if not self.rating_id and not self.feedback_id and not self.complaint.strip():
            errors["__all__"] = (
                "An action answers a gap rating, a customer's feedback or a complaint: choose one."
            )
        if self.status == ActionStatus.DONE and not self.closure_note.strip():
            errors["closure_note"] = "Say what was done before marking the action done."
        if self.status == ActionStatus.DONE and not self.closed_on:
            errors["closed_on"] = "Give the date the action was done."
        if self.published and self.status != ActionStatus.DONE:
            errors["published"] = "Only a done action can be published."
        if self.published and not self.customer_summary.strip():
            errors["customer_summary"] = "Write the customer-facing summary before publishing."
        if self.published and not self.published_on:
            errors["published_on"] = "Give the publication date."
        if errors:
            raise ValidationError(errors)
