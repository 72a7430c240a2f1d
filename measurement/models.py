from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q

from organization.formatting import day
from organization.models import Employee, Location, Team
from organization.validators import validate_text, validate_timestamp
from standards.models import Standard
from touchpoints.models import Touchpoint

# Scope through the location/team/employee columns that evidence rows carry.
EVIDENCE_SCOPE = {"location": "location", "team": "team", "employee": "employee"}


class EvaluationMethod(models.TextChoices):
    MYSTERY_SHOP = "mystery_shop", "Mystery shop"
    QA_REVIEW = "qa_review", "QA review"
    AUDIT = "audit", "Audit"


class Evaluation(models.Model):
    """A mystery shop, QA review or audit: several observations scored together.

    The score is the weighted share of items passed; a failed critical item fails the whole
    evaluation whatever the score.
    """

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="evaluations")
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="evaluations"
    )
    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="evaluations"
    )
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.PROTECT, null=True, blank=True, related_name="evaluations"
    )
    method = models.CharField(max_length=12, choices=EvaluationMethod.choices)
    evaluated_at = models.DateTimeField(validators=[validate_timestamp])
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="evaluations"
    )
    score = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Weighted share of items passed, in percent.",
    )
    critical_failed = models.BooleanField(default=False)
    passed = models.BooleanField(
        help_text="False when the score is below the pass mark or a critical item failed."
    )
    comment = models.TextField(blank=True, validators=[validate_text])
    external_id = models.CharField(
        max_length=100, unique=True, null=True, blank=True, validators=[validate_text]
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    scope_paths = EVIDENCE_SCOPE

    class Meta:
        ordering = ["-evaluated_at"]
        permissions = [("record_evaluation", "Can record mystery shops, QA reviews and audits")]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=100), name="evaluation_score_0_100"
            ),
            models.CheckConstraint(
                condition=Q(critical_failed=False) | Q(passed=False), name="evaluation_critical_failure_fails"
            ),
            models.CheckConstraint(
                condition=Q(method__in=EvaluationMethod.values), name="evaluation_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} at {self.location.code}, {day(self.evaluated_at)}"

    def clean(self) -> None:
        if self.critical_failed and self.passed:
            raise ValidationError(
                {"passed": "A failed critical item fails the whole evaluation, whatever the score."}
            )


class Source(models.TextChoices):
    MYSTERY_SHOP = "mystery_shop", "Mystery shop"
    QA_REVIEW = "qa_review", "QA review"
    AUDIT = "audit", "Audit"
    OPERATIONAL = "operational", "Operational metric"
    SELF_CHECK = "self_check", "Self check"


class ObservationQuerySet(models.QuerySet):
    def current(self):
        """Observations that no correction supersedes: the evidence scorecards count.

        NOT EXISTS on the unique index of `supersedes`, not ``superseded_by__isnull=True``: Django
        writes that as a LEFT JOIN ... IS NULL, which PostgreSQL 15 estimates at one row, so it then
        joins every other table row by row over all observations before a LIMIT (a first page of a
        million took minutes; this way, milliseconds).
        """
        return self.filter(~Exists(Observation.objects.filter(supersedes=OuterRef("pk"))))


class Observation(models.Model):
    """One measured fact about one standard. Immutable once recorded: a correction is a new
    row that supersedes the old one."""

    # No single-column indexes where a composite one below starts with the column: every index
    # is paid for on each of the millions of rows written.
    # The five references that intake resolves from codes have no foreign-key constraint: the
    # per-row triggers of one were half the time of writing a large file. What replaces them, for
    # every writer, is described at `intake.ReferenceCheck`: one set-based check per batch, and
    # triggers (migration 0010) that refuse deleting a row that observations still refer to.
    standard = models.ForeignKey(
        Standard, on_delete=models.PROTECT, related_name="observations", db_index=False, db_constraint=False
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="observations", db_index=False, db_constraint=False
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="observations",
        db_constraint=False,
    )
    employee = models.ForeignKey(
        Employee,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="observations",
        db_constraint=False,
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="observations",
        db_constraint=False,
    )
    source = models.CharField(max_length=12, choices=Source.choices)
    observed_at = models.DateTimeField(validators=[validate_timestamp])
    value = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    passed = models.BooleanField()
    # Indexed by a partial index below: most observations belong to no evaluation.
    evaluation = models.ForeignKey(
        Evaluation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="observations",
        db_index=False,
    )
    weight = models.DecimalField(
        max_digits=5, decimal_places=2, default=1, validators=[MinValueValidator(Decimal("0.01"))]
    )
    critical = models.BooleanField(
        default=False, help_text="In an evaluation: failing this item fails it all."
    )
    comment = models.TextField(blank=True, validators=[validate_text])
    external_id = models.CharField(
        max_length=100,
        null=True,
        blank=True,
        validators=[validate_text],
        help_text="The sender's id: a resend is stored once.",
    )
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    # Indexed by a partial index below: imported files have no recorder.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ObservationQuerySet.as_manager()

    scope_paths = EVIDENCE_SCOPE

    class Meta:
        ordering = ["-observed_at"]
        indexes = [
            models.Index(fields=["observed_at"], name="observation_observed_idx"),
            models.Index(fields=["location", "observed_at"], name="observation_location_idx"),
            models.Index(fields=["standard", "observed_at"], name="observation_standard_idx"),
            # Only the rows that have one: an evaluation's items, what a deleted user recorded.
            # A full index would hold an entry for every row, null or not, and cost every write.
            models.Index(
                fields=["evaluation"],
                name="observation_evaluation_idx",
                condition=Q(evaluation__isnull=False),
            ),
            models.Index(
                fields=["recorded_by"],
                name="observation_recorder_idx",
                condition=Q(recorded_by__isnull=False),
            ),
        ]
        constraints = [
            # A constraint rather than unique=True: PostgreSQL then needs no second (LIKE) index.
            models.UniqueConstraint(fields=["external_id"], name="observation_external_id_unique"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="observation_weight_positive"),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="observation_source_valid"),
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True) | ~Q(supersedes=F("pk")),
                name="observation_not_self_superseding",
            ),
        ]

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "failed"
        return (
            f"{self.standard.code} {verdict} at {self.location.code}, {day(self.observed_at, with_time=True)}"
        )

    def save(self, *args, **kwargs):
        # Evidence is never edited in place: a correction is recorded as a new observation.
        if not self._state.adding:
            raise ValidationError(
                "An observation cannot be changed once recorded; record a correction instead."
            )
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors = {}
        if self.supersedes_id is not None and self.supersedes_id == self.pk:
            errors["supersedes"] = "An observation cannot supersede itself."
        if self.team_id and self.location_id and self.team.location_id != self.location_id:
            errors["team"] = f"Team “{self.team.name}” is not at {self.location}."
        if self.employee_id and self.location_id and self.employee.location_id != self.location_id:
            errors["employee"] = f"{self.employee} does not work at {self.location}."
        if self.standard_id and self.standard.measure_kind != "pass_fail":
            if self.value is None:
                errors["value"] = (
                    f"{self.standard.code} is measured as {self.standard.measure_summary}: enter the value."
                )
            elif self.passed is not None and self.passed != self.standard.passes(self.value):
                errors["passed"] = (
                    f"A value of {self.value} does not agree with passed={self.passed} "
                    f"for {self.standard.measure_summary}."
                )
        rating = self.standard_id and self.standard.measure_kind == "rating"
        if rating and self.value is not None and not 1 <= self.value <= 5:
            errors["value"] = "A rating lies on the 1–5 scale."
        if errors:
            raise ValidationError(errors)


