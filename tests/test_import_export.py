"""Spreadsheet import and export of the program's set-up: natural keys, all-or-nothing, clear errors."""

from datetime import date

import pytest
import tablib
from django.contrib.admin import site as admin_site
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from import_export.admin import ImportExportMixin

from organization.models import Employee, Location, Role, Team
from organization.resources import EmployeeResource, LocationResource, TeamResource
from standards.models import Standard
from standards.resources import StandardResource
from tests import factories
from touchpoints.admin import TouchpointAdmin
from touchpoints.models import Touchpoint
from touchpoints.resources import TouchpointResource
from training.models import Course
from training.resources import CourseResource

# Dependencies first: a file may only name what the files before it created.
RESOURCES = [
    LocationResource,
    TeamResource,
    EmployeeResource,
    TouchpointResource,
    StandardResource,
    CourseResource,
]


def _csv(text: str) -> tablib.Dataset:
    return tablib.Dataset().load(text.strip() + "\n", format="csv")


def _import(resource_class, text: str):
    return resource_class().import_data(_csv(text), dry_run=False, raise_errors=False)


def _only_invalid_row(result):
    assert not result.has_errors(), [e.error for _, errors in result.row_errors() for e in errors]
    assert result.has_validation_errors()
    [row] = result.invalid_rows
    return row


TOUCHPOINTS_WITH_BAD_CHANNEL = """
slug,name,channel,journey_stage,customer_kind,active
checkout-till,Checkout till,in_person,pay,external,1
returns-desk,Returns desk,fax,return,external,1
phone-line,Phone line,phone,get_help,external,1
"""


# --- a bad row: reported by number and field, and nothing is saved -----------------------


def test_unknown_channel_reports_its_row_and_saves_nothing(db):
    result = _import(TouchpointResource, TOUCHPOINTS_WITH_BAD_CHANNEL)

    row = _only_invalid_row(result)
    assert row.number == 2
    assert row.field_specific_errors == {"channel": ["Value 'fax' is not a valid choice."]}
    assert Touchpoint.objects.count() == 0


def test_unknown_location_code_reports_its_row_and_saves_nothing(db):
    factories.LocationFactory(code="LDN-01")
    result = _import(
        TeamResource,
        """
location,name,active
LDN-01,Front desk,1
MAN-09,Tills,1
""",
    )

    row = _only_invalid_row(result)
    assert row.number == 2
    assert row.field_specific_errors == {"location": ["No location with code “MAN-09”."]}
    assert Team.objects.count() == 0


def test_unknown_touchpoint_slug_in_a_standard_is_an_error_not_a_silent_drop(db):
    factories.TouchpointFactory(slug="checkout-till")
    result = _import(
        StandardResource,
        """
code,title,behaviour,touchpoints,measure_kind,target_rate,weight,non_negotiable,status,effective_from
GREET,Greet,Greet every customer,"checkout-till,front-door",pass_fail,90,1,0,active,2025-01-01
""",
    )

    row = _only_invalid_row(result)
    assert row.number == 1
    assert row.field_specific_errors == {"touchpoints": ["Unknown touchpoints: front-door."]}
    assert Standard.objects.count() == 0


def test_model_rules_are_checked_on_import(db):
    result = _import(
        StandardResource,
        """
code,title,behaviour,measure_kind,target_rate,weight,non_negotiable,status,effective_from
SAFE,Safety first,Lock the safe,pass_fail,100,1,1,active,2025-01-01
TILL,Never leave a till,Someone at every open till,pass_fail,90,1,1,active,2025-01-01
""",
    )

    row = _only_invalid_row(result)
    assert row.number == 2
    assert row.field_specific_errors == {
        "target_rate": ["A non-negotiable standard admits no exceptions: its target must be 100%."]
    }
    assert Standard.objects.count() == 0


def test_employee_with_a_team_of_another_location_is_refused(db):
    factories.TeamFactory(name="Tills", location=factories.LocationFactory(code="LDN-01"))
    factories.LocationFactory(code="MAN-01")
    result = _import(
        EmployeeResource,
        """
employee_number,username,first_name,last_name,email,role,location,team,job_title,hired_on,active,managed_locations,managed_teams
E1,ada,Ada,Lovelace,ada@example.com,staff,MAN-01,Tills,Advisor,2024-03-01,1,,
""",
    )

    row = _only_invalid_row(result)
    assert row.field_specific_errors == {"team": ["No team “Tills” at location MAN-01."]}
    assert not get_user_model().objects.filter(username="ada").exists()


# --- natural keys: re-import updates --------------------------------------------------------


