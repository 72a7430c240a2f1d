"""Import-export resources for the organisation, and the base every program resource builds on.

Files name things by natural keys, never by database ids: a location by its code, a team by
its location's code and its name, an employee by their employee number. Re-importing a file
updates the rows it names instead of duplicating them.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from import_export import fields, resources, widgets

from .models import Employee, Location, Team
from .services import employee_sync_groups
from .validators import text_problem

# Codes never contain "/" (see organization.models.code_validator), so "LDN-01/Front desk"
# splits unambiguously at its first slash.
TEAM_KEY_SEPARATOR = "/"


def team_key(team: Team) -> str:
    return f"{team.location.code}{TEAM_KEY_SEPARATOR}{team.name}"


def refuse_unstorable(value) -> None:
    """Raise ValueError (a field error of the row) for text PostgreSQL would refuse even in a
    lookup, before the widget queries with it."""
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValueError(problem)


class StrictForeignKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key by natural key that names the missing value instead of failing with
    "matching query does not exist" (a ValueError becomes a field error of the row)."""

    def clean(self, value, row=None, **kwargs):
        refuse_unstorable(value)
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(f"No {self.model._meta.verbose_name} with {self.field} “{value}”.") from None


class StrictManyToManyWidget(widgets.ManyToManyWidget):
    """Many-to-many by natural keys that refuses unknown keys instead of silently dropping them."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, float) and value.is_integer():
            value = str(int(value))  # spreadsheets turn a numeric code into 12.0
        refuse_unstorable(value)
        found = super().clean(value, row, **kwargs)
        wanted = {str(key).strip() for key in str(value or "").split(self.separator)} - {""}
        missing = wanted - {str(key) for key in found.values_list(self.field, flat=True)}
        if missing:
            plural = self.model._meta.verbose_name_plural
            raise ValueError(f"Unknown {plural}: {', '.join(sorted(missing))}.")
        return found


class TeamKeyWidget(widgets.ForeignKeyWidget):
    """One team as "LOCATION-CODE/Team name"."""

    def __init__(self, **kwargs):
        super().__init__(Team, **kwargs)

    def clean(self, value, row=None, **kwargs):
        if not value:
            return None
        refuse_unstorable(value)
        code, sep, name = str(value).partition(TEAM_KEY_SEPARATOR)
        if not sep:
            raise ValueError(f"Write a team as LOCATION-CODE{TEAM_KEY_SEPARATOR}Team name, not “{value}”.")
        code, name = code.strip(), name.strip()
        team = Team.objects.select_related("location").filter(location__code=code, name=name).first()
        if team is None:
            raise ValueError(f"No team “{name}” at location {code}.")
        return team

    def render(self, value, obj=None, **kwargs):
        return team_key(value) if value else ""


class TeamKeysWidget(widgets.ManyToManyWidget):
    """Several teams as "LOC-1/Front desk; LOC-2/Tills" (";" because team names may hold commas)."""

    def __init__(self, **kwargs):
        super().__init__(Team, separator=";", **kwargs)
        self.one = TeamKeyWidget()

    def clean(self, value, row=None, **kwargs):
        keys = [key.strip() for key in str(value or "").split(self.separator) if key.strip()]
        return Team.objects.filter(pk__in=[self.one.clean(key).pk for key in keys])

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return f"{self.separator} ".join(team_key(team) for team in value.all())


class ProgramResource(resources.ModelResource):
    """All-or-nothing imports with model validation.

    - every instance is `full_clean()`ed, so constraint messages reach the user;
    - one invalid row rolls the whole file back (import-export keeps the valid rows of a file
      with validation errors unless told otherwise);
    - unknown natural keys, in foreign keys and many-to-many columns alike, are field errors
      of their row rather than crashes or silent drops;
    - text PostgreSQL cannot store (NUL, lone surrogates) is a field error of its row, for
      every text column, whether or not its model field names the rule.
    """

    class Meta:
        clean_model_instances = True
        use_transactions = True

    def import_data(self, dataset, *args, rollback_on_validation_errors=True, **kwargs):
        return super().import_data(
            dataset, *args, rollback_on_validation_errors=rollback_on_validation_errors, **kwargs
        )

    def get_instance(self, instance_loader, row):
        # An unknown natural key in an import id column cannot match an existing row; the
        # row is then treated as new and import_instance reports the field.
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        errors.update(unstorable_text(instance))
        # import-export only reads many-to-many columns after saving; check them now so
        # that an unknown key is reported with the row's other errors and nothing is saved.
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget) and field.column_name in row:
                try:
                    field.clean(row, **kwargs)
                except ValueError as exc:
                    errors[field.column_name] = [str(exc)]
        if errors:
            raise ValidationError(errors)


def unstorable_text(instance: models.Model) -> dict[str, list[str]]:
    """The text fields of `instance` whose value PostgreSQL could not store, with the reason."""
    problems = {}
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.CharField | models.TextField):
            value = getattr(instance, field.attname)
            if isinstance(value, str) and (problem := text_problem(value)):
                problems[field.name] = [problem]
    return problems


class LocationResource(ProgramResource):
    class Meta(ProgramResource.Meta):
        model = Location
        fields = ("code", "name", "region", "active")
        import_id_fields = ("code",)


class TeamResource(ProgramResource):
    """Teams by location code and name. Their managers are set in the employees file (column
    managed_teams), which comes after this one because it creates the users."""

    location = fields.Field(
        attribute="location", column_name="location", widget=StrictForeignKeyWidget(Location, field="code")
    )

    class Meta(ProgramResource.Meta):
        model = Team
        fields = ("location", "name", "active")
        import_id_fields = ("location", "name")

    def get_queryset(self):
        return super().get_queryset().select_related("location")


class TeamOfRowWidget(widgets.ForeignKeyWidget):
    """An employee's team by name, looked up at the location named in the same row."""

    def __init__(self, **kwargs):
        super().__init__(Team, field="name", **kwargs)

    def clean(self, value, row=None, **kwargs):
        if not value:
            return None
        refuse_unstorable(value)
        code = str((row or {}).get("location") or "").strip()
        refuse_unstorable(code)
        team = Team.objects.filter(location__code=code, name=str(value).strip()).first()
        if team is None:
            raise ValueError(f"No team “{value}” at location {code}.")
        return team


