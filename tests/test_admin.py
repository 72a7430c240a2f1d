"""Django admin: every registered page renders for the people who run the program, and the
program's rules (versioning, immutable evidence, readable validation) hold there too."""

from datetime import timedelta

import pytest
from django.contrib.admin import site as admin_site
from django.contrib.auth import get_user_model
from django.db import connection
from django.forms import MultiWidget
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consequences.models import Consequence
from measurement.models import Observation, RollupState
from organization.models import Employee, Notice, Role
from organization.roles import PROGRAM_APPS
from standards.models import Acknowledgement, Standard
from standards.services import standard_save
from tests import factories

REGISTERED = sorted(admin_site._registry.items(), key=lambda item: item[0]._meta.label)
PROGRAM_ADMINS = [
    (model, model_admin)
    for model, model_admin in REGISTERED
    if model._meta.app_label in PROGRAM_APPS or model is get_user_model()
]


def _ids(entries):
    return [model._meta.label for model, _ in entries]


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _program_records(location):
    """A row of every program model at `location`, with every relation a changelist shows filled in."""
    team = factories.TeamFactory(location=location)
    employee = factories.EmployeeFactory(location=location, team=team)
    team.managers.add(employee.user)
    employee.managed_locations.add(location)
    touchpoint = factories.TouchpointFactory(owner_team=team)
    standard = factories.StandardFactory()
    standard.touchpoints.add(touchpoint)
    standard.teams.add(team)
    factories.AcknowledgementFactory(employee=employee, standard=standard)
    course = factories.CourseFactory()
    course.standards.add(standard)
    factories.RequirementFactory(course=course, audience="team", team=team)
    factories.AssignmentFactory(employee=employee, course=course)
    factories.CompletionFactory(employee=employee, course=course, reviewed_by=employee.user)
    evaluation = factories.EvaluationFactory(
        location=location, team=team, employee=employee, touchpoint=touchpoint, evaluator=employee.user
    )
    factories.ObservationFactory(
        evaluation=evaluation, standard=standard, location=location, team=team, employee=employee
    )
    feedback = factories.FeedbackFactory(touchpoint=touchpoint, location=location, comment="Quick and kind.")
    factories.ScorecardFactory(
        location=location,
        team=team,
        employee=employee,
        standard=standard,
        grain_key=f"employee={employee.pk}",
    )
    deviation = factories.DeviationFactory(observation__location=location, team=team, employee=employee)
    rating = factories.RatingFactory(
        assessment__touchpoint=touchpoint, assessment__location=location, assessment__assessor=employee.user
    )
    factories.ActionItemFactory(rating=rating)
    factories.ActionItemFactory(rating=None, feedback=feedback, location=location)
    rule = factories.RuleFactory(standard=standard)
    factories.ConsequenceFactory(location=location, rule=rule, owner=employee.user)
    factories.ConsequenceFactory(
        subject_kind="employee",
        employee=employee,
        location=location,
        action="corrective",
        deviation=deviation,
    )
    Notice.objects.create(
        recipient=employee.user, kind="training_reminder", key=f"course={course.pk}", sent_at=timezone.now()
    )
    RollupState.objects.create(name=f"scorecards-{location.code}", watermark=timezone.now())


@pytest.fixture
def one_of_everything(location_a):
    """At least one row of every program model, so every change page has something to show."""
    _program_records(location_a)


def _assert_pages_render(client, user, model, model_admin):
    client.force_login(user)
    request = RequestFactory().get("/")
    request.user = user

    response = client.get(_url(model, "changelist"))
    assert response.status_code == 200, f"{model._meta.label} changelist: {response.status_code}"

    response = client.get(_url(model, "add"))
    expected = 200 if model_admin.has_add_permission(request) else 403
    assert response.status_code == expected, f"{model._meta.label} add page: {response.status_code}"

    obj = model_admin.get_queryset(request).first()
    if obj is not None:
        response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, f"{model._meta.label} change page: {response.status_code}"


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=_ids(REGISTERED))
def test_superuser_can_open_every_admin_page(client, one_of_everything, model, model_admin):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "correct-horse-battery")
    _assert_pages_render(client, superuser, model, model_admin)