def test_reimporting_a_location_updates_it_instead_of_duplicating(db):
    _import(LocationResource, "code,name,region,active\nLDN-01,London Bridge,South,1")
    result = _import(LocationResource, "code,name,region,active\nLDN-01,London Bridge Station,South,1")

    assert not result.has_errors() and not result.has_validation_errors()
    assert list(Location.objects.values_list("code", "name")) == [("LDN-01", "London Bridge Station")]


def test_employee_import_creates_the_user_and_the_role_group(db):
    location = factories.LocationFactory(code="LDN-01")
    factories.TeamFactory(name="Tills", location=location)
    header = "employee_number,username,first_name,last_name,email,role,location,team,job_title,hired_on,active,managed_locations,managed_teams"

    first = _import(
        EmployeeResource,
        f"{header}\nE1,ada,Ada,Lovelace,ada@example.com,manager,LDN-01,Tills,Lead,2024-03-01,1,LDN-01,LDN-01/Tills",
    )
    again = _import(
        EmployeeResource,
        f"{header}\nE1,ada,Ada,King,ada.king@example.com,manager,LDN-01,Tills,Lead,2024-03-01,1,LDN-01,LDN-01/Tills",
    )

    assert not first.has_validation_errors() and not again.has_validation_errors()
    employee = Employee.objects.select_related("user", "team").get()
    assert (employee.user.username, employee.user.last_name, employee.user.email) == (
        "ada",
        "King",
        "ada.king@example.com",
    )
    assert employee.role == Role.MANAGER and employee.team.name == "Tills"
    assert list(employee.managed_locations.values_list("code", flat=True)) == ["LDN-01"]
    assert list(employee.user.managed_teams.values_list("name", flat=True)) == ["Tills"]
    assert list(employee.user.groups.values_list("name", flat=True)) == ["Managers"]
    assert not employee.user.has_usable_password()


def test_employee_import_refuses_a_user_who_already_has_an_employee(db):
    factories.EmployeeFactory(employee_number="E1", user=factories.UserFactory(username="ada"))
    factories.LocationFactory(code="LDN-01")
    result = _import(
        EmployeeResource,
        """
employee_number,username,first_name,last_name,email,role,location,team,job_title,hired_on,active,managed_locations,managed_teams
E2,ada,Ada,Lovelace,ada@example.com,staff,LDN-01,,Advisor,2024-03-01,1,,
""",
    )

    row = _only_invalid_row(result)
    assert row.field_specific_errors["username"] == ["User “ada” already belongs to employee E1."]
    assert Employee.objects.count() == 1


def test_importing_a_standard_never_changes_an_existing_version(db):
    standard = factories.StandardFactory(code="GREET", version=3)
    [row] = StandardResource().export(queryset=Standard.objects.filter(pk=standard.pk)).dict
    row.update(version="1", title="Greet warmly")
    dataset = tablib.Dataset(list(row.values()), headers=list(row))

    result = StandardResource().import_data(dataset, dry_run=False)

    assert not result.has_validation_errors()
    standard.refresh_from_db()
    assert (standard.title, standard.version) == ("Greet warmly", 3)
    assert standard.history.count() == 2


# --- export → import round trip -------------------------------------------------------------


def _program_setup():
    london, manchester = factories.LocationFactory(code="LDN-01"), factories.LocationFactory(code="MAN-01")
    tills = factories.TeamFactory(name="Tills, front", location=london)
    factories.TeamFactory(name="Tills", location=manchester)
    boss = factories.EmployeeFactory(
        employee_number="E1", role=Role.MANAGER, location=london, team=tills, user__username="boss"
    )
    boss.managed_locations.set([london, manchester])
    tills.managers.add(boss.user)
    factories.EmployeeFactory(employee_number="E2", location=manchester, team=None, user__username="sam")
    door = factories.TouchpointFactory(slug="front-door", owner_team=tills, description="Where it starts")
    door.locations.set([london, manchester])
    phone = factories.TouchpointFactory(slug="phone-line", channel="phone", journey_stage="get_help")
    greet = factories.StandardFactory(code="GREET", how="Smile", version=2)
    greet.touchpoints.set([door, phone])
    greet.teams.set([tills])
    factories.StandardFactory(
        code="ANSWER",
        measure_kind="numeric",
        comparator="lte",
        threshold="3",
        unit="rings",
        non_negotiable=True,
        target_rate=100,
        effective_from=date(2025, 1, 1),
    )
    course = factories.CourseFactory(code="WELCOME", pass_mark=None, refresher_interval_days=None)
    course.standards.set([greet])