class EmployeeResource(ProgramResource):
    """Employees with their user account: a new employee number creates the user named in the
    row (without a usable password: they set one through password reset), an existing one
    updates that user's names and email."""

    username = fields.Field(attribute="user__username", column_name="username", readonly=True)
    first_name = fields.Field(attribute="user__first_name", column_name="first_name", readonly=True)
    last_name = fields.Field(attribute="user__last_name", column_name="last_name", readonly=True)
    email = fields.Field(attribute="user__email", column_name="email", readonly=True)
    location = fields.Field(
        attribute="location", column_name="location", widget=StrictForeignKeyWidget(Location, field="code")
    )
    team = fields.Field(attribute="team", column_name="team", widget=TeamOfRowWidget())
    managed_locations = fields.Field(
        attribute="managed_locations",
        column_name="managed_locations",
        widget=StrictManyToManyWidget(Location, field="code", separator=","),
    )
    managed_teams = fields.Field(
        attribute="user__managed_teams", column_name="managed_teams", widget=TeamKeysWidget()
    )
    user_fields = ("username", "first_name", "last_name", "email")

    class Meta(ProgramResource.Meta):
        model = Employee
        fields = (
            "employee_number",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "location",
            "team",
            "job_title",
            "hired_on",
            "active",
            "managed_locations",
            "managed_teams",
        )
        import_id_fields = ("employee_number",)

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("user", "location", "team")
            .prefetch_related("managed_locations", "user__managed_teams__location")
        )

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        try:
            instance.user = self._user_for(instance, row)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _user_for(self, employee: Employee, row):
        """The employee's user with the row's names and email, saved and validated."""
        user_model = get_user_model()
        values = {name: str(row.get(name) or "").strip() for name in self.user_fields if name in row}
        # Before the username is looked up: PostgreSQL refuses such text even in a query.
        if problems := {name: [p] for name, value in values.items() if (p := text_problem(value))}:
            raise ValidationError(problems)
        username = values.get("username", "")
        if employee.user_id:
            user = employee.user
        elif not username:
            raise ValidationError({"username": "A new employee needs a username for their account."})
        else:
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(username=username)
                user.set_unusable_password()
            elif (owner := Employee.objects.filter(user=user).first()) is not None:
                raise ValidationError(
                    {"username": f"User “{username}” already belongs to employee {owner.employee_number}."}
                )
        for name, value in values.items():
            if value:
                setattr(user, name, value)
        # The user's field names are the column names, so its errors point at the right column.
        user.full_clean()
        user.save()
        return user

    def after_save_instance(self, instance, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        employee_sync_groups(employee=instance)
