"""Record an evaluation from a phone: who may, where, the items built from the standards, the
score and deviations the intake service computes, errors put back on the form, the result page."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from measurement.models import Deviation, Evaluation, Observation
from standards.models import Status
from tests import factories

NEW = reverse("evaluations:new")
ITEMS = reverse("evaluations:items")
LOCATION_FIELDS = reverse("evaluations:location-fields")


@pytest.fixture
def till(location_a):
    touchpoint = factories.TouchpointFactory(name="Checkout till", slug="till")
    touchpoint.locations.add(location_a)
    return touchpoint


@pytest.fixture
def greet(till):
    standard = factories.StandardFactory(
        code="GREET",
        title="Greet every customer",
        how="Eye contact, a smile, a hello.",
        weight=Decimal("2"),
        non_negotiable=True,
        target_rate=Decimal("100"),
    )
    standard.touchpoints.add(till)
    return standard


@pytest.fixture
def smile(till):
    standard = factories.StandardFactory(
        code="SMILE", title="Friendly manner", measure_kind="rating", comparator="gte", threshold=4
    )
    standard.touchpoints.add(till)
    return standard


@pytest.fixture
def wait(till):
    standard = factories.StandardFactory(
        code="WAIT",
        title="Short queue",
        measure_kind="numeric",
        comparator="lte",
        threshold=120,
        unit="seconds",
        weight=Decimal("3"),
    )
    standard.touchpoints.add(till)
    return standard


@pytest.fixture
def standards(greet, smile, wait):
    return [greet, smile, wait]


@pytest.fixture
def evaluator(staff):
    """The staff member, given the evaluator permission directly."""
    staff.user_permissions.add(Permission.objects.get(codename="record_evaluation"))
    return staff


def form_data(location, touchpoint, items, **head):
    """A POST as the page sends it: `items` maps each standard to its fields."""
    data = {
        "location": location.pk,
        "touchpoint": touchpoint.pk,
        "method": "mystery_shop",
        "evaluated_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "comment": "",
        "submission": str(uuid.uuid4()),
        **head,
    }
    for standard, fields in items.items():
        values = {"weight": f"{standard.weight.normalize():f}", "comment": "", **fields}
        if standard.non_negotiable and "critical" not in fields:
            values["critical"] = "on"
        data.update(
            {f"item-{standard.pk}-{name}": value for name, value in values.items() if value is not None}
        )
    return data


def all_pass(greet, smile, wait):
    """Items on which every standard passes; tests replace the ones they need to fail."""
    return {greet: {"passed": "true"}, smile: {"value": "5"}, wait: {"value": "90"}}


def weighted_score(earned, total):
    return (Decimal(100) * Decimal(earned) / Decimal(total)).quantize(Decimal("0.01"))


# --- access --------------------------------------------------------------------------------


@pytest.fixture
def evaluation_at_a(location_a, manager):
    return factories.EvaluationFactory(location=location_a, evaluator=manager)


def every_url(evaluation):
    return [NEW, ITEMS, LOCATION_FIELDS, reverse("evaluations:detail", args=[evaluation.pk])]


def test_anonymous_visitors_are_sent_to_login(client, evaluation_at_a):
    for url in every_url(evaluation_at_a):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_staff_without_the_evaluator_permission_gets_403(client, staff, evaluation_at_a, till):
    client.force_login(staff)
    for url in every_url(evaluation_at_a):
        assert client.get(url).status_code == 403, url
    assert client.post(NEW, {"location": staff.employee.location_id}).status_code == 403


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_open_the_form(client, request, role, location_a):
    client.force_login(request.getfixturevalue(role))
    response = client.get(NEW)
    assert response.status_code == 200
    assert "Record an evaluation" in response.content.decode()


@pytest.mark.parametrize("grant", ["user permission", "group"])
def test_staff_given_the_permission_records_at_their_location(client, staff, location_a, standards, grant):
    permission = Permission.objects.get(codename="record_evaluation")
    if grant == "group":
        group = Group.objects.create(name="Mystery shoppers")
        group.permissions.add(permission)
        staff.groups.add(group)
    else:
        staff.user_permissions.add(permission)
    client.force_login(staff)

    page = client.get(NEW).content.decode()
    # Their own location is the only choice, and already chosen.
    assert re.search(rf'<option value="{location_a.pk}" selected>', page)
    assert page.count("<option value=") - page.count('<option value="">') >= 1

    till = standards[0].touchpoints.get()
    response = client.post(NEW, form_data(location_a, till, all_pass(*standards)))
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302 and response.url == reverse("evaluations:detail", args=[evaluation.pk])
    assert evaluation.evaluator == staff and evaluation.location == location_a
    # They see the result of what they recorded, though it is about no one in particular.
    assert client.get(response.url).status_code == 200


def test_staff_with_the_permission_cannot_record_at_another_location(
    client, evaluator, location_b, standards, till
):
    client.force_login(evaluator)
    response = client.post(NEW, form_data(location_b, till, all_pass(*standards)))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["location"]
    assert not Evaluation.objects.exists() and not Observation.objects.exists()


def test_other_manager_cannot_choose_location_a(
    client, other_manager, location_a, location_b, standards, till
):
    client.force_login(other_manager)
    page = client.get(NEW).content.decode()
    assert f'<option value="{location_b.pk}"' in page and f'<option value="{location_a.pk}"' not in page

    response = client.post(NEW, form_data(location_a, till, all_pass(*standards)))
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["location"]
    assert "Choose one of your locations" in form.errors["location"][0]
    body = response.content.decode()
    assert 'href="#id_location_field"' in body and 'aria-describedby="id_location_error"' in body
    assert not Evaluation.objects.exists() and not Observation.objects.exists()
    assert not Deviation.objects.exists()


def test_the_result_page_of_another_location_answers_404(client, other_manager, evaluation_at_a):
    client.force_login(other_manager)
    assert client.get(reverse("evaluations:detail", args=[evaluation_at_a.pk])).status_code == 404


def test_an_evaluator_does_not_see_results_recorded_by_others(client, evaluator, evaluation_at_a):
    client.force_login(evaluator)
    assert client.get(reverse("evaluations:detail", args=[evaluation_at_a.pk])).status_code == 404


@pytest.mark.parametrize(
    ("role", "shown"), [("manager", True), ("admin", True), ("staff", False), ("evaluator", True)]
)
def test_the_navigation_offers_recording_to_those_allowed(client, request, role, shown, location_a):
    client.force_login(request.getfixturevalue(role))
    assert ("Record evaluation</a>" in client.get(reverse("standards:mine")).content.decode()) is shown


# --- building the form ---------------------------------------------------------------------


def test_the_items_partial_lists_exactly_the_active_standards_of_the_touchpoint(
    client, manager, standards, till
):
    for status in (Status.DRAFT, Status.RETIRED):
        factories.StandardFactory(code=f"OLD-{status}", status=status).touchpoints.add(till)
    factories.StandardFactory(code="ELSEWHERE").touchpoints.add(factories.TouchpointFactory())
    factories.StandardFactory(code="NOWHERE")
    client.force_login(manager)

    response = client.get(ITEMS, {"touchpoint": till.pk})
    assert response.status_code == 200
    items = response.context["items"]
    assert [item.standard.code for item in items] == ["GREET", "SMILE", "WAIT"]
    body = response.content.decode()
    assert body.count('<fieldset class="evaluation-item"') == 3
    for code in ("OLD-draft", "OLD-retired", "ELSEWHERE", "NOWHERE"):
        assert code not in body


def test_each_item_shows_its_standard_measure_weight_and_critical_flag(client, manager, standards, till):
    greet, smile, wait = standards
    client.force_login(manager)
    body = client.get(ITEMS, {"touchpoint": till.pk}).content.decode()

    assert "Greet every customer" in body and "Eye contact, a smile, a hello." in body
    # pass/fail radios; a 1–5 rating; a number with its unit and threshold
    assert f'name="item-{greet.pk}-passed" value="true"' in body
    assert f'name="item-{greet.pk}-passed" value="false"' in body
    assert all(f'name="item-{smile.pk}-value" value="{n}"' in body for n in range(1, 6))
    assert re.search(rf'<input type="text" name="item-{wait.pk}-value"[^>]*inputmode="decimal"', body)
    assert "seconds" in body and "Passes at ≤ 120 seconds." in body
    # weights pre-filled from the standards; critical pre-checked for the non-negotiable one
    assert re.search(rf'name="item-{greet.pk}-weight" value="2"', body)
    assert re.search(rf'name="item-{wait.pk}-weight" value="3"', body)
    assert re.search(rf'name="item-{greet.pk}-critical"[^>]*checked', body)
    assert not re.search(rf'name="item-{smile.pk}-critical"[^>]*checked', body)
    # each item is a fieldset with its legend
    assert body.count('<legend class="evaluation-item-legend">') == 3


def test_a_touchpoint_without_standards_says_what_to_do(client, manager, till):
    client.force_login(manager)
    body = client.get(ITEMS, {"touchpoint": till.pk}).content.decode()
    assert "No active standard covers this touchpoint" in body


def test_the_form_offers_only_what_is_at_the_chosen_location(client, manager, location_a, location_b, till):
    everywhere = factories.TouchpointFactory(name="Phone line", slug="phone")
    elsewhere = factories.TouchpointFactory(name="Drive-through", slug="drive")
    elsewhere.locations.add(location_b)
    team_a = factories.TeamFactory(name="Tills", location=location_a)
    team_b = factories.TeamFactory(name="Warehouse", location=location_b)
    colleague = factories.EmployeeFactory(location=location_a, team=team_a)
    stranger = factories.EmployeeFactory(location=location_b, team=None)
    client.force_login(manager)

    response = client.get(LOCATION_FIELDS, {"location": location_a.pk})
    form = response.context["form"]
    assert set(form.fields["touchpoint"].queryset) == {till, everywhere}
    teams = set(form.fields["team"].queryset)
    assert team_a in teams and team_b not in teams and {t.location for t in teams} == {location_a}
    assert colleague.employee_number in response.content.decode()
    assert stranger.employee_number not in response.content.decode()
    # A location outside the manager's scope offers nothing.
    form = client.get(LOCATION_FIELDS, {"location": location_b.pk}).context["form"]
    assert not form.fields["touchpoint"].queryset.exists() and not form.fields["team"].queryset.exists()


def test_changing_location_keeps_a_touchpoint_present_there_and_clears_the_items_otherwise(
    client, admin, location_a, location_b, till
):
    client.force_login(admin)
    kept = client.get(LOCATION_FIELDS, {"location": location_a.pk, "touchpoint": till.pk})
    assert kept.context["touchpoint"] == till and 'hx-swap-oob="true"' not in kept.content.decode()
    dropped = client.get(LOCATION_FIELDS, {"location": location_b.pk, "touchpoint": till.pk})
    assert dropped.context["touchpoint"] is None
    assert (
        'id="evaluation-items"' in dropped.content.decode()
        and 'hx-swap-oob="true"' in dropped.content.decode()
    )


def test_the_page_loads_htmx_from_local_static_files_and_wires_the_swaps(client, manager, location_a):
    client.force_login(manager)
    body = client.get(NEW).content.decode()
    assert re.search(r'<script src="/static/django_htmx/htmx-2[^"]*\.js"', body)
    assert f'hx-get="{ITEMS}"' in body and f'hx-get="{LOCATION_FIELDS}"' in body
    assert "style=" not in body and "<script>" not in body


@pytest.mark.parametrize("url", [NEW, ITEMS, LOCATION_FIELDS])
def test_pages_carry_no_inline_styles_scripts_or_template_comments(
    client, manager, location_a, standards, till, url
):
    client.force_login(manager)
    body = client.get(url, {"location": location_a.pk, "touchpoint": till.pk}).content.decode()
    assert "style=" not in body and "<script>" not in body and " on" + "change=" not in body
    assert "{#" not in body and "#}" not in body and "{%" not in body


# --- recording -----------------------------------------------------------------------------


def test_a_full_post_records_the_weighted_score(client, manager, location_a, standards, till):
    greet, smile, wait = standards
    team = factories.TeamFactory(name="Tills", location=location_a)
    client.force_login(manager)
    # SMILE (weight 1) rated 3 < 4 fails; WAIT's weight is raised to 4 for this evaluation.
    items = all_pass(*standards)
    items[smile] = {"value": "3", "comment": "Flat tone"}
    items[wait] = {"value": "95", "weight": "4"}
    response = client.post(NEW, form_data(location_a, till, items, team=team.pk, comment="Busy Saturday"))

    evaluation = Evaluation.objects.get()
    assert response.status_code == 302
    assert evaluation.score == weighted_score(2 + 4, 2 + 1 + 4) == Decimal("85.71")
    assert evaluation.passed is True and evaluation.critical_failed is False
    assert (evaluation.location, evaluation.team, evaluation.touchpoint) == (location_a, team, till)
    assert (evaluation.method, evaluation.evaluator, evaluation.comment) == (
        "mystery_shop",
        manager,
        "Busy Saturday",
    )
    observations = {o.standard.code: o for o in evaluation.observations.select_related("standard")}
    assert {code: (o.passed, o.weight, o.critical) for code, o in observations.items()} == {
        "GREET": (True, Decimal("2"), True),
        "SMILE": (False, Decimal("1"), False),
        "WAIT": (True, Decimal("4"), False),
    }
    assert observations["SMILE"].value == 3 and observations["SMILE"].comment == "Flat tone"
    assert all(o.source == "mystery_shop" and o.recorded_by == manager for o in observations.values())
    assert not Deviation.objects.exists()


def test_a_score_under_the_pass_mark_fails(client, manager, location_a, standards, till):
    greet, smile, wait = standards
    client.force_login(manager)
    items = all_pass(*standards)
    items[wait] = {"value": "300"}
    client.post(NEW, form_data(location_a, till, items))
    evaluation = Evaluation.objects.get()
    assert evaluation.score == weighted_score(2 + 1, 2 + 1 + 3) < settings.EVALUATION_PASS_MARK
    assert evaluation.passed is False and evaluation.critical_failed is False


def test_a_failed_critical_item_fails_the_evaluation_whatever_the_score(
    client, manager, location_a, standards, till
):
    greet, smile, wait = standards
    client.force_login(manager)
    items = all_pass(*standards)
    items[smile] = {"value": "2", "critical": "on"}
    client.post(NEW, form_data(location_a, till, items))

    evaluation = Evaluation.objects.get()
    assert evaluation.score == weighted_score(2 + 3, 6) >= settings.EVALUATION_PASS_MARK
    assert evaluation.critical_failed is True and evaluation.passed is False
    # SMILE is not non-negotiable: a failure, but no deviation.
    assert not Deviation.objects.exists()


def test_a_failed_non_negotiable_item_creates_a_deviation(client, manager, location_a, standards, till):
    greet, smile, wait = standards
    client.force_login(manager)
    items = all_pass(*standards)
    items[greet] = {"passed": "false", "comment": "No greeting at all"}
    response = client.post(NEW, form_data(location_a, till, items))

    evaluation = Evaluation.objects.get()
    deviation = Deviation.objects.get()
    assert deviation.observation.evaluation == evaluation
    assert (deviation.standard, deviation.location, deviation.status) == (greet, location_a, "open")
    # GREET was critical (non-negotiable, pre-checked): the whole evaluation fails.
    assert evaluation.critical_failed is True and evaluation.passed is False
    assert evaluation.score == weighted_score(1 + 3, 6)

    body = client.get(response.url).content.decode()
    assert "GREET" in body and "No greeting at all" in body
    assert "consequences inbox</a>" in body and "A critical item failed" in body
    assert f'href="{reverse("consequences:inbox")}"' in body


def test_the_result_page_shows_score_verdict_and_items(client, manager, location_a, standards, till):
    client.force_login(manager)
    greet, smile, wait = standards
    items = all_pass(*standards)
    items[smile] = {"value": "3"}
    response = client.post(NEW, form_data(location_a, till, items), follow=True)

    body = response.content.decode()
    score = weighted_score(5, 6)
    assert Evaluation.objects.get().score == score
    assert f"{score}%" in body and "weighted score" in body
    assert "5 of 6 weight points passed, over 3 items" in body
    assert ">Passed</span>" in body
    assert "No deviations" in body
    assert "Value 3" in body and "passes at ≥ 4" in body


def test_a_bad_numeric_value_keeps_the_input_and_names_the_item(client, manager, location_a, standards, till):
    greet, smile, wait = standards
    client.force_login(manager)
    items = all_pass(*standards)
    items[wait] = {"value": "1m30", "comment": "Queue of six"}
    items[smile] = {"value": "4", "weight": "2.5"}
    response = client.post(NEW, form_data(location_a, till, items))

    assert response.status_code == 200
    assert not Evaluation.objects.exists() and not Observation.objects.exists()
    body = response.content.decode()
    field_id = f"id_item-{wait.pk}-value"
    assert (
        f'href="#{field_id}_field" class="alert-link">Item 3 · WAIT Short queue, value (seconds)</a>' in body
    )
    assert "“1m30” is not a number" in body
    # What was typed is still there, everywhere.
    assert re.search(rf'name="item-{wait.pk}-value" value="1m30"[^>]*aria-invalid="true"', body)
    assert f'aria-describedby="{field_id}_helptext {field_id}_error"' in body
    assert f'id="{field_id}_error"' in body
    assert "Queue of six</textarea>" in body
    assert re.search(rf'name="item-{smile.pk}-value" value="4"[^>]*checked', body)
    assert f'name="item-{smile.pk}-weight" value="2.5"' in body
    assert re.search(rf'name="item-{greet.pk}-passed" value="true"[^>]*checked', body)


def test_a_missing_verdict_and_a_bad_weight_are_named_on_their_items(
    client, manager, location_a, standards, till
):
    greet, smile, wait = standards
    client.force_login(manager)
    items = all_pass(*standards)
    items[greet] = {"passed": None}
    items[smile] = {"value": "4", "weight": "0"}
    response = client.post(NEW, form_data(location_a, till, items))

    entry = response.context["entry"]
    assert entry.items[0].errors == {"passed": ["Choose passed or failed."]}
    assert entry.items[1].errors == {"weight": ["A weight is a number above 0."]}
    assert not entry.items[2].errors and not entry.form.errors
    body = response.content.decode()
    assert f'aria-describedby="id_item-{greet.pk}-passed_measure id_item-{greet.pk}-passed_error"' in body
    assert not Evaluation.objects.exists()


def test_a_time_in_the_future_is_named_once_on_the_evaluation(client, manager, location_a, standards, till):
    client.force_login(manager)
    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(NEW, form_data(location_a, till, all_pass(*standards), evaluated_at=later))

    form = response.context["form"]
    assert list(form.errors) == ["evaluated_at"] and len(form.errors["evaluated_at"]) == 1
    assert "in the future" in form.errors["evaluated_at"][0]
    assert not any(item.errors for item in response.context["entry"].items)
    assert f'value="{later}"' in response.content.decode()
    assert not Evaluation.objects.exists()


def test_a_team_of_another_location_is_refused(client, admin, location_a, location_b, standards, till):
    client.force_login(admin)
    elsewhere = factories.TeamFactory(name="Warehouse", location=location_b)
    response = client.post(NEW, form_data(location_a, till, all_pass(*standards), team=elsewhere.pk))
    assert list(response.context["form"].errors) == ["team"]
    assert not Evaluation.objects.exists()


def test_a_double_submit_records_once(client, manager, location_a, standards, till):
    client.force_login(manager)
    data = form_data(location_a, till, all_pass(*standards))
    first = client.post(NEW, data)
    second = client.post(NEW, data)
    assert Evaluation.objects.count() == 1 and Observation.objects.count() == 3
    assert first.url == second.url


def test_without_javascript_the_first_post_brings_the_items(client, manager, location_a, standards, till):
    client.force_login(manager)
    response = client.post(NEW, form_data(location_a, till, {}))
    assert response.status_code == 200 and not Evaluation.objects.exists()
    entry = response.context["entry"]
    assert [item.standard.code for item in entry.items] == ["GREET", "SMILE", "WAIT"]
    assert not entry.has_errors


def test_the_form_preselects_the_requested_touchpoint_and_shows_its_items(
    client, manager, location_a, standards, till
):
    client.force_login(manager)
    response = client.get(NEW, {"location": location_a.pk, "touchpoint": till.pk})
    assert [item.standard.code for item in response.context["entry"].items] == ["GREET", "SMILE", "WAIT"]
    assert re.search(rf'<option value="{till.pk}" selected>', response.content.decode())


# --- query counts --------------------------------------------------------------------------

QUERY_BUDGET = 12


def _standards_at(till, count):
    for number in range(count):
        kind = ("pass_fail", "rating", "numeric")[number % 3]
        measure = {"pass_fail": {}, "rating": {"comparator": "gte", "threshold": 4}}.get(
            kind, {"comparator": "lte", "threshold": 60, "unit": "seconds"}
        )
        standard = factories.StandardFactory(
            measure_kind=kind, non_negotiable=number % 4 == 0, target_rate=100, **measure
        )
        standard.touchpoints.add(till)


@pytest.mark.parametrize("count", [5, 40])
def test_the_form_page_query_count_is_fixed(
    client, manager, location_a, till, count, django_assert_max_num_queries
):
    _standards_at(till, count)
    factories.TeamFactory.create_batch(3, location=location_a)
    factories.EmployeeFactory.create_batch(5, location=location_a)
    client.force_login(manager)
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(NEW, {"location": location_a.pk, "touchpoint": till.pk})
    assert len(response.context["entry"].items) == count


@pytest.mark.parametrize("count", [5, 40])
def test_the_items_partial_query_count_is_fixed(
    client, evaluator, location_a, till, count, django_assert_max_num_queries
):
    _standards_at(till, count)
    client.force_login(evaluator)
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(ITEMS, {"touchpoint": till.pk, "location": location_a.pk})
    assert len(response.context["items"]) == count


@pytest.mark.parametrize("count", [5, 40])
def test_the_result_page_query_count_is_fixed(
    client, manager, location_a, till, count, django_assert_max_num_queries
):
    _standards_at(till, count)
    client.force_login(manager)
    page = client.get(NEW, {"location": location_a.pk, "touchpoint": till.pk})
    items = {}
    for item in page.context["entry"].items:
        # Every item fails: rated 1 of ≥ 4, timed at 600 of ≤ 60 seconds, or failed outright.
        failing = {"pass_fail": {"passed": "false"}, "rating": {"value": "1"}, "numeric": {"value": "600"}}
        items[item.standard] = failing[item.standard.measure_kind]
    response = client.post(NEW, form_data(location_a, till, items))
    assert Deviation.objects.count() == sum(1 for s in items if s.non_negotiable) > 0
    with django_assert_max_num_queries(QUERY_BUDGET):
        assert client.get(response.url).status_code == 200