@pytest.mark.parametrize(("model", "model_admin"), PROGRAM_ADMINS, ids=_ids(PROGRAM_ADMINS))
def test_program_admin_can_open_every_program_page(client, one_of_everything, admin, model, model_admin):
    assert not admin.is_superuser and admin.groups.filter(name="Admins").exists()
    _assert_pages_render(client, admin, model, model_admin)


def test_every_program_model_is_registered():
    from django.apps import apps

    program_models = {m for app in PROGRAM_APPS for m in apps.get_app_config(app).get_models()}
    # Historical tables are shown through the standard's history page, not on their own.
    program_models = {m for m in program_models if not m.__name__.startswith("Historical")}
    # Parts edited on their parent's page (a question's options, an audit's answers) count too.
    inlines = {
        inline.model for model_admin in admin_site._registry.values() for inline in model_admin.inlines
    }
    assert program_models - set(admin_site._registry) - inlines == set()


SEARCHABLE = [(model, model_admin) for model, model_admin in PROGRAM_ADMINS if model_admin.search_fields]


@pytest.mark.parametrize(("model", "model_admin"), SEARCHABLE, ids=_ids(SEARCHABLE))
def test_autocomplete_lists_come_in_a_stable_order(db, rf, model, model_admin):
    # An aggregate annotation in get_queryset drops Meta.ordering (GROUP BY), and the autocomplete
    # paginates what get_queryset returns: unordered, its pages could repeat or skip rows.
    request = rf.get("/admin/autocomplete/")
    request.user = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    assert model_admin.get_queryset(request).ordered, f"{model._meta.label} admin queryset has no order"


@pytest.mark.parametrize("path", ["/admin/", "/admin/standards/standard/", "/admin/login/"])
@pytest.mark.parametrize(("role", "whose"), [("manager", "a manager's"), ("staff", "a staff member's")])
def test_employees_who_are_not_admins_are_told_whose_the_admin_is(client, request, role, whose, path):
    client.force_login(request.getfixturevalue(role))
    response = client.get(path)
    assert response.status_code == 403
    body = response.content.decode()
    assert "Administration is for administrators" in body
    assert f"Your account is {whose}" in body
    assert f'href="{reverse("home")}"' in body
    assert 'name="password"' not in body


@pytest.mark.parametrize("path", ["/admin/", "/admin/standards/standard/"])
def test_anonymous_visitors_still_get_the_admin_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    login = client.get(response["Location"])
    assert login.status_code == 200 and 'name="password"' in login.content.decode()


def test_the_apps_follow_the_six_steps_then_the_people(client, admin):
    client.force_login(admin)
    labels = [app["app_label"] for app in client.get(reverse("admin:index")).context["app_list"]]
    steps = ["touchpoints", "gap_analysis", "standards", "training", "measurement", "consequences"]
    assert labels[: len(steps) + 1] == [*steps, "organization"]


def test_the_apps_have_readable_names(superuser_client):
    body = superuser_client.get(reverse("admin:index")).content.decode()
    for name in ("Touchpoints", "Gap analysis", "Standards", "Training", "Measurement", "Consequences"):
        assert f">{name}</a>" in body, name
    assert "Organisation and people" in body
    assert "Email notices" in body and "Ratings of the four Ps" in body


def test_admin_cannot_make_themselves_superuser(client, admin):
    client.force_login(admin)
    response = client.get(_url(get_user_model(), "change", admin.pk))
    assert response.status_code == 200
    assert "is_superuser" not in response.context["adminform"].form.fields


# --- the standard's change form -----------------------------------------------------------


