from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Upper

from .validators import validate_hire_date

code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]{0,19}$",
    "Use 1–20 capital letters, digits, '-' or '_', starting with a letter or digit (for example LDN-01).",
)


class Location(models.Model):
    """A place where customers meet the organisation: a store, branch, contact centre or office."""

    code = models.CharField(
        max_length=20,
        unique=True,
        validators=[code_validator],
        help_text="Short unique code used in URLs, imports and the API, e.g. LDN-01.",
    )
    name = models.CharField(max_length=120)
    region = models.CharField(max_length=80, help_text="Regions group locations for comparison.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["region", "name"]
        constraints = [
            models.UniqueConstraint(Upper("code"), name="location_code_unique_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    """When a location is open on one day of the week, in the organisation's time zone.

    SLA clocks count only these hours. A location with no opening hours at all is open around the
    clock (a contact centre, a website); a day without a row is a closed day.
    """

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField(help_text="Must be after opening time (no hours past midnight).")

    class Meta:
        ordering = ["location", "weekday"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.UniqueConstraint(fields=["location", "weekday"], name="opening_hours_one_per_weekday"),
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")), name="opening_hours_close_after_open"
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6), name="opening_hours_weekday_valid"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.location.code} {self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"
        )

    def clean(self) -> None:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": "Closing time must be after opening time."})


class Team(models.Model):
    name = models.CharField(max_length=120)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="teams")
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="managed_teams",
        help_text="Managers who see this team's records, scorecards and consequences.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="team_name_unique_per_location"),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.location.code}"


class Role(models.TextChoices):
    STAFF = "staff", "Staff"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


class Employee(models.Model):
    """The employee profile of a user: where they work and what role they play in the program."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="employee")
    employee_number = models.CharField(max_length=20, unique=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="employees")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="members")
    managed_locations = models.ManyToManyField(
        Location,
        blank=True,
        related_name="managers",
        help_text="A manager sees every team and employee of these locations.",
    )
    job_title = models.CharField(max_length=120, blank=True)
    hired_on = models.DateField(validators=[validate_hire_date])
    active = models.BooleanField(default=True)

    scope_paths = {"location": "location", "team": "team", "employee": "pk"}

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="employee_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.employee_number})"

    @property
    def full_name(self) -> str:
        """The person's name, or their username when the account has none."""
        return self.user.get_full_name() or self.user.get_username()

    def clean(self) -> None:
        if self.team_id and self.location_id and self.team.location_id != self.location_id:
            raise ValidationError(
                {"team": f"Team “{self.team.name}” belongs to {self.team.location}, not to this location."}
            )


class Notice(models.Model):
    """One item included in one email to one person: the log that keeps every scheduled email from
    telling anyone the same thing twice.

    ``kind`` names the job that sent it (``training_reminder``, ``acknowledgement_reminder``, …) and
    ``key`` the thing it was about, spelled so that it changes when the thing does (a training
    assignment that goes from *due* to *overdue* is a new key, so a new reminder). A notice is written
    in the transaction that prepares the email, which is sent once that transaction has committed.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    sent_at = models.DateTimeField()

    class Meta:
        verbose_name = "email notice"
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "key"], name="notice_once_per_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} to {self.recipient}"