def _export_all() -> dict[str, list[tuple]]:
    exported = {}
    for resource_class in RESOURCES:
        dataset = resource_class().export()
        exported[resource_class.__name__] = (dataset.headers, sorted(tuple(row) for row in dataset))
    return exported


def _delete_program_setup():
    for model in (Course, Standard, Touchpoint, Employee, Team, Location):
        model.objects.all().delete()
    get_user_model().objects.all().delete()


def test_export_then_import_into_an_empty_database_gives_the_same_rows(db):
    _program_setup()
    before = _export_all()
    files = {name: resource().export().csv for name, resource in ((r.__name__, r) for r in RESOURCES)}
    _delete_program_setup()

    for resource_class in RESOURCES:
        result = resource_class().import_data(
            tablib.Dataset().load(files[resource_class.__name__], format="csv"), dry_run=False
        )
        assert not result.has_errors() and not result.has_validation_errors(), resource_class.__name__

    assert _export_all() == before
    assert Standard.objects.get(code="GREET").version == 2


def test_exported_files_reimport_as_updates(db):
    _program_setup()
    for resource_class in RESOURCES:
        result = resource_class().import_data(resource_class().export(), dry_run=False)
        assert result.totals["new"] == 0 and result.totals["invalid"] == 0, resource_class.__name__
        assert result.totals["update"] == len(resource_class().get_queryset()), resource_class.__name__


# --- the admin import page ------------------------------------------------------------------


def _csv_format_index(model_admin) -> str:
    titles = [file_format().get_title() for file_format in model_admin.get_import_formats()]
    return str(titles.index("csv"))


def _upload(client, text: str):
    return client.post(
        reverse("admin:touchpoints_touchpoint_import"),
        {
            "resource": "0",
            "format": _csv_format_index(TouchpointAdmin(Touchpoint, admin_site)),
            "import_file": SimpleUploadedFile(
                "touchpoints.csv", text.strip().encode(), content_type="text/csv"
            ),
        },
    )


def test_admin_import_page_shows_the_bad_row_and_saves_nothing(client, admin):
    client.force_login(admin)

    response = _upload(client, TOUCHPOINTS_WITH_BAD_CHANNEL)

    assert response.status_code == 200
    result = response.context["result"]
    assert [row.number for row in result.invalid_rows] == [2]
    assert "Value &#x27;fax&#x27; is not a valid choice." in response.text
    assert "confirm_form" not in response.context
    assert Touchpoint.objects.count() == 0


def test_admin_import_page_imports_a_good_file_after_confirmation(client, admin):
    client.force_login(admin)
    good = TOUCHPOINTS_WITH_BAD_CHANNEL.replace(",fax,", ",in_person,")

    response = _upload(client, good)
    confirm = response.context["confirm_form"]
    assert Touchpoint.objects.count() == 0  # the first step is a dry run

    response = client.post(
        reverse("admin:touchpoints_touchpoint_process_import"),
        {name: confirm[name].value() for name in confirm.fields},
    )

    assert response.status_code == 302
    assert sorted(Touchpoint.objects.values_list("slug", flat=True)) == [
        "checkout-till",
        "phone-line",
        "returns-desk",
    ]


def test_a_staff_user_who_may_only_view_cannot_import(client, db):
    viewer = factories.UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_touchpoint"))
    client.force_login(viewer)

    assert client.get(reverse("admin:touchpoints_touchpoint_changelist")).status_code == 200
    assert client.get(reverse("admin:touchpoints_touchpoint_import")).status_code == 403


IMPORT_EXPORT_ADMINS = [
    (model, model_admin)
    for model, model_admin in sorted(admin_site._registry.items(), key=lambda item: item[0]._meta.label)
    if isinstance(model_admin, ImportExportMixin)
]


@pytest.mark.parametrize(
    ("model", "model_admin"), IMPORT_EXPORT_ADMINS, ids=[m._meta.label for m, _ in IMPORT_EXPORT_ADMINS]
)
def test_program_admin_can_open_import_and_export_pages(client, admin, model, model_admin):
    client.force_login(admin)
    info = (model._meta.app_label, model._meta.model_name)
    assert client.get(reverse("admin:{}_{}_import".format(*info))).status_code == 200
    assert client.get(reverse("admin:{}_{}_export".format(*info))).status_code == 200


def test_the_six_set_up_models_have_import_and_export():
    assert {model for model, _ in IMPORT_EXPORT_ADMINS} == {
        Location,
        Team,
        Employee,
        Touchpoint,
        Standard,
        Course,
    }
