from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from organization.models import Employee, Team, code_validator
from touchpoints.models import Touchpoint


class MeasureKind(models.TextChoices):
    PASS_FAIL = "pass_fail", "Pass / fail"
    RATING = "rating", "Rating (1–5)"
    NUMERIC = "numeric", "Numeric threshold"


class Comparator(models.TextChoices):
    GTE = "gte", "at least (≥)"
    LTE = "lte", "at most (≤)"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


RATING_SCALE_MAX = 5
HUNDRED = Decimal("100")


class Standard(models.Model):
    """A service standard: the behaviour expected at one or more touchpoints, and how it is measured.

    A *non-negotiable* standard admits no excuses: its target is 100% and every failed
    observation of it is a deviation that must be closed with a corrective action.
    """

    code = models.CharField(max_length=20, unique=True, validators=[code_validator])
    title = models.CharField(max_length=160)
    behaviour = models.TextField(help_text="What the employee does, observable by anyone (the 'what').")
    how = models.TextField(blank=True, help_text="How it is done: tone, words, steps (the 'how').")
    why_customer = models.TextField("why it matters to the customer", blank=True)
    why_employee = models.TextField("why it matters to the employee", blank=True)
    touchpoints = models.ManyToManyField(Touchpoint, related_name="standards", blank=True)
    teams = models.ManyToManyField(
        Team,
        blank=True,
        related_name="standards",
        help_text="Teams whose members must acknowledge this standard. Leave empty for every employee.",
    )
    measure_kind = models.CharField(max_length=10, choices=MeasureKind.choices, default=MeasureKind.PASS_FAIL)
    comparator = models.CharField(
        max_length=3,
        choices=Comparator.choices,
        blank=True,
        help_text="For rating and numeric measures: whether the value must be at least or at most the threshold.",
    )
    threshold = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    unit = models.CharField(max_length=30, blank=True, help_text="e.g. seconds, minutes, rings, %.")
    target_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("90"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(HUNDRED)],
        help_text="Share of observations that must pass, in percent. Non-negotiable standards are always 100.",
    )
    weight = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Relative weight in evaluations and scorecards.",
    )
    non_negotiable = models.BooleanField(
        default=False,
        help_text="No excuses: every failure is a deviation that needs a corrective action.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(default=1, editable=False)
    effective_from = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_rate__gte=0) & Q(target_rate__lte=100), name="standard_target_rate_0_100"
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="standard_weight_positive"),
            models.CheckConstraint(
                condition=Q(non_negotiable=False) | Q(target_rate=100),
                name="standard_non_negotiable_targets_100",
            ),
            models.CheckConstraint(
                condition=(
                    Q(measure_kind=MeasureKind.PASS_FAIL, threshold__isnull=True, comparator="")
                    | (
                        Q(measure_kind__in=[MeasureKind.RATING, MeasureKind.NUMERIC])
                        & Q(threshold__isnull=False)
                        & Q(comparator__in=Comparator.values)
                    )
                ),
                name="standard_measure_complete",
            ),
            models.CheckConstraint(
                condition=~Q(measure_kind=MeasureKind.RATING)
                | (Q(threshold__gte=1) & Q(threshold__lte=RATING_SCALE_MAX)),
                name="standard_rating_threshold_on_scale",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="standard_version_positive"),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="standard_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.title}"

    def clean(self) -> None:
        errors = {}
        if self.version is not None and self.version < 1:
            errors["version"] = "Versions start at 1."
        if self.non_negotiable and self.target_rate is not None and self.target_rate != HUNDRED:
            errors["target_rate"] = "A non-negotiable standard admits no exceptions: its target must be 100%."
        if self.measure_kind == MeasureKind.PASS_FAIL:
            if self.threshold is not None:
                errors["threshold"] = (
                    "A pass/fail standard has no threshold; choose a rating or numeric measure."
                )
            if self.comparator:
                errors["comparator"] = "A pass/fail standard has no comparator."
        else:
            if self.threshold is None:
                errors["threshold"] = (
                    f"A {self.get_measure_kind_display().lower()} measure needs a threshold."
                )
            if not self.comparator:
                errors["comparator"] = "Say whether the value must be at least or at most the threshold."
            if (
                self.measure_kind == MeasureKind.RATING
                and self.threshold is not None
                and not 1 <= self.threshold <= RATING_SCALE_MAX
            ):
                errors["threshold"] = f"A rating threshold must lie on the 1–{RATING_SCALE_MAX} scale."
        if errors:
            raise ValidationError(errors)

    @property
    def measure_summary(self) -> str:
        if self.measure_kind == MeasureKind.PASS_FAIL:
            return "pass / fail"
        sign = "≥" if self.comparator == Comparator.GTE else "≤"
        return f"{sign} {self.threshold.normalize():f} {self.unit}".strip()

    def passes(self, value: Decimal | None) -> bool:
        """Whether a measured value meets this standard's threshold (rating and numeric measures)."""
        if self.measure_kind == MeasureKind.PASS_FAIL:
            raise ValueError(f"{self.code} is pass/fail: an observation states passed, not a value")
        if value is None:
            raise ValueError(f"{self.code} needs a value to compare with {self.measure_summary}")
        if self.comparator == Comparator.GTE:
            return value >= self.threshold
        return value <= self.threshold


class Acknowledgement(models.Model):
    """An employee's acceptance of one exact version of a standard."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="acknowledgements")
    standard = models.ForeignKey(Standard, on_delete=models.CASCADE, related_name="acknowledgements")
    version = models.PositiveIntegerField()
    behaviour_accepted = models.TextField(help_text="The text of the standard as it read when accepted.")
    acknowledged_at = models.DateTimeField()

    scope_paths = {"location": "employee__location", "team": "employee__team", "employee": "employee"}

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "standard", "version"], name="acknowledgement_once_per_version"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="acknowledgement_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.employee} acknowledged {self.standard.code} v{self.version}"

    def clean(self) -> None:
        if self.version is not None and self.version < 1:
            raise ValidationError({"version": "Versions start at 1."})
        if self.standard_id and self.version and self.version > self.standard.version:
            raise ValidationError(
                {
                    "version": f"{self.standard.code} has no version {self.version} yet (latest is {self.standard.version})."
                }
            )
