from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from organization.formatting import day
from organization.models import Employee, Location, Role, Team, code_validator
from organization.validators import validate_date, validate_text
from standards.models import Standard


class DeliveryMethod(models.TextChoices):
    SELF_STUDY = "self_study", "Self-study"
    CLASSROOM = "classroom", "Classroom"
    E_LEARNING = "e_learning", "E-learning"
    ON_THE_JOB = "on_the_job", "On the job"
    MULTIMEDIA = "multimedia", "Multimedia (video, audio)"


class Course(models.Model):
    code = models.CharField(max_length=20, unique=True, validators=[code_validator])
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    standards = models.ManyToManyField(Standard, related_name="courses", blank=True)
    delivery_method = models.CharField(max_length=12, choices=DeliveryMethod.choices)
    duration_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    pass_mark = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="Minimum score in percent; leave empty for a course without an assessment.",
    )
    refresher_interval_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        # Expiry is completed on + this: a bound keeps it inside the calendar.
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=(
            "A completion expires after this many days (at most 3,650) and must be refreshed. "
            "Empty: never expires."
        ),
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(condition=Q(duration_minutes__gte=1), name="course_duration_positive"),
            models.CheckConstraint(
                condition=Q(pass_mark__isnull=True) | Q(pass_mark__lte=100), name="course_pass_mark_0_100"
            ),
            models.CheckConstraint(
                condition=Q(refresher_interval_days__isnull=True) | Q(refresher_interval_days__gte=1),
                name="course_refresher_interval_positive",
            ),
            models.CheckConstraint(
                condition=Q(delivery_method__in=DeliveryMethod.values), name="course_delivery_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.title}"

    def expiry_for(self, completed_on: date) -> date | None:
        if self.refresher_interval_days is None:
            return None
        return completed_on + timedelta(days=self.refresher_interval_days)


class Audience(models.TextChoices):
    EVERYONE = "everyone", "Everyone"
    ROLE = "role", "A role"
    TEAM = "team", "A team"
    LOCATION = "location", "A location"


class Requirement(models.Model):
    """A course that some employees must complete within N days of hire or assignment."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="requirements")
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.EVERYONE)
    role = models.CharField(max_length=10, choices=Role.choices, blank=True)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="requirements"
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="requirements"
    )
    due_within_days = models.PositiveIntegerField(
        default=30,
        # Deadlines are counted from the hire date: a bound keeps them inside the calendar.
        validators=[MaxValueValidator(3650)],
        help_text="Days after hire (or after the requirement is assigned) to complete it (at most 3,650).",
    )

    class Meta:
        ordering = ["course__title"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(audience="everyone", role="", team__isnull=True, location__isnull=True)
                    | Q(audience="role", team__isnull=True, location__isnull=True) & ~Q(role="")
                    | Q(audience="team", role="", team__isnull=False, location__isnull=True)
                    | Q(audience="location", role="", team__isnull=True, location__isnull=False)
                ),
                name="requirement_audience_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course.title} for {self.audience_label}"

    @property
    def audience_label(self) -> str:
        if self.audience == Audience.ROLE:
            return f"role {self.get_role_display()}"
        if self.audience == Audience.TEAM:
            return f"team {self.team}"
        if self.audience == Audience.LOCATION:
            return f"location {self.location}"
        return "everyone"

    def clean(self) -> None:
        expected = {"role": self.audience == Audience.ROLE, "team": self.audience == Audience.TEAM}
        expected["location"] = self.audience == Audience.LOCATION
        values = {"role": self.role, "team": self.team_id, "location": self.location_id}
        errors = {}
        for field, needed in expected.items():
            if needed and not values[field]:
                errors[field] = f"Choose the {field} this requirement applies to."
            elif not needed and values[field]:
                errors[field] = f"Leave {field} empty when the audience is “{self.get_audience_display()}”."
        if errors:
            raise ValidationError(errors)


class Assignment(models.Model):
    """A requirement materialised for one employee: the course they must complete, and by when.

    Kept in step with requirements by the `training.tasks.sync_assignments` housekeeping task,
    so that 'due within N days of assignment' has a real assignment date.
    """

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="training_assignments")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    assigned_on = models.DateField()
    due_on = models.DateField()
    active = models.BooleanField(default=True, help_text="Off when no requirement applies any more.")

    scope_paths = {"location": "employee__location", "team": "employee__team", "employee": "employee"}

    class Meta:
        ordering = ["due_on"]
        constraints = [
            models.UniqueConstraint(fields=["employee", "course"], name="assignment_once_per_course"),
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("assigned_on")), name="assignment_due_after_assigned"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course.title} for {self.employee}, due {day(self.due_on)}"

    def clean(self) -> None:
        if self.assigned_on and self.due_on and self.due_on < self.assigned_on:
            raise ValidationError(
                {"due_on": "The due date cannot be before the date the course was assigned."}
            )


class CompletionStatus(models.TextChoices):
    LOGGED = "logged", "Logged (awaiting verification)"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


class Completion(models.Model):
    """An employee's completion of a course, logged by them and verified (or rejected) by a manager."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="completions")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="completions")
    completed_on = models.DateField(validators=[validate_date])
    method = models.CharField(
        max_length=12,
        choices=DeliveryMethod.choices,
        help_text="How it was completed: the course's own way, or another (a classroom session instead of e-learning).",
    )
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)], help_text="Assessment score in percent."
    )
    evidence = models.TextField(
        blank=True, validators=[validate_text], help_text="Certificate number, trainer's name, link or note."
    )
    status = models.CharField(
        max_length=10, choices=CompletionStatus.choices, default=CompletionStatus.LOGGED
    )
    expires_on = models.DateField(
        null=True, blank=True, editable=False, help_text="Completed on + the course's refresher interval."
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True, validators=[validate_text])
    logged_at = models.DateTimeField(auto_now_add=True)

    scope_paths = {"location": "employee__location", "team": "employee__team", "employee": "employee"}

    class Meta:
        ordering = ["-completed_on"]
        indexes = [models.Index(fields=["employee", "course", "-completed_on"], name="completion_latest_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__lte=100), name="completion_score_0_100"
            ),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("completed_on")),
                name="completion_expires_after_completed",
            ),
            models.CheckConstraint(
                condition=~Q(status=CompletionStatus.REJECTED) | ~Q(rejection_reason=""),
                name="completion_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CompletionStatus.values), name="completion_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(method__in=DeliveryMethod.values), name="completion_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee} completed {self.course.code} on {day(self.completed_on)}"

    def clean(self) -> None:
        errors = {}
        if self.completed_on and self.completed_on > timezone.localdate():
            errors["completed_on"] = "A completion cannot be dated in the future."
        if self.course_id:
            pass_mark = self.course.pass_mark
            if pass_mark is not None and self.score is None:
                errors["score"] = f"This course is assessed: enter the score (pass mark {pass_mark}%)."
            elif pass_mark is not None and self.score < pass_mark:
                errors["score"] = f"A score of {self.score}% is below the pass mark of {pass_mark}%."
            if self.completed_on:
                # The expiry is always derived from the course, never typed in.
                self.expires_on = self.course.expiry_for(self.completed_on)
        if self.status == CompletionStatus.REJECTED and not self.rejection_reason.strip():
            errors["rejection_reason"] = (
                "Say why the completion is rejected, so the employee can put it right."
            )
        if errors:
            raise ValidationError(errors)