def _form_data(response) -> dict:
    """The POST a browser would send back for the admin form in `response`, unchanged."""
    data = {}

    def put(form, name):
        value = form[name].value()
        key = form.add_prefix(name)
        if value is None or value is False:
            return
        widget = form.fields[name].widget
        if isinstance(widget, MultiWidget):  # e.g. a date and a time input for one datetime
            parts = value if isinstance(value, list) else widget.decompress(value)
            data.update({f"{key}_{i}": str(part) for i, part in enumerate(parts) if part is not None})
            return
        if value is True:
            data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(getattr(v, "pk", v)) for v in value]
        else:
            data[key] = str(getattr(value, "pk", value))

    form = response.context["adminform"].form
    for name in form.fields:
        put(form, name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[formset.management_form.add_prefix(name)] = formset.management_form[name].value()
        for sub in formset.forms:
            for name in sub.fields:
                put(sub, name)
    return data


@pytest.fixture
def superuser_client(client, db):
    client.force_login(
        get_user_model().objects.create_superuser("root", "root@example.com", "pw-long-enough")
    )
    return client


def _edit_standard(client, standard, **changes):
    url = _url(Standard, "change", standard.pk)
    data = _form_data(client.get(url))
    data.update(changes)
    return client.post(url, data)


def test_material_change_on_the_form_makes_a_new_version(superuser_client):
    standard = factories.StandardFactory()
    response = _edit_standard(
        superuser_client, standard, behaviour="Greet within 5 seconds.", material_change="on"
    )
    assert response.status_code == 302
    standard.refresh_from_db()
    assert (standard.version, standard.behaviour) == (2, "Greet within 5 seconds.")


def test_editing_without_material_change_keeps_the_version(superuser_client):
    standard = factories.StandardFactory()
    response = _edit_standard(superuser_client, standard, title="Greet customers warmly")
    assert response.status_code == 302
    standard.refresh_from_db()
    assert (standard.version, standard.title) == (1, "Greet customers warmly")


def test_touchpoints_are_edited_in_the_standard_inline(superuser_client):
    standard = factories.StandardFactory()
    touchpoint = factories.TouchpointFactory()
    data = _form_data(superuser_client.get(_url(Standard, "change", standard.pk)))
    prefix = next(key for key in data if key.endswith("-TOTAL_FORMS")).removesuffix("-TOTAL_FORMS")
    data.update({f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-0-touchpoint": str(touchpoint.pk)})
    response = superuser_client.post(_url(Standard, "change", standard.pk), data)
    assert response.status_code == 302
    assert list(standard.touchpoints.all()) == [touchpoint]


@pytest.mark.parametrize("typed_target", ["90", "", "abc"])
def test_ticking_non_negotiable_sets_the_target_to_100(superuser_client, typed_target):
    data = _form_data(superuser_client.get(_url(Standard, "add")))
    data.update(
        code="STD-NN",
        title="Never leave a till unattended",
        behaviour="Someone is at every open till at all times.",
        effective_from=timezone.localdate().isoformat(),
        non_negotiable="on",
        target_rate=typed_target,
    )
    response = superuser_client.post(_url(Standard, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Standard.objects.get(code="STD-NN").target_rate == 100


def test_a_negotiable_standard_keeps_its_target_and_its_checks(superuser_client):
    data = _form_data(superuser_client.get(_url(Standard, "add")))
    data.update(
        code="STD-90",
        title="Answer within three rings",
        behaviour="The phone is answered by the third ring.",
        effective_from=timezone.localdate().isoformat(),
        target_rate="90",
    )
    assert superuser_client.post(_url(Standard, "add"), data).status_code == 302
    assert Standard.objects.get(code="STD-90").target_rate == 90
    data.update(code="STD-BAD", target_rate="120")
    response = superuser_client.post(_url(Standard, "add"), data)
    assert response.status_code == 200 and response.context["adminform"].form.errors["target_rate"]


def test_the_target_says_that_non_negotiable_sets_it(superuser_client):
    body = superuser_client.get(_url(Standard, "add")).content.decode()
    assert "ticking “non-negotiable” sets it" in body
    assert "js/standard_admin.js" in body


def test_the_standard_touchpoint_inline_names_each_touchpoint(superuser_client):
    standard = factories.StandardFactory()
    standard.touchpoints.add(factories.TouchpointFactory(name="Checkout till"))
    body = superuser_client.get(_url(Standard, "change", standard.pk)).content.decode()
    assert "Checkout till" in body
    assert "object (" not in body


def test_locations_link_their_printable_qr_sheet(superuser_client, location_a):
    sheet = reverse("feedback-qr-sheet", args=[location_a.code])
    closed = factories.LocationFactory(code="OLD-01", active=False)
    changelist = superuser_client.get(_url(location_a.__class__, "changelist")).content.decode()
    assert f'href="{sheet}"' in changelist and "Printable QR sheet" in changelist
    assert reverse("feedback-qr-sheet", args=[closed.code]) not in changelist
    change = superuser_client.get(_url(location_a.__class__, "change", location_a.pk)).content.decode()
    assert f'href="{sheet}"' in change
    assert superuser_client.get(sheet).status_code == 200


def test_touchpoints_link_the_qr_sheets_of_their_locations(superuser_client, location_a, location_b):
    here = factories.TouchpointFactory(name="Returns desk")
    here.locations.add(location_a)
    everywhere = factories.TouchpointFactory(name="Phone line")
    touchpoint_model = here.__class__
    changelist = superuser_client.get(_url(touchpoint_model, "changelist")).content.decode()
    assert f'href="{reverse("feedback-qr-sheet", args=[location_a.code])}"' in changelist
    assert reverse("feedback-qr-sheet", args=[location_b.code]) not in changelist  # not where Returns desk is
    assert "every location" in changelist
    change = superuser_client.get(_url(touchpoint_model, "change", everywhere.pk)).content.decode()
    assert reverse("admin:organization_location_changelist") in change
    change = superuser_client.get(_url(touchpoint_model, "change", here.pk)).content.decode()
    assert f'href="{reverse("feedback-qr-sheet", args=[location_a.code])}"' in change


def test_history_page_lists_each_change_with_its_author(client, admin):
    standard = factories.StandardFactory(title="Greet customers")
    standard.title = "Greet every customer"
    standard_save(standard=standard, material_change=True, user=admin)

    client.force_login(admin)
    response = client.get(_url(Standard, "history", standard.pk))

    assert response.status_code == 200
    assert "Greet every customer" in response.text
    assert "Material change: version 2" in response.text
    assert admin.get_username() in response.text
    assert response.context["page_obj"].paginator.count == 2


# --- evidence is read-only ----------------------------------------------------------------


def test_observation_change_page_is_read_only_and_cannot_delete(client, admin):
    observation = factories.ObservationFactory()
    client.force_login(admin)

    response = client.get(_url(Observation, "change", observation.pk))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False

    assert client.post(_url(Observation, "change", observation.pk), {"passed": ""}).status_code == 403
    assert client.post(_url(Observation, "delete", observation.pk), {"post": "yes"}).status_code == 403
    assert Observation.objects.filter(pk=observation.pk).exists()


def test_acknowledgements_cannot_be_forged_in_admin(client, admin):
    acknowledgement = factories.AcknowledgementFactory()
    client.force_login(admin)
    assert client.get(_url(Acknowledgement, "add")).status_code == 403
    response = client.get(_url(Acknowledgement, "change", acknowledgement.pk))
    assert response.context["has_change_permission"] is False


def test_observation_changelist_has_no_n_plus_1(client, admin, location_a, django_assert_max_num_queries):
    standards = factories.StandardFactory.create_batch(3)
    employees = factories.EmployeeFactory.create_batch(5, location=location_a)
    touchpoint = factories.TouchpointFactory()
    now = timezone.now()
    previous = None
    for i in range(50):
        employee = employees[i % len(employees)]
        previous = factories.ObservationFactory(
            standard=standards[i % len(standards)],
            location=location_a,
            team=employee.team,
            employee=employee,
            touchpoint=touchpoint,
            observed_at=now - timedelta(hours=i),
            supersedes=previous if i % 10 == 9 else None,
        )
    client.force_login(admin)

    with django_assert_max_num_queries(15):
        response = client.get(_url(Observation, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 50


def test_no_changelist_makes_more_queries_as_rows_grow(client, admin, location_a, location_b):
    _program_records(location_a)
    client.force_login(admin)

    def query_counts():
        counts = {}
        for model, _model_admin in PROGRAM_ADMINS:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(_url(model, "changelist")).status_code == 200
            counts[model._meta.label] = len(queries)
        return counts

    before = query_counts()
    _program_records(location_b)
    _program_records(factories.LocationFactory(code="CCC-01"))

    assert query_counts() == before


# --- people -------------------------------------------------------------------------------


def test_changing_an_employees_role_moves_them_to_the_role_group(client, admin, staff):
    employee = staff.employee
    client.force_login(admin)
    url = _url(Employee, "change", employee.pk)
    data = _form_data(client.get(url))
    data["role"] = Role.MANAGER

    response = client.post(url, data)

    assert response.status_code == 302
    assert list(staff.groups.values_list("name", flat=True)) == ["Managers"]


def test_creating_an_employee_on_the_user_page_gives_them_their_role_group(superuser_client, location_a):
    user = factories.UserFactory(username="newstarter")
    url = _url(get_user_model(), "change", user.pk)
    data = _form_data(superuser_client.get(url))
    data.update(
        {
            "employee-0-employee_number": "E90001",
            "employee-0-role": Role.ADMIN,
            "employee-0-location": str(location_a.pk),
            "employee-0-hired_on": timezone.localdate().isoformat(),
            "employee-0-active": "on",
        }
    )

    response = superuser_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.employee.employee_number == "E90001"
    assert list(user.groups.values_list("name", flat=True)) == ["Admins"]
    assert user.is_staff


def test_consequence_polarity_follows_its_action(superuser_client, location_a):
    data = _form_data(superuser_client.get(reverse("admin:consequences_consequence_add")))
    data.update(
        summary="Thank the Alpha Street team for a spotless quarter",
        action="recognition",
        subject_kind="location",
        location=str(location_a.pk),
    )
    response = superuser_client.post(reverse("admin:consequences_consequence_add"), data)
    assert response.status_code == 302
    assert Consequence.objects.get().polarity == "positive"


def test_completion_verdict_is_signed_by_the_admin(superuser_client):
    completion = factories.CompletionFactory(score=95)
    url = reverse("admin:training_completion_change", args=[completion.pk])
    data = _form_data(superuser_client.get(url))
    data["status"] = "verified"

    assert superuser_client.post(url, data).status_code == 302

    completion.refresh_from_db()
    assert completion.reviewed_by.username == "root"
    assert completion.reviewed_at is not None


# --- gap analysis and coverage --------------------------------------------------------------


def test_assessment_page_summarises_the_actions_of_its_ratings(superuser_client):
    action = factories.ActionItemFactory(title="Retrain the returns desk on refunds")

    response = superuser_client.get(
        reverse("admin:gap_analysis_assessment_change", args=[action.rating.assessment_id])
    )

    assert response.status_code == 200
    assert "Retrain the returns desk on refunds" in response.text
    assert reverse("admin:gap_analysis_actionitem_change", args=[action.pk]) in response.text


def test_an_action_added_on_a_rating_happens_where_the_assessment_was_made(superuser_client, location_a):
    rating = factories.RatingFactory(assessment__location=location_a)
    owner = factories.UserFactory()
    url = reverse("admin:gap_analysis_rating_change", args=[rating.pk])
    data = _form_data(superuser_client.get(url))
    data.update(
        {
            "actions-TOTAL_FORMS": "1",
            "actions-0-title": "Put a second person on the till at lunch",
            "actions-0-owner": str(owner.pk),
            "actions-0-due_on": timezone.localdate().isoformat(),
            "actions-0-status": "open",
        }
    )

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    assert rating.actions.get().location == location_a


def test_touchpoints_without_an_active_standard_can_be_listed_as_coverage_gaps(superuser_client):
    covered, gap, retired_only = factories.TouchpointFactory.create_batch(3)
    factories.StandardFactory().touchpoints.add(covered)
    factories.StandardFactory(status="retired").touchpoints.add(retired_only)

    response = superuser_client.get(reverse("admin:touchpoints_touchpoint_changelist") + "?covered=no")

    assert set(response.context["cl"].result_list) == {gap, retired_only}


def test_changing_a_members_role_on_the_team_page_moves_them_to_the_role_group(client, admin, staff):
    team = staff.employee.team
    client.force_login(admin)
    url = reverse("admin:organization_team_change", args=[team.pk])
    data = _form_data(client.get(url))
    data["members-0-role"] = Role.MANAGER

    response = client.post(url, data)

    assert response.status_code == 302
    assert list(staff.groups.values_list("name", flat=True)) == ["Managers"]
