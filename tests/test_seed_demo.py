"""`manage.py seed_demo` builds a realistic, reproducible demo organisation; a second run adds nothing.

Seeding costs several seconds, so most tests read one demo built once for the module (the six
stores of the default demo, two months of evidence, rolled up as `rollup_scorecards --full` does),
inside a transaction rolled back at the end; each test still runs in its own savepoint. The story
the demo tells (catalogue.DEMO_ROLES) is checked on the last 30 days, as the dashboards show it.
"""

from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction
from django.db.models import Count, Max, Min, Q
from django.http import HttpRequest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from audits.access import is_external_evaluator
from cases.models import COMPLAINT_ORIGINS, OPEN_STATUSES, Case, CaseEvent, CaseOrigin, CaseStatus, EventKind
from consequences.models import Action, ConsequenceStatus
from gap_analysis.models import ActionItem, ActionStatus
from measurement import stats
from measurement.models import (
    Deviation,
    DeviationStatus,
    Evaluation,
    Feedback,
    Grain,
    Observation,
    PeriodKind,
    Scorecard,
)
from measurement.selectors.rolling import RollingPeriod, rolling_scorecards
from measurement.services.rollup import scorecards_rollup
from organization.models import Employee, Location, Role, Team
from servicedesk.demo import catalogue
from servicedesk.demo.catalogue import DEMO_ROLES
from standards.models import MeasureKind, Standard, Status
from touchpoints.models import Touchpoint
from training.models import Assignment, Completion, CompletionStatus

UNTIL = date(2025, 6, 30)  # a fixed anchor: the same options give the same data whatever today is
# The default demo's six stores, each with its part in the story; 60 days, so that the last 30
# can be compared with the 30 before.
SIZES = {"locations": 6, "days": 60, "observations_per_day": 20, "feedback_per_day": 4}
SITES = SIZES["locations"] + 1  # the stores and the head office
TINY = {"locations": 1, "days": 7, "observations_per_day": 10, "feedback_per_day": 2}
LAST_30_DAYS = RollingPeriod.ending(UNTIL - timedelta(days=1), 30)
FAST_HASHER = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])


def seed(*, seed: int = 42, **sizes) -> str:
    options = {**SIZES, **sizes}
    out = StringIO()
    with FAST_HASHER:
        call_command(
            "seed_demo",
            f"--locations={options['locations']}",
            f"--days={options['days']}",
            f"--observations-per-day={options['observations_per_day']}",
            f"--feedback-per-day={options['feedback_per_day']}",
            f"--seed={seed}",
            f"--until={UNTIL:%Y-%m-%d}",
            stdout=out,
        )
    return out.getvalue()