class FeedbackChannel(models.TextChoices):
    WEB_FORM = "web_form", "Web form"
    QR_CODE = "qr_code", "QR code at the location"
    EMAIL = "email", "Email survey"
    PHONE = "phone", "Phone survey"
    API = "api", "Another system"


CONTACT_WITHOUT_DETAILS = "To be contacted, leave an email address or a name, or do not ask to be contacted."


class Feedback(models.Model):
    """A customer's answer: satisfaction (CSAT 1–5), likelihood to recommend (NPS 0–10) and words.

    Anonymous unless the customer leaves contact details and consents to be contacted.
    """

    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.PROTECT, related_name="feedback")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="feedback")
    submitted_at = models.DateTimeField(validators=[validate_timestamp])
    csat = models.PositiveSmallIntegerField(
        "satisfaction (1–5)", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    nps = models.PositiveSmallIntegerField(
        "likelihood to recommend (0–10)", null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    comment = models.TextField(blank=True, validators=[validate_text])
    channel = models.CharField(
        max_length=10, choices=FeedbackChannel.choices, default=FeedbackChannel.WEB_FORM
    )
    contact_name = models.CharField(max_length=120, blank=True, validators=[validate_text])
    contact_email = models.EmailField(blank=True, validators=[validate_text])
    contact_consent = models.BooleanField(default=False)
    external_id = models.CharField(
        max_length=100, unique=True, null=True, blank=True, validators=[validate_text]
    )
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)

    scope_paths = {"location": "location"}

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name_plural = "feedback"
        indexes = [models.Index(fields=["location", "submitted_at"], name="feedback_location_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | (Q(csat__gte=1) & Q(csat__lte=5)), name="feedback_csat_1_5"
            ),
            models.CheckConstraint(
                condition=Q(nps__isnull=True) | (Q(nps__gte=0) & Q(nps__lte=10)), name="feedback_nps_0_10"
            ),
            models.CheckConstraint(
                condition=Q(csat__isnull=False) | Q(nps__isnull=False) | ~Q(comment=""),
                name="feedback_not_empty",
            ),
            models.CheckConstraint(
                condition=Q(contact_consent=True) | (Q(contact_name="") & Q(contact_email="")),
                name="feedback_contact_needs_consent",
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback on {self.touchpoint} at {self.location.code}, {day(self.submitted_at)}"

    def clean(self) -> None:
        errors = {}
        if self.csat is None and self.nps is None and not self.comment.strip():
            errors["__all__"] = "Give a rating, a score or a comment."
        if (self.contact_name or self.contact_email) and not self.contact_consent:
            errors["contact_consent"] = (
                "Tick the consent box so we may contact you, or leave your details out."
            )
        if self.contact_consent and not (self.contact_name.strip() or self.contact_email.strip()):
            errors["contact_email"] = CONTACT_WITHOUT_DETAILS
        if errors:
            raise ValidationError(errors)


class PeriodKind(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class Grain(models.TextChoices):
    ORGANISATION = "org", "Organisation"
    LOCATION = "location", "Location"
    TEAM = "team", "Team"
    EMPLOYEE = "employee", "Employee"
    STANDARD = "standard", "Standard"
    TOUCHPOINT = "touchpoint", "Touchpoint"
    LOCATION_STANDARD = "location_standard", "Location × standard"


# A scorecard's references: derived data, see Scorecard.
SCORECARD_SUBJECT = {
    "on_delete": models.CASCADE,
    "null": True,
    "blank": True,
    "related_name": "+",
    "db_constraint": False,
}


class Scorecard(models.Model):
    """Rollup output for one period and one grain. Written only by the rollup, with upserts on
    (period kind, period start, grain, grain key); the key is never null so the upsert works
    the same on SQLite and PostgreSQL."""

    period_kind = models.CharField(max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField()
    grain = models.CharField(max_length=20, choices=Grain.choices)
    grain_key = models.CharField(max_length=60, help_text="e.g. 'location=3' or 'location=3|standard=7'.")
    # No database constraint behind these references: a scorecard is derived data that only the
    # rollup writes, with ids taken from observations and feedback, whose own references hold; the
    # deferred check of five constraints per row was a third of a first rollup's time. Deleting a
    # location, team, employee, standard or touchpoint through Django still deletes its scorecards
    # (CASCADE); one left by a deletion in SQL has no evidence, and the nightly full rebuild
    # deletes it.
    # Each is null in the rows of every grain but its own (and location_standard's): their indexes
    # are partial (Meta.indexes), so that a new scorecard is entered in one or two of them instead
    # of five. The location's index holds the period too, which serves a location's rows alone.
    location = models.ForeignKey(Location, db_index=False, **SCORECARD_SUBJECT)
    team = models.ForeignKey(Team, db_index=False, **SCORECARD_SUBJECT)
    employee = models.ForeignKey(Employee, db_index=False, **SCORECARD_SUBJECT)
    standard = models.ForeignKey(Standard, db_index=False, **SCORECARD_SUBJECT)
    touchpoint = models.ForeignKey(Touchpoint, db_index=False, **SCORECARD_SUBJECT)
    observations = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    pass_rate = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    pass_rate_low = models.FloatField(null=True, blank=True)
    pass_rate_high = models.FloatField(null=True, blank=True)
    mean_value = models.FloatField(null=True, blank=True)
    # The counts behind the rates, kept so that day scorecards add up to any span of days (the
    # dashboard's rolling periods) without a scan of the evidence.
    values_n = models.PositiveIntegerField(
        default=0, help_text="Observations with a value (standard grains)."
    )
    # Exact sums beside the counts, so that rows add up without rounding: weeks, months and
    # quarters are sums of day rows, and new evidence is added to the stored sums.
    value_sum = models.DecimalField(
        max_digits=24,
        decimal_places=3,
        default=Decimal("0"),
        help_text="Sum of the values behind values_n (standard grains).",
    )
    target_rate = models.FloatField(null=True, blank=True)
    target_cents = models.BigIntegerField(
        default=0,
        help_text="Sum over the observations of their standard's target, in hundredths of a percent.",
    )
    target_met = models.BooleanField(null=True, blank=True)
    deviations = models.PositiveIntegerField(default=0)
    feedback_count = models.PositiveIntegerField(default=0)
    csat_n = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0, help_text="CSAT answers of 4 or 5.")
    csat = models.FloatField(null=True, blank=True)
    nps_n = models.PositiveIntegerField(default=0)
    promoters = models.PositiveIntegerField(default=0, help_text="NPS answers of 9 or 10.")
    detractors = models.PositiveIntegerField(default=0, help_text="NPS answers of 0 to 6.")
    nps = models.FloatField(null=True, blank=True)
    nps_low = models.FloatField(null=True, blank=True)
    nps_high = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField()

    # Team and employee rows carry no location: they reach one through the team or employee.
    scope_paths = {
        "location": ("location", "team__location", "employee__location"),
        "team": "team",
        "employee": "employee",
    }

    class Meta:
        ordering = ["-period_start", "grain", "grain_key"]
        indexes = [
            # Which standards have location x standard scorecards of a period kind (the dashboard's
            # standard filter); partial, so it holds only those rows.
            models.Index(
                fields=["standard", "period_kind"],
                condition=Q(grain="location_standard"),
                name="scorecard_measured_idx",
            ),
            # Some locations' day rows of a span (a manager's pages, a heatmap page's cells): read
            # as ranges of this index instead of every location's rows of those days (85,000 for
            # 30 days of location × standard rows at 500 locations), 16 ms → 6 ms for ten.
            models.Index(
                fields=["location", "period_kind", "period_start"],
                condition=Q(location__isnull=False),
                name="scorecard_location_day_idx",
            ),
            *(
                models.Index(
                    fields=[subject],
                    condition=Q(**{f"{subject}__isnull": False}),
                    name=f"scorecard_{subject}_idx",
                )
                for subject in ("team", "employee", "standard", "touchpoint")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["period_kind", "period_start", "grain", "grain_key"], name="scorecard_one_per_grain"
            ),
            models.CheckConstraint(condition=Q(passed__lte=F("observations")), name="scorecard_passed_le_n"),
            models.CheckConstraint(
                condition=Q(pass_rate__isnull=True) | (Q(pass_rate__gte=0) & Q(pass_rate__lte=1)),
                name="scorecard_pass_rate_0_1",
            ),
            models.CheckConstraint(
                condition=Q(period_kind__in=PeriodKind.values), name="scorecard_period_valid"
            ),
            models.CheckConstraint(condition=Q(grain__in=Grain.values), name="scorecard_grain_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_period_kind_display()} from {day(self.period_start)}: {self.get_grain_display()} {self.grain_key}"

    def clean(self) -> None:
        if self.passed is not None and self.observations is not None and self.passed > self.observations:
            raise ValidationError(
                {"passed": f"{self.passed} passed out of {self.observations} observations is impossible."}
            )


class DeviationStatus(models.TextChoices):
    # No "excused": a deviation of a non-negotiable standard is closed only by a corrective action.
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed by corrective action"


class Deviation(models.Model):
    """A failed observation of a non-negotiable standard, recorded at intake."""

    observation = models.OneToOneField(Observation, on_delete=models.PROTECT, related_name="deviation")
    standard = models.ForeignKey(Standard, on_delete=models.PROTECT, related_name="deviations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="deviations")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="deviations")
    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="deviations"
    )
    detected_at = models.DateTimeField()
    status = models.CharField(max_length=6, choices=DeviationStatus.choices, default=DeviationStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)

    scope_paths = EVIDENCE_SCOPE

    class Meta:
        ordering = ["status", "-detected_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeviationStatus.values), name="deviation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=DeviationStatus.OPEN, closed_at__isnull=True)
                | Q(status=DeviationStatus.CLOSED, closed_at__isnull=False),
                name="deviation_closed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Deviation of {self.standard.code} at {self.location.code}, {day(self.detected_at)}"

    def clean(self) -> None:
        if self.status == DeviationStatus.CLOSED and self.closed_at is None:
            raise ValidationError({"closed_at": "Give the date the corrective action closed this deviation."})
        if self.status == DeviationStatus.OPEN and self.closed_at is not None:
            raise ValidationError({"closed_at": "An open deviation has no closing date."})


class RollupState(models.Model):
    """How far the incremental scorecard rollup has got: one row per rollup, written only by it.

    Every observation and piece of feedback recorded up to `watermark` has been rolled up. A run sets
    it to its own start less an in-flight margin (rows written before then have committed), and the
    next run recomputes the periods of rows recorded after it (see `measurement.services.rollup`).
    A null watermark means the next run rebuilds everything.
    """

    name = models.CharField(max_length=40, unique=True)
    watermark = models.DateTimeField(
        null=True, blank=True, help_text="Evidence recorded up to this instant has been rolled up."
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_full_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "rollup state"

    def __str__(self) -> str:
        return f"{self.name} rolled up to {self.watermark:%Y-%m-%d %H:%M:%S}" if self.watermark else self.name


class QuarantineTable(models.TextChoices):
    OBSERVATION = "observation", "Observation"
    FEEDBACK = "feedback", "Feedback"


class QuarantineReason(models.TextChoices):
    TOO_EARLY = "too_early", "Dated before INTAKE_EARLIEST"
    FUTURE = "future", "Dated in the future"
    VALUE = "value", "Value not a number or too large for its column"


class QuarantinedRow(models.Model):
    """An evidence row the rollup leaves out because it cannot be counted (written past intake:
    older data, a direct SQL write). Written only by the rollup, one row per evidence row.

    Each run that reads the row refreshes `last_seen_at`; a full rebuild deletes the entries of rows
    that have since become countable (a future time that is now due) or no longer exist.
    """

    evidence_table = models.CharField("table", max_length=12, choices=QuarantineTable.choices)
    row_id = models.BigIntegerField(help_text="The id of the observation or feedback left out.")
    reason = models.CharField(max_length=10, choices=QuarantineReason.choices)
    value = models.TextField(blank=True, help_text="The stored value that cannot be counted, as text.")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen_at", "evidence_table", "row_id"]
        verbose_name = "quarantined evidence row"
        constraints = [
            models.UniqueConstraint(fields=["evidence_table", "row_id"], name="quarantined_row_once"),
            models.CheckConstraint(
                condition=Q(evidence_table__in=QuarantineTable.values), name="quarantined_table_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=QuarantineReason.values), name="quarantined_reason_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_evidence_table_display()} {self.row_id}: {self.get_reason_display()}"