@pytest.fixture(scope="module")
def demo_output(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        # Marked as a test case's own (as django.test.TestCase does), so that the rollup's durable
        # transaction may run inside it as a savepoint.
        atomic._from_testcase = True
        atomic.__enter__()
        try:
            output = seed()
            scorecards_rollup(full=True)
            yield output
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def demo(demo_output, db):
    """The module's demo, in this test's savepoint."""
    yield demo_output
    # `flush` (in the reproducibility test) recreates content types with new ids; the rollback
    # restores the old ones, so the cache must not keep the new.
    ContentType.objects.clear_cache()


def model_counts() -> dict[str, int]:
    labels = ("organization", "touchpoints", "gap_analysis", "standards", "training", "measurement", "cases")
    models = [m for label in (*labels, "consequences") for m in apps.get_app_config(label).get_models()]
    models += [get_user_model(), Standard.history.model]
    return {m._meta.label: m.objects.count() for m in models}


def evidence_fingerprint() -> list[tuple]:
    observations = Observation.objects.order_by("external_id").values_list(
        "external_id", "standard__code", "location__code", "employee__employee_number", "passed", "value",
        "observed_at",
    )  # fmt: skip
    feedback = Feedback.objects.order_by("external_id").values_list(
        "external_id", "touchpoint__slug", "location__code", "csat", "nps", "comment", "submitted_at"
    )
    deviations = Deviation.objects.order_by("observation__external_id").values_list(
        "observation__external_id", "status", "closed_at"
    )
    # Cases by the answer or complaint behind them (their ids depend on the order intake met them).
    cases = Case.objects.order_by("feedback__external_id", "external_id").values_list(
        "feedback__external_id", "external_id", "status", "severity", "category__name", "owner__employee_number",
        "opened_at", "acknowledged_at", "resolved_at", "closed_at", "escalation_level", "recovered",
    )  # fmt: skip
    events = CaseEvent.objects.order_by("case__feedback__external_id", "case__external_id", "at", "kind").values_list(
        "case__feedback__external_id", "case__external_id", "kind", "at", "to_status", "text", "key"
    )  # fmt: skip
    return [*observations, *feedback, *deviations, *cases, *events]


def pass_rates_by_location() -> dict[str, float]:
    rows = Observation.objects.values("location__code").annotate(
        n=Count("pk"), passed=Count("pk", filter=Q(passed=True))
    )
    return {row["location__code"]: row["passed"] / row["n"] for row in rows}


def site_specs(stores: int) -> list[catalogue.SiteSpec]:
    return [catalogue.HEAD_OFFICE, *(catalogue.store_spec(p) for p in range(1, stores + 1))]


def location_scorecards(period: RollingPeriod) -> dict[str, Scorecard]:
    cards = rolling_scorecards(Scorecard.objects.filter(grain=Grain.LOCATION), period)
    codes = dict(Location.objects.values_list("pk", "code"))
    return {codes[card.location_id]: card for card in cards}


def funnel(period: RollingPeriod) -> dict[str, stats.FunnelPoint]:
    """Every location of the period on the funnel plot around the pooled rate."""
    cards = location_scorecards(period)
    rows = [(code, card.passed, card.observations) for code, card in cards.items()]
    return {point.label: point for point in stats.funnel_points(rows)}


def weekly_signals(code: str) -> list[list[int]]:
    """The Western Electric rules each week of the location's p-chart completes."""
    weeks = Scorecard.objects.filter(
        grain=Grain.LOCATION, location__code=code, period_kind=PeriodKind.WEEK, observations__gt=0
    ).order_by("period_start")
    return stats.p_chart([(week.passed, week.observations) for week in weeks]).flags


def test_it_builds_the_sizes_asked_for(demo):
    assert Location.objects.count() == SITES
    stores = SIZES["locations"]
    assert Team.objects.count() == stores * len(catalogue.STORE_TEAMS) + len(catalogue.HEAD_OFFICE_TEAMS)
    assert Employee.objects.count() == (
        stores * len(catalogue.STORE_ROSTER) + len(catalogue.HEAD_OFFICE_ROSTER)
    )
    assert Touchpoint.objects.count() == len(catalogue.TOUCHPOINTS)
    assert Standard.objects.count() == len(catalogue.STANDARDS)
    assert "Observations" in demo and "Demo logins" in demo


def test_each_location_gets_its_volume_times_the_options_per_day(demo):
    # The audits' own observations come on top, at the audited locations (see the demo audit tests below).
    evidence = Observation.objects.filter(evaluation__audit__isnull=True)
    observed = dict(evidence.values_list("location__code").annotate(n=Count("pk")))
    answered = dict(Feedback.objects.values_list("location__code").annotate(n=Count("pk")))

    for spec in site_specs(SIZES["locations"]):
        expected = SIZES["days"] * SIZES["observations_per_day"] * spec.volume
        if (SIZES["observations_per_day"] * spec.volume).is_integer():
            assert observed[spec.code] == expected, spec.code
        else:  # a fraction a day: some days one more
            assert 0 < observed.get(spec.code, 0) < expected + SIZES["days"], spec.code
        assert answered.get(spec.code, 0) <= SIZES["days"] * (SIZES["feedback_per_day"] * spec.volume + 1)
    assert observed[DEMO_ROLES["strongest"]] == 2 * observed[DEMO_ROLES["weakest"]]  # a flagship


def test_the_default_demo_holds_about_one_ordinary_store_a_location():
    # The volumes of the head office and the default six stores add up to about seven ordinary
    # stores, so --observations-per-day keeps meaning what it meant: per location, on average.
    total = sum(spec.volume for spec in site_specs(6))

    assert 6.5 <= total <= 7.5
    assert {spec.code for spec in site_specs(6)} >= set(DEMO_ROLES.values())


def test_the_contact_centre_is_measured_by_qa_reviews(demo):
    head_office = Observation.objects.filter(location__code=catalogue.HEAD_OFFICE.code)
    reviewed = head_office.filter(evaluation__method="qa_review")

    assert reviewed.count() >= 0.25 * head_office.count()
    assert not Evaluation.objects.filter(
        location__code=catalogue.HEAD_OFFICE.code, method="mystery_shop"
    ).exists()


def test_the_weakest_store_is_below_its_target_and_the_funnel_over_the_last_30_days(demo):
    cards = location_scorecards(LAST_30_DAYS)
    weakest = cards[DEMO_ROLES["weakest"]]

    assert weakest.pass_rate_high < weakest.target_rate
    assert funnel(LAST_30_DAYS)[DEMO_ROLES["weakest"]].below998
    judged = [code for code, card in cards.items() if card.observations >= settings.MIN_EVIDENCE]
    assert min(judged, key=lambda code: cards[code].pass_rate) == DEMO_ROLES["weakest"]


def test_the_weakest_store_leaves_deviations_and_a_gap_action_overdue(demo):
    code = DEMO_ROLES["weakest"]
    waiting = Deviation.objects.filter(
        location__code=code,
        standard__non_negotiable=True,
        status=DeviationStatus.OPEN,
        corrective_action__status=ConsequenceStatus.PROPOSED,
        corrective_action__due_on__lt=UNTIL,
    )
    overdue = ActionItem.objects.filter(location__code=code, due_on__lt=UNTIL).exclude(
        status=ActionStatus.DONE
    )

    assert waiting.count() >= 3
    assert overdue.exists()


def test_the_strongest_store_leads_the_league_over_the_last_30_days(demo):
    cards = location_scorecards(LAST_30_DAYS)
    strongest = cards.pop(DEMO_ROLES["strongest"])

    assert strongest.pass_rate_low > max(card.pass_rate_low for card in cards.values())
    assert strongest.target_met
    assert funnel(LAST_30_DAYS)[DEMO_ROLES["strongest"]].above998


@pytest.mark.parametrize("role, better", [("improving", True), ("declining", False)])
def test_a_trend_shows_in_the_last_30_days_and_on_the_weekly_chart(demo, role, better):
    code = DEMO_ROLES[role]
    now = location_scorecards(LAST_30_DAYS)[code]
    before = location_scorecards(LAST_30_DAYS.previous())[code]

    # The intervals of the two spans do not even overlap.
    if better:
        assert now.pass_rate_low > before.pass_rate_high
    else:
        assert now.pass_rate_high < before.pass_rate_low
    assert any(weekly_signals(code))


def test_steady_stores_show_no_signal_on_the_weekly_chart(demo):
    assert not any(weekly_signals(DEMO_ROLES["strongest"]))
    assert not any(weekly_signals(DEMO_ROLES["weakest"]))


def test_the_small_store_has_too_little_evidence_over_the_last_30_days(demo):
    small = location_scorecards(LAST_30_DAYS)[DEMO_ROLES["small"]]

    assert 0 < small.observations < settings.MIN_EVIDENCE


def test_evidence_covers_the_days_before_until(demo):
    bounds = Observation.objects.aggregate(first=Min("observed_at"), last=Max("observed_at"))

    first, last = (timezone.localdate(bounds[key]) for key in ("first", "last"))
    assert (first, last) == (UNTIL - timedelta(days=SIZES["days"]), UNTIL - timedelta(days=1))


def test_a_second_run_adds_nothing(demo):
    before = model_counts()

    output = seed()

    assert model_counts() == before
    assert "nothing added" in output


def test_another_store_later_adds_only_that_store(demo):
    before = set(Observation.objects.values_list("external_id", "passed"))
    known = list(Observation.objects.values_list("pk", flat=True))  # audit items have no external id
    added = catalogue.store_spec(SIZES["locations"] + 1)

    seed(locations=SIZES["locations"] + 1)

    assert Location.objects.count() == SITES + 1
    after = set(Observation.objects.values_list("external_id", "passed"))
    assert after > before
    new = Observation.objects.exclude(pk__in=known)
    assert set(new.values_list("location__code", flat=True)) == {added.code}


def flush_inside_the_test_transaction() -> None:
    # PostgreSQL refuses TRUNCATE while deferred foreign-key checks are pending: run them first.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_the_same_seed_gives_the_same_evidence_and_another_seed_other_evidence(demo):
    # A tiny demo, three times over: the module's would cost three full builds.
    flush_inside_the_test_transaction()
    seed(**TINY)
    first = evidence_fingerprint()
    flush_inside_the_test_transaction()
    seed(**TINY)
    again = evidence_fingerprint()
    flush_inside_the_test_transaction()
    seed(seed=43, **TINY)
    other = evidence_fingerprint()

    assert first and again == first
    assert other != first
    assert Case.objects.exists()


def test_locations_really_differ(demo):
    rates = pass_rates_by_location()
    del rates[DEMO_ROLES["small"]]  # a handful of observations: any rate at all

    assert max(rates.values()) - min(rates.values()) >= 0.10
    assert rates[DEMO_ROLES["strongest"]] == max(rates.values())
    assert rates[DEMO_ROLES["weakest"]] == min(rates.values())


def test_customers_are_happier_at_the_strong_store(demo):
    def csat(code):
        answers = Feedback.objects.filter(location__code=code, csat__isnull=False)
        return answers.filter(csat__gte=4).count() / answers.count()

    assert csat(DEMO_ROLES["strongest"]) > csat(DEMO_ROLES["weakest"])


def test_demo_logins_can_sign_in_with_their_roles(demo, client):
    user_model = get_user_model()

    with FAST_HASHER:
        for login in catalogue.DEMO_LOGINS:
            # django-axes checks every authentication against a request (its documented way for the test client).
            signed_in = client.login(
                request=HttpRequest(), username=login.username, password=catalogue.DEMO_PASSWORD
            )
            assert signed_in, login.username
            client.logout()
    admin = user_model.objects.get(username="admin")
    manager = Employee.objects.get(user__username="manager")
    staff = Employee.objects.get(user__username="staff")
    first_store = Location.objects.get(code=catalogue.STORES[0].code)
    assert admin.is_superuser and admin.is_staff and admin.employee.role == Role.ADMIN
    assert manager.role == Role.MANAGER and list(manager.managed_locations.all()) == [first_store]
    assert staff.role == Role.STAFF and staff.location == first_store
    shopper = user_model.objects.get(username=catalogue.MYSTERY_SHOPPER.username)
    assert is_external_evaluator(shopper) and not hasattr(shopper, "employee")
    with FAST_HASHER:
        assert client.login(
            request=HttpRequest(), username=shopper.username, password=catalogue.DEMO_PASSWORD
        )
    logins = [d.username for d in (*catalogue.DEMO_LOGINS, catalogue.MYSTERY_SHOPPER)]
    others = user_model.objects.exclude(username__in=logins)
    assert others.exists() and not any(user.has_usable_password() for user in others)


def test_every_team_is_led_by_someone_at_its_location(demo):
    for team in Team.objects.all():
        leads = list(team.managers.values_list("employee__location", flat=True))
        assert leads == [team.location_id], team


def test_every_deviation_is_a_failed_observation_of_a_non_negotiable_standard(demo):
    deviations = Deviation.objects.select_related("observation", "standard")

    assert deviations.exists()
    for deviation in deviations:
        observation = deviation.observation
        assert not observation.passed and observation.standard.non_negotiable
        assert (deviation.standard_id, deviation.location_id) == (
            observation.standard_id,
            observation.location_id,
        )
        assert (deviation.status == DeviationStatus.CLOSED) == (deviation.closed_at is not None)
    failed = Observation.objects.filter(standard__non_negotiable=True, passed=False)
    assert failed.count() == deviations.count()


def test_deviations_are_dated_when_observed_and_answered_by_a_corrective_action(demo):
    deviations = Deviation.objects.select_related("observation", "corrective_action")

    assert deviations.filter(status=DeviationStatus.CLOSED).exists()
    for deviation in deviations:
        action = deviation.corrective_action  # proposed by the rules engine
        assert deviation.detected_at == deviation.observation.observed_at
        assert action.action == Action.CORRECTIVE_ACTION and action.rule is not None
        if deviation.status == DeviationStatus.CLOSED:
            assert action.status == ConsequenceStatus.CLOSED and action.closure_note
            assert deviation.detected_at < action.approved_at < action.delivered_at < action.closed_at
            assert action.closed_at == deviation.closed_at
        else:
            assert action.status == ConsequenceStatus.PROPOSED


def test_a_revised_standard_is_acknowledged_again(demo):
    revised = next(spec for spec in catalogue.STANDARDS if spec.previous_behaviour)
    standard = Standard.objects.get(code=revised.code)

    assert standard.version == 2 and standard.behaviour == revised.behaviour
    assert list(standard.history.order_by("history_date").values_list("version", flat=True)) == [1, 2]
    accepted = standard.acknowledgements
    assert accepted.filter(version=1, behaviour_accepted__contains=revised.previous_behaviour).exists()
    assert accepted.filter(version=2, behaviour_accepted__contains=revised.behaviour).exists()


def test_most_but_not_all_employees_acknowledged_the_standards_for_everyone(demo):
    for_everyone = Standard.objects.filter(status=Status.ACTIVE, teams=None)
    wanted = for_everyone.count() * Employee.objects.count()

    current = sum(s.acknowledgements.filter(version=s.version).count() for s in for_everyone)

    assert 0.75 * wanted < current < wanted


def test_generated_evidence_passes_validation(demo):
    # Every kind of row the generator makes: each standard's first observations, and feedback.
    for standard in Standard.objects.filter(observations__isnull=False).distinct():
        for observation in standard.observations.select_related("team", "employee", "location")[:5]:
            observation.full_clean()
    for feedback in Feedback.objects.all()[:50]:
        feedback.full_clean()
    measured = Observation.objects.exclude(standard__measure_kind=MeasureKind.PASS_FAIL)
    assert measured.exists() and not measured.filter(value__isnull=True).exists()
    for observation in measured.select_related("standard"):
        assert observation.standard.passes(observation.value) == observation.passed


def test_evaluations_are_scored_from_their_items(demo):
    # An audit's evaluation is scored by its template's sections and weights (test_the_demo_audits_are_scored_by_their_template below).
    evaluations = Evaluation.objects.filter(audit__isnull=True).prefetch_related("observations")

    assert {e.method for e in evaluations} == {"mystery_shop", "audit", "qa_review"}
    for evaluation in evaluations:
        items = list(evaluation.observations.all())
        weights = sum(o.weight for o in items)
        score = round(100 * sum(o.weight for o in items if o.passed) / weights, 2)
        critical_failed = any(o.critical and not o.passed for o in items)
        assert evaluation.score == score
        assert evaluation.critical_failed == critical_failed
        assert evaluation.passed == (score >= settings.EVALUATION_PASS_MARK and not critical_failed)


def test_training_shows_every_status(demo):
    completions = Completion.objects.all()

    for completion in completions.exclude(reviewed_at=None):
        assert completion.logged_at < completion.reviewed_at

    assert completions.filter(status=CompletionStatus.VERIFIED, expires_on__gt=UNTIL).exists()
    assert completions.filter(status=CompletionStatus.LOGGED).exists()
    assert completions.filter(status=CompletionStatus.REJECTED).exclude(rejection_reason="").exists()
    assert completions.filter(expires_on__lte=UNTIL).exists()
    done = set(completions.values_list("employee", "course"))
    missing = [a for a in Assignment.objects.all() if (a.employee_id, a.course_id) not in done]
    assert any(a.due_on < UNTIL for a in missing), "some training should be overdue"


def test_most_but_not_all_touchpoints_are_covered(demo):
    covered = Touchpoint.objects.filter(standards__status=Status.ACTIVE).distinct()
    uncovered = Touchpoint.objects.exclude(pk__in=covered)

    assert 1 <= uncovered.count() <= 2
    assert covered.count() >= 20


def test_the_catalogue_covers_the_whole_programme():
    active = [s for s in catalogue.STANDARDS if s.status == Status.ACTIVE]
    assert len(active) >= 25
    assert {s.measure.kind for s in active} == set(MeasureKind.values)
    assert sum(s.non_negotiable for s in active) >= 3
    assert {s.status for s in catalogue.STANDARDS} == set(Status.values)
    assert len(catalogue.COURSES) >= 8
    assert len({c.delivery_method for c in catalogue.COURSES}) == 5
    assert any(c.refresher_interval_days is None for c in catalogue.COURSES)
    assert len(catalogue.ASSESSMENTS) >= 10


# --- cases ---------------------------------------------------------------------------------

# The demo's present: the end of the last day of evidence; every case's history lies before it.
HORIZON = datetime.combine(UNTIL, time(), timezone.get_default_timezone())


def demo_feedback_cases():
    return Case.objects.filter(feedback__external_id__startswith="demo-fb-")


def test_every_answer_a_rule_matches_has_one_case_and_no_other_answer_has(demo):
    answers = Feedback.objects.filter(external_id__startswith="demo-fb-")
    matching = answers.filter(Q(csat__lte=2) | Q(nps__lte=6, contact_consent=True))

    assert matching.exists()
    assert set(demo_feedback_cases().values_list("feedback", flat=True)) == set(
        matching.values_list("pk", flat=True)
    )
    assert not demo_feedback_cases().exclude(origin=CaseOrigin.FEEDBACK_RULE).exists()
    # Contact details only where the customer agreed.
    assert not Case.objects.filter(contact_consent=False).exclude(contact_email="").exists()
    assert Case.objects.filter(contact_consent=True).exclude(contact_email="").exists()


def test_cases_hold_every_status_and_the_last_days_are_still_open(demo):
    assert set(Case.objects.values_list("status", flat=True)) == set(CaseStatus.values)
    recent = Case.objects.filter(opened_at__gte=HORIZON - timedelta(days=2))
    assert recent.filter(status__in=OPEN_STATUSES).exists()
    old = demo_feedback_cases().filter(opened_at__lt=HORIZON - timedelta(days=20))
    assert old.filter(status=CaseStatus.CLOSED).count() > 0.8 * old.count()


def test_case_histories_lie_in_the_past_in_order_and_follow_the_transitions(demo):
    cases = Case.objects.prefetch_related("events")

    for case in cases:
        events = list(case.events.all())
        assert events[0].kind == EventKind.OPENED and events[0].at == case.opened_at, case
        assert all(case.opened_at <= event.at < HORIZON for event in events), case
        if case.feedback_id:
            assert case.opened_at == case.feedback.submitted_at
        status = CaseStatus.NEW
        for event in (e for e in events if e.kind == EventKind.STATUS):
            assert event.from_status == status, case
            status = event.to_status
        assert status == case.status, case
        if case.status != CaseStatus.NEW:
            assert case.acknowledged_at is not None and case.acknowledged_at >= case.opened_at
        if case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            assert case.resolution_summary and case.resolved_at >= case.acknowledged_at
        case.full_clean()


def test_some_cases_breached_and_each_breach_was_escalated_once(demo):
    late = Case.objects.filter(acknowledged_at__gt=models.F("acknowledge_due_at"))
    overdue = Case.objects.filter(resolved_at__gt=models.F("resolve_due_at"))

    assert late.exists() and overdue.exists()
    for case in late:
        assert case.events.filter(kind=EventKind.ESCALATED, key="escalated:acknowledge").count() == 1
        assert case.escalation_level > 0
    for case in overdue:
        assert case.events.filter(kind=EventKind.ESCALATED, key="escalated:resolve").count() == 1
    on_time = Case.objects.filter(acknowledged_at__lte=models.F("acknowledge_due_at"))
    assert not CaseEvent.objects.filter(case__in=on_time, key="escalated:acknowledge").exists()


def test_the_weakest_store_is_slow_and_breaches_more_the_strongest_is_quick(demo):
    def breached_share(code):
        cases = demo_feedback_cases().filter(location__code=code, acknowledged_at__isnull=False)
        late = cases.filter(
            Q(acknowledged_at__gt=models.F("acknowledge_due_at"))
            | Q(resolved_at__gt=models.F("resolve_due_at"))
        )
        return late.count() / cases.count()

    def median_hours_to_acknowledge(code):
        cases = demo_feedback_cases().filter(location__code=code, acknowledged_at__isnull=False)
        hours = sorted((c.acknowledged_at - c.opened_at).total_seconds() / 3600 for c in cases)
        return hours[len(hours) // 2]

    weakest, strongest = DEMO_ROLES["weakest"], DEMO_ROLES["strongest"]
    assert breached_share(weakest) > 2 * breached_share(strongest)
    assert median_hours_to_acknowledge(weakest) > 2 * median_hours_to_acknowledge(strongest)


def test_customers_hear_back_and_some_answer_the_follow_up(demo):
    messages = CaseEvent.objects.filter(kind=EventKind.MESSAGE)
    assert messages.exists()
    assert not messages.filter(case__contact_email="").exists()
    assert set(messages.values_list("recipient", flat=True)) <= set(
        Case.objects.values_list("contact_email", flat=True)
    )
    answered = Case.objects.filter(follow_up_answered_at__isnull=False)
    assert answered.exists()
    for case in answered:
        assert case.recovered == (case.follow_up_csat >= 4)
        assert case.resolved_at < case.follow_up_answered_at < HORIZON
        assert case.events.filter(kind=EventKind.FOLLOW_UP).count() == 1


def test_complaints_taken_by_staff_are_theirs_until_handed_over(demo):
    complaints = Case.objects.filter(origin__in=COMPLAINT_ORIGINS).select_related("logged_by", "owner")

    assert complaints.count() == len(catalogue.COMPLAINTS)
    for case in complaints:
        spec = next(s for s in catalogue.COMPLAINTS if case.external_id == f"demo-case-{s.key}")
        assert case.status == spec.status
        handed = case.events.filter(kind=EventKind.ASSIGNED).exists()
        assert handed == (case.owner != case.logged_by), case
        assert case.events.first().actor == case.logged_by.user


def test_resolved_cases_link_gap_actions_and_some_published_an_improvement(demo):
    linked = Case.objects.filter(action__isnull=False)
    published = linked.filter(action__published=True, action__feedback__isnull=False)

    assert linked.count() >= 5
    assert published.count() >= 2
    assert not linked.filter(status__in=[CaseStatus.NEW, CaseStatus.ACKNOWLEDGED]).exists()
    for case in linked:
        assert case.events.filter(kind=EventKind.LINKED_ACTION).count() == 1
        assert case.action.location_id == case.location_id


@pytest.mark.parametrize(
    "arguments",
    [
        ["--locations=0"],
        ["--days=0"],
        ["--observations-per-day=0"],
        ["--until=2999-01-01"],
        ["--until=soon"],
        ["--until=2000-01-30", "--days=30"],  # the first day would lie before INTAKE_EARLIEST
    ],
)
def test_bad_options_are_refused_with_the_option_named(db, arguments):
    before = model_counts()

    with pytest.raises(CommandError, match="--"):
        call_command("seed_demo", *arguments, stdout=StringIO())

    assert model_counts() == before


# --- The audit programme of the demo ---------------------------------------------------------


def test_the_demo_plans_three_templates_with_audits_done_late_missed_and_in_progress(demo):
    from audits.models import Audit, AuditStatus, AuditTemplate, Occurrence, OccurrenceStatus, TemplateStatus

    published = AuditTemplate.objects.filter(status=TemplateStatus.PUBLISHED)
    assert set(published.values_list("method", flat=True)) == {"mystery_shop", "qa_review", "self_assessment"}
    # The mystery shop was changed along the way: its audits keep the version they were done with.
    assert AuditTemplate.objects.filter(status=TemplateStatus.RETIRED).exists()
    assert Audit.objects.filter(
        template__status=TemplateStatus.RETIRED, status=AuditStatus.SUBMITTED
    ).exists()
    statuses = set(Occurrence.objects.values_list("status", flat=True))
    assert {
        OccurrenceStatus.DONE,
        OccurrenceStatus.LATE,
        OccurrenceStatus.MISSED,
        OccurrenceStatus.OPEN,
    } <= statuses
    assert Audit.objects.filter(status=AuditStatus.DRAFT).exists()
    # Each submitted audit's occurrence was done, on time or late; a missed one has no audit.
    for audit in Audit.objects.filter(status=AuditStatus.SUBMITTED).select_related("occurrence")[:200]:
        assert audit.occurrence.status in (OccurrenceStatus.DONE, OccurrenceStatus.LATE)
        assert audit.submitted_at <= audit.occurrence.closes_at
    assert not Occurrence.objects.filter(status=OccurrenceStatus.MISSED, audit__isnull=False).exists()


def test_the_demo_audits_are_scored_by_their_template(demo):
    from audits.models import Audit, AuditStatus
    from audits.services.scoring import Form, audit_score
    from audits.services.submission import given_answers

    audits = Audit.objects.filter(status=AuditStatus.SUBMITTED).select_related("template", "evaluation")
    assert audits.count() >= 10
    forms = {}
    for audit in audits.order_by("pk")[:60]:
        form = forms.setdefault(audit.template_id, Form.load(audit.template))
        score = audit_score(form, given_answers(audit))
        assert audit.evaluation.score == score.score, audit
        assert audit.evaluation.passed == score.passed, audit


def test_the_mystery_shopper_sees_only_their_assigned_visits(demo, client):
    from audits.access import audits_for, occurrences_for
    from audits.models import Occurrence

    shopper = get_user_model().objects.get(username=catalogue.MYSTERY_SHOPPER.username)
    visible = occurrences_for(shopper)
    assert visible.exists() and visible.count() < Occurrence.objects.count()
    assert set(visible.values_list("schedule__template__method", flat=True)) == {"mystery_shop"}
    assert audits_for(shopper).exists() and not audits_for(shopper).exclude(auditor=shopper).exists()
    client.force_login(shopper)
    assert client.get(reverse("home")).url == reverse("audits:mine")
    assert client.get(reverse("measurement:scorecards")).status_code == 403


def test_the_missed_audit_rule_proposes_a_corrective_action_wherever_two_were_missed_in_a_quarter(demo):
    from audits.models import Occurrence, OccurrenceStatus
    from consequences.models import Condition, Consequence, Rule
    from consequences.services import rules_evaluate
    from measurement.services.rollup import period_start

    rule = Rule.objects.get(condition=Condition.AUDITS_MISSED)
    assert (rule.missed_at_least, rule.period_kind, rule.action) == (2, "quarter", Action.CORRECTIVE_ACTION)
    rules_evaluate(conditions=[Condition.AUDITS_MISSED], today=UNTIL)

    # Counted here from the occurrences themselves: the quarter of UNTIL and the one before.
    judged = {
        period_start("quarter", UNTIL),
        period_start("quarter", period_start("quarter", UNTIL) - timedelta(days=1)),
    }
    counts = {}
    for location, due in Occurrence.objects.filter(status=OccurrenceStatus.MISSED).values_list(
        "location__code", "due_at"
    ):
        quarter = period_start("quarter", timezone.localtime(due).date())
        if quarter in judged:
            counts[(location, quarter)] = counts.get((location, quarter), 0) + 1
    expected = {key for key, n in counts.items() if n >= 2}
    actions = Consequence.objects.filter(rule=rule).select_related("location")
    assert {(action.location.code, action.period_start) for action in actions} == expected
    for action in actions:
        assert action.notes.count("(due ") == counts[(action.location.code, action.period_start)]
