"""Scorecard rollups: every grain against an independent count, periods in the organisation's time
zone, incremental runs equal to a full rebuild, corrections, failures and the query budget.

Run on SQLite (default) and on PostgreSQL:
DATABASE_URL=postgres://postgres@127.0.0.1:5432/servicedesk_rollup .venv/bin/python -m pytest tests/test_rollup.py
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from measurement import stats
from measurement.models import Feedback, Observation, RollupState, Scorecard
from measurement.services import rollup
from measurement.services.rollup import scorecards_rollup
from measurement.signals import scorecards_rolled_up
from measurement.tasks import rollup_scorecards
from tests import factories

ALL_GRAINS = {"org", "location", "team", "employee", "standard", "touchpoint", "location_standard"}
FEEDBACK_GRAINS = {"org", "location", "touchpoint"}
ONE_STANDARD_GRAINS = {"standard", "location_standard"}
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)

# Every column the rollup computes (not the id, not computed_at).
SCORECARD_COLUMNS = [
    f.attname for f in Scorecard._meta.concrete_fields if f.attname not in ("id", "computed_at")
]


# --------------------------------------------------------------------------- the independent count


def local_period_starts(moment: datetime, tz: ZoneInfo) -> dict[str, date]:
    """Period starts of a UTC timestamp, worked out here without the rollup's helpers."""
    day = moment.astimezone(tz).date()
    iso_year, iso_week, _ = day.isocalendar()
    return {
        "day": day,
        "week": date.fromisocalendar(iso_year, iso_week, 1),
        "month": date(day.year, day.month, 1),
        "quarter": date(day.year, (day.month - 1) // 3 * 3 + 1, 1),
    }


def grain_keys(row) -> dict[str, tuple[str, dict]]:
    """grain → (grain_key, ids) for one observation or feedback row; grains it has no id for are left out."""
    keys = {"org": ("org", {})}
    for name in ("location", "team", "employee", "standard", "touchpoint"):
        value = getattr(row, f"{name}_id", None)
        if value is not None:
            keys[name] = (f"{name}={value}", {f"{name}_id": value})
    if getattr(row, "standard_id", None) is not None:
        keys["location_standard"] = (
            f"location={row.location_id}|standard={row.standard_id}",
            {"location_id": row.location_id, "standard_id": row.standard_id},
        )
    return keys


def expected_scorecards(tz_name: str | None = None) -> dict[tuple, dict]:
    """(period_kind, period_start, grain, grain_key) → the columns a scorecard must hold, counted in
    Python from the rows themselves."""
    tz = ZoneInfo(tz_name or django_settings.TIME_ZONE)
    superseded = set(Observation.objects.exclude(supersedes=None).values_list("supersedes_id", flat=True))
    buckets: dict[tuple, dict] = defaultdict(lambda: {"obs": [], "feedback": [], "ids": {}})
    for observation in Observation.objects.select_related("standard"):
        if observation.pk in superseded:
            continue
        for kind, start in local_period_starts(observation.observed_at, tz).items():
            for grain, (key, ids) in grain_keys(observation).items():
                bucket = buckets[(kind, start, grain, key)]
                bucket["obs"].append(observation)
                bucket["ids"] = ids
    for answer in Feedback.objects.all():
        for kind, start in local_period_starts(answer.submitted_at, tz).items():
            for grain, (key, ids) in grain_keys(answer).items():
                if grain in FEEDBACK_GRAINS:
                    bucket = buckets[(kind, start, grain, key)]
                    bucket["feedback"].append(answer)
                    bucket["ids"] = ids

    expected = {}
    for (kind, start, grain, key), bucket in buckets.items():
        columns = dict.fromkeys(SCORECARD_COLUMNS)
        columns.update(
            {"period_kind": kind, "period_start": start, "grain": grain, "grain_key": key, **bucket["ids"]}
        )
        columns.update(_observation_columns(bucket["obs"], grain))
        columns.update(_feedback_columns(bucket["feedback"]))
        expected[(kind, start, grain, key)] = columns
    return expected


def _observation_columns(observations: list, grain: str) -> dict:
    n = len(observations)
    if n == 0:
        return {
            "observations": 0,
            "passed": 0,
            "deviations": 0,
            "values_n": 0,
            "value_sum": Decimal(0),
            "target_cents": 0,
        }
    passed = sum(o.passed for o in observations)
    pass_rate = passed / n
    target = sum(float(o.standard.target_rate) for o in observations) / n / 100
    values = [float(o.value) for o in observations if o.value is not None]
    low, high = stats.wilson_interval(passed, n)
    return {
        "observations": n,
        "passed": passed,
        "pass_rate": pass_rate,
        "pass_rate_low": low,
        "pass_rate_high": high,
        "target_rate": target,
        "target_met": pass_rate >= target - 1e-9,
        "mean_value": sum(values) / len(values) if values and grain in ONE_STANDARD_GRAINS else None,
        "values_n": len(values) if grain in ONE_STANDARD_GRAINS else 0,
        "value_sum": (
            sum((o.value for o in observations if o.value is not None), Decimal(0))
            if grain in ONE_STANDARD_GRAINS
            else Decimal(0)
        ),
        "target_cents": sum(int(o.standard.target_rate * 100) for o in observations),
        "deviations": sum(1 for o in observations if not o.passed and o.standard.non_negotiable),
    }


def _feedback_columns(answers: list) -> dict:
    csat = [a.csat for a in answers if a.csat is not None]
    nps = [a.nps for a in answers if a.nps is not None]
    promoters = sum(1 for score in nps if score >= 9)
    detractors = sum(1 for score in nps if score <= 6)
    interval = stats.nps(promoters, detractors, len(nps))
    return {
        "feedback_count": len(answers),
        "csat_n": len(csat),
        "satisfied": sum(1 for score in csat if score >= 4),
        "promoters": promoters,
        "detractors": detractors,
        "csat": 100 * sum(1 for score in csat if score >= 4) / len(csat) if csat else None,
        "nps_n": len(nps),
        "nps": 100 * (promoters - detractors) / len(nps) if nps else None,
        "nps_low": interval.low,
        "nps_high": interval.high,
    }


def stored_scorecards() -> dict[tuple, dict]:
    return {
        (row["period_kind"], row["period_start"], row["grain"], row["grain_key"]): row
        for row in Scorecard.objects.values(*SCORECARD_COLUMNS)
    }


def snapshot() -> dict[int, tuple]:
    """The whole scorecard table, ids included, computed_at left out."""
    return {row[0]: row[1:] for row in Scorecard.objects.values_list("id", *SCORECARD_COLUMNS)}


def assert_matches_independent_count(tz_name: str | None = None) -> None:
    expected, stored = expected_scorecards(tz_name), stored_scorecards()
    assert set(stored) == set(expected)
    for key, columns in expected.items():
        differences = {
            column: (stored[key][column], value)
            for column, value in columns.items()
            if not _same(stored[key][column], value)
        }
        assert differences == {}, key


def _same(stored, expected) -> bool:
    """Equal, floats to 1e-9 relative (the database and Python may sum in another order)."""
    if isinstance(expected, float) and isinstance(stored, float):
        return stored == pytest.approx(expected, rel=1e-9, abs=1e-12)
    return type(stored) is type(expected) and stored == expected


# --------------------------------------------------------------------------- data


@pytest.fixture
def org(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users
    return make_org()


def make_org() -> dict:
    """Two locations, a team and an employee at each, three standards (one numeric, one
    non-negotiable) and two touchpoints."""
    location_a, location_b = factories.LocationFactory(), factories.LocationFactory()
    employee_a = factories.EmployeeFactory(location=location_a)
    employee_b = factories.EmployeeFactory(location=location_b)
    return {
        "locations": [location_a, location_b],
        "employees": [employee_a, employee_b],
        "standards": [
            factories.StandardFactory(target_rate=Decimal("90")),
            factories.StandardFactory(
                measure_kind="numeric",
                comparator="lte",
                threshold=Decimal("30"),
                unit="seconds",
                target_rate=Decimal("75.5"),
            ),
            factories.StandardFactory(non_negotiable=True, target_rate=Decimal("100")),
        ],
        "touchpoints": [factories.TouchpointFactory(), factories.TouchpointFactory()],
    }


def observe(org, rng: random.Random, observed_at: datetime, **fields) -> Observation:
    """One observation with random but consistent location, team, employee, standard and touchpoint."""
    employee = rng.choice(org["employees"] + [None])
    location = employee.location if employee else rng.choice(org["locations"])
    standard = rng.choice(org["standards"])
    value = None
    passed = rng.random() < 0.8
    if standard.measure_kind == "numeric":
        value = Decimal(rng.randint(5, 60))
        passed = standard.passes(value)
    defaults = {
        "location": location,
        "team": employee.team if employee and rng.random() < 0.8 else None,
        "employee": employee,
        "standard": standard,
        "touchpoint": rng.choice(org["touchpoints"] + [None]),
        "observed_at": observed_at,
        "value": value,
        "passed": passed,
    }
    return factories.ObservationFactory(**{**defaults, **fields})


def answer(org, rng: random.Random, submitted_at: datetime, **fields) -> Feedback:
    defaults = {
        "location": rng.choice(org["locations"]),
        "touchpoint": rng.choice(org["touchpoints"]),
        "submitted_at": submitted_at,
        "csat": rng.choice([None, 1, 2, 3, 4, 5, 5]),
        "nps": rng.choice([None, 0, 3, 6, 7, 8, 9, 10]),
        "comment": "Thanks",
    }
    return factories.FeedbackFactory(**{**defaults, **fields})


def evidence(org, *, seed: int = 1, start: datetime, days: int, observations: int, answers: int) -> None:
    """Random observations and feedback spread over `days` days from `start`."""
    rng = random.Random(seed)
    span = days * 24 * 3600
    for _ in range(observations):
        observe(org, rng, start + timedelta(seconds=rng.randrange(span)))
    for _ in range(answers):
        answer(org, rng, start + timedelta(seconds=rng.randrange(span)))


def age_evidence() -> None:
    """Pretend everything so far was recorded long ago, so a later run sees only what comes next."""
    Observation.objects.update(recorded_at=LONG_AGO)
    Feedback.objects.update(recorded_at=LONG_AGO)


# Across a week, a month and a quarter boundary (Tue 24 March – Wed 8 April 2026), with the
# change to summer time in Europe on 29 March in the middle.
SPRING = datetime(2026, 3, 24, tzinfo=UTC)


@pytest.fixture
def spring_evidence(org):
    evidence(org, start=SPRING, days=15, observations=150, answers=60)
    return org


# --------------------------------------------------------------------------- what a scorecard holds


def test_every_grain_and_period_matches_an_independent_count(spring_evidence):
    result = scorecards_rollup(full=True)

    assert_matches_independent_count()
    assert {grain for _, _, grain, _ in stored_scorecards()} == ALL_GRAINS
    assert {kind for kind, _, _, _ in stored_scorecards()} == {"day", "week", "month", "quarter"}
    assert result.rows_written == Scorecard.objects.count()
    assert result.full and result.rows_deleted == 0


def test_grain_keys_name_the_rows_they_describe(org):
    location, standard = org["locations"][0], org["standards"][0]
    employee = org["employees"][0]
    factories.ObservationFactory(
        location=location,
        team=employee.team,
        employee=employee,
        standard=standard,
        touchpoint=org["touchpoints"][0],
        observed_at=SPRING,
    )
    scorecards_rollup(full=True)

    days = Scorecard.objects.filter(period_kind="day")
    assert dict(days.values_list("grain", "grain_key")) == {
        "org": "org",
        "location": f"location={location.pk}",
        "team": f"team={employee.team_id}",
        "employee": f"employee={employee.pk}",
        "standard": f"standard={standard.pk}",
        "touchpoint": f"touchpoint={org['touchpoints'][0].pk}",
        "location_standard": f"location={location.pk}|standard={standard.pk}",
    }
    pair = days.get(grain="location_standard")
    assert (pair.location_id, pair.standard_id, pair.team_id) == (location.pk, standard.pk, None)


def test_the_wilson_and_nps_intervals_stored_are_the_statistics_modules(org):
    location, touchpoint = org["locations"][0], org["touchpoints"][0]
    for index in range(20):
        factories.ObservationFactory(
            location=location, standard=org["standards"][0], observed_at=SPRING, passed=index < 17
        )
    for score in [10] * 6 + [8] * 3 + [2]:
        factories.FeedbackFactory(
            location=location, touchpoint=touchpoint, submitted_at=SPRING, nps=score, csat=5
        )

    scorecards_rollup(full=True)

    card = Scorecard.objects.get(period_kind="month", grain="location")
    assert (card.observations, card.passed, card.pass_rate) == (20, 17, 0.85)
    assert (card.pass_rate_low, card.pass_rate_high) == stats.wilson_interval(17, 20)
    assert (card.target_rate, card.target_met) == (0.9, False)
    expected_nps = stats.nps(6, 1, 10)
    assert (card.nps_n, card.nps, card.nps_low, card.nps_high) == (
        10,
        50.0,
        expected_nps.low,
        expected_nps.high,
    )
    assert (card.csat_n, card.csat) == (10, 100.0)  # CSAT is stored as a percentage, as stats.csat gives it


def test_the_target_of_a_mixed_grain_is_weighted_by_observations(org):
    location = org["locations"][0]
    easy, strict = org["standards"][0], org["standards"][2]  # targets 90 % and 100 %
    factories.ObservationFactory.create_batch(3, location=location, standard=easy, observed_at=SPRING)
    factories.ObservationFactory(location=location, standard=strict, observed_at=SPRING)

    scorecards_rollup(full=True)

    card = Scorecard.objects.get(period_kind="day", grain="location")
    assert card.target_rate == pytest.approx((3 * 0.9 + 1.0) / 4)
    assert card.target_met is True
    assert card.mean_value is None  # values of different standards have no common unit


def test_a_failed_non_negotiable_observation_counts_as_a_deviation(org):
    strict, easy = org["standards"][2], org["standards"][0]
    factories.ObservationFactory(
        standard=strict, location=org["locations"][0], observed_at=SPRING, passed=False
    )
    factories.ObservationFactory(
        standard=easy, location=org["locations"][0], observed_at=SPRING, passed=False
    )

    scorecards_rollup(full=True)

    assert Scorecard.objects.get(period_kind="day", grain="org").deviations == 1
    assert Scorecard.objects.get(period_kind="day", grain="standard", standard=strict).deviations == 1
    assert Scorecard.objects.get(period_kind="day", grain="standard", standard=easy).deviations == 0


def test_feedback_reaches_only_the_grains_it_has(org):
    employee = org["employees"][0]
    factories.ObservationFactory(
        location=employee.location,
        team=employee.team,
        employee=employee,
        standard=org["standards"][0],
        observed_at=SPRING,
    )
    factories.FeedbackFactory(
        location=employee.location, touchpoint=org["touchpoints"][1], submitted_at=SPRING
    )

    scorecards_rollup(full=True)

    days = {card.grain: card for card in Scorecard.objects.filter(period_kind="day")}
    assert {grain for grain, card in days.items() if card.feedback_count} == FEEDBACK_GRAINS
    assert days["team"].csat is None and days["employee"].nps is None and days["standard"].nps_n == 0
    touchpoint = days["touchpoint"]  # feedback only: a scorecard with no observations
    assert (touchpoint.observations, touchpoint.pass_rate, touchpoint.feedback_count) == (0, None, 1)


# --------------------------------------------------------------------------- periods and time zones


@pytest.mark.parametrize(
    ("time_zone", "day", "week", "month", "quarter"),
    [
        # 23:30 UTC on Saturday 31 January 2026 is still that day in London (GMT) …
        ("Europe/London", date(2026, 1, 31), date(2026, 1, 26), date(2026, 1, 1), date(2026, 1, 1)),
        # … and already Sunday 1 February in Berlin (CET, UTC+1): the next month, same ISO week.
        ("Europe/Berlin", date(2026, 2, 1), date(2026, 1, 26), date(2026, 2, 1), date(2026, 1, 1)),
        # In New York (UTC−5) it is 18:30 on the 31st.
        ("America/New_York", date(2026, 1, 31), date(2026, 1, 26), date(2026, 1, 1), date(2026, 1, 1)),
    ],
)
def test_periods_are_computed_in_the_organisations_time_zone(
    org, settings, time_zone, day, week, month, quarter
):
    settings.TIME_ZONE = time_zone
    factories.ObservationFactory(
        location=org["locations"][0],
        standard=org["standards"][0],
        observed_at=datetime(2026, 1, 31, 23, 30, tzinfo=UTC),
    )

    scorecards_rollup(full=True)

    starts = dict(Scorecard.objects.filter(grain="org").values_list("period_kind", "period_start"))
    assert starts == {"day": day, "week": week, "month": month, "quarter": quarter}


def test_the_last_evening_of_a_quarter_in_berlin_summer_time_lands_in_the_next_quarter(org, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    # 22:30 UTC on Tuesday 30 June 2026 is 00:30 on Wednesday 1 July in Berlin (CEST, UTC+2).
    factories.ObservationFactory(
        location=org["locations"][0],
        standard=org["standards"][0],
        observed_at=datetime(2026, 6, 30, 22, 30, tzinfo=UTC),
    )
    scorecards_rollup(full=True)

    starts = dict(Scorecard.objects.filter(grain="org").values_list("period_kind", "period_start"))
    assert starts == {
        "day": date(2026, 7, 1),
        "week": date(2026, 6, 29),
        "month": date(2026, 7, 1),
        "quarter": date(2026, 7, 1),
    }


def test_every_grain_matches_the_independent_count_in_another_time_zone(spring_evidence, settings):
    settings.TIME_ZONE = "America/New_York"
    scorecards_rollup(full=True)
    assert_matches_independent_count("America/New_York")


# --------------------------------------------------------------------------- idempotence and increments


def test_rerunning_the_rollup_changes_nothing(spring_evidence):
    scorecards_rollup(full=True)
    before = snapshot()

    incremental = scorecards_rollup()
    assert snapshot() == before
    full = scorecards_rollup(full=True)
    assert snapshot() == before
    # Recomputed, found the same, and not even rewritten.
    assert incremental.rows_unchanged > 0 and full.rows_unchanged == len(before)
    assert incremental.rows_written == full.rows_written == 0


def test_the_first_run_rebuilds_everything_and_sets_the_watermark(spring_evidence):
    assert not RollupState.objects.exists()

    now = datetime.now(UTC)
    result = scorecards_rollup(now=now)

    assert result.full
    assert RollupState.objects.get().watermark == now - rollup.IN_FLIGHT_MARGIN == result.watermark
    assert_matches_independent_count()


def test_the_watermark_never_moves_backwards(spring_evidence):
    now = datetime.now(UTC)
    scorecards_rollup(now=now)
    scorecards_rollup(now=now - timedelta(hours=1))
    assert RollupState.objects.get().watermark == now - rollup.IN_FLIGHT_MARGIN


def test_an_incremental_run_after_new_data_equals_a_full_rebuild(spring_evidence):
    org = spring_evidence
    age_evidence()
    scorecards_rollup(full=True)
    rng = random.Random(7)
    # New evidence in periods that already have scorecards, in a new period, and for a period long closed …
    for moment in [
        SPRING + timedelta(days=2, hours=5),
        datetime(2026, 5, 4, 9, tzinfo=UTC),
        datetime(2025, 11, 3, 12, tzinfo=UTC),
    ]:
        observe(org, rng, moment)
        answer(org, rng, moment)
    # … and a correction that moves an observation to another day.
    wrong = Observation.objects.filter(observed_at__lt=SPRING + timedelta(days=1)).first()
    factories.ObservationFactory(
        supersedes=wrong,
        standard=wrong.standard,
        location=wrong.location,
        observed_at=SPRING + timedelta(days=9),
        passed=not wrong.passed,
    )

    incremental = scorecards_rollup()
    after_incremental = snapshot()
    full = scorecards_rollup(full=True)

    assert not incremental.full
    assert snapshot() == after_incremental
    assert_matches_independent_count()
    assert set(incremental.periods) < set(full.periods)  # only the touched periods were recomputed
    assert ("month", date(2025, 11, 1)) in incremental.periods
    assert ("month", date(2026, 2, 1)) not in incremental.periods


def test_an_incremental_run_recomputes_exactly_the_periods_touched(spring_evidence):
    org = spring_evidence
    age_evidence()
    scorecards_rollup(full=True)
    observe(org, random.Random(3), datetime(2026, 5, 4, 9, tzinfo=UTC))  # a Monday

    result = scorecards_rollup()

    assert result.periods == (
        ("day", date(2026, 5, 4)),
        ("month", date(2026, 5, 1)),
        ("quarter", date(2026, 4, 1)),
        ("week", date(2026, 5, 4)),
    )


def test_an_incremental_run_with_nothing_new_writes_nothing(spring_evidence, django_assert_max_num_queries):
    age_evidence()
    scorecards_rollup(full=True)
    watermark = RollupState.objects.get().watermark

    with django_assert_max_num_queries(8):
        result = scorecards_rollup()

    assert (result.periods, result.rows_written, result.rows_deleted) == ((), 0, 0)
    assert RollupState.objects.get().watermark > watermark  # nothing recorded meanwhile, so it moves on


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_a_correction_replaces_the_observation_and_an_emptied_period_is_deleted(org, full):
    location, standard = org["locations"][0], org["standards"][0]
    wrong = factories.ObservationFactory(
        location=location, standard=standard, passed=False, observed_at=datetime(2026, 2, 10, 10, tzinfo=UTC)
    )
    factories.ObservationFactory(
        location=location, standard=standard, observed_at=datetime(2026, 2, 12, 10, tzinfo=UTC)
    )
    age_evidence()
    scorecards_rollup(full=True)
    # org, location, standard and location × standard
    assert Scorecard.objects.filter(period_start=date(2026, 2, 10)).count() == 4

    # The observation belonged to 11 February, and passed.
    factories.ObservationFactory(
        supersedes=wrong,
        location=location,
        standard=standard,
        passed=True,
        observed_at=datetime(2026, 2, 11, 10, tzinfo=UTC),
    )
    result = scorecards_rollup(full=full)

    assert not Scorecard.objects.filter(period_kind="day", period_start=date(2026, 2, 10)).exists()
    assert result.rows_deleted == 4
    assert ("day", date(2026, 2, 10)) in result.periods
    month = Scorecard.objects.get(period_kind="month", grain="org")
    assert (month.observations, month.passed) == (2, 2)
    assert_matches_independent_count()


def test_a_scorecard_left_without_evidence_is_deleted_with_its_links_to_consequences(org):
    location, standard = org["locations"][0], org["standards"][0]
    wrong = factories.ObservationFactory(
        location=location, standard=standard, observed_at=datetime(2026, 2, 10, 10, tzinfo=UTC)
    )
    age_evidence()
    scorecards_rollup(full=True)
    cited = Scorecard.objects.get(period_kind="day", period_start=date(2026, 2, 10), grain="location")
    consequence = factories.ConsequenceFactory(location=location)
    consequence.evidence.add(cited)
    factories.ObservationFactory(
        supersedes=wrong,
        location=location,
        standard=standard,
        observed_at=datetime(2026, 2, 11, 10, tzinfo=UTC),
    )

    scorecards_rollup()

    assert not Scorecard.objects.filter(pk=cited.pk).exists()
    assert list(consequence.evidence.all()) == []  # the consequence stays; its link to the card goes
    connection.check_constraints()  # PostgreSQL checks its deferred foreign keys only at commit


def test_deleting_a_touchpoint_through_django_deletes_its_scorecards(org):
    """Scorecards refer to what they describe without a database constraint (models.Scorecard):
    Django's CASCADE still removes them, and the full rebuild then finds nothing to change."""
    location, standard = org["locations"][0], org["standards"][0]
    touchpoint = factories.TouchpointFactory()
    factories.ObservationFactory(location=location, standard=standard, observed_at=SPRING)
    gone = factories.ObservationFactory(
        location=location, standard=standard, touchpoint=touchpoint, observed_at=SPRING
    )
    age_evidence()
    scorecards_rollup(full=True)
    assert Scorecard.objects.filter(touchpoint=touchpoint).count() == 4  # day, week, month, quarter

    gone.delete()  # observations protect what they refer to: the evidence goes first
    touchpoint.delete()

    assert not Scorecard.objects.filter(grain="touchpoint").exists()
    connection.check_constraints()
    result = scorecards_rollup(full=True)
    # The org, location, standard and location × standard cards of the 4 periods lost a row.
    assert (result.rows_written, result.rows_deleted) == (4 * 4, 0)
    assert Scorecard.objects.get(period_kind="day", grain="org").observations == 1


MAY = datetime(2026, 5, 12, 9, tzinfo=UTC)


def test_a_row_committed_late_inside_the_in_flight_margin_is_picked_up(org):
    location, standard = org["locations"][0], org["standards"][0]
    factories.ObservationFactory(location=location, standard=standard, observed_at=SPRING)
    age_evidence()
    first = scorecards_rollup()
    # Written a minute before the last run started, committed only after it.
    started = first.watermark + rollup.IN_FLIGHT_MARGIN
    late = factories.ObservationFactory(location=location, standard=standard, observed_at=MAY)
    Observation.objects.filter(pk=late.pk).update(recorded_at=started - timedelta(minutes=1))

    scorecards_rollup()

    assert (
        Scorecard.objects.get(period_kind="month", period_start=date(2026, 5, 1), grain="org").observations
        == 1
    )


def test_a_row_older_than_the_margin_waits_for_the_full_rebuild(org):
    location, standard = org["locations"][0], org["standards"][0]
    factories.ObservationFactory(location=location, standard=standard, observed_at=SPRING)
    age_evidence()
    first = scorecards_rollup()
    # Written longer than the margin before the last run started yet committed after it: a
    # transaction longer than the margin promises to cover.
    started = first.watermark + rollup.IN_FLIGHT_MARGIN
    stale = factories.ObservationFactory(location=location, standard=standard, observed_at=MAY)
    Observation.objects.filter(pk=stale.pk).update(recorded_at=started - rollup.IN_FLIGHT_MARGIN * 1.5)

    scorecards_rollup()
    assert not Scorecard.objects.filter(period_kind="month", period_start=date(2026, 5, 1)).exists()
    scorecards_rollup(full=True)
    assert (
        Scorecard.objects.get(period_kind="month", period_start=date(2026, 5, 1), grain="org").observations
        == 1
    )
    assert_matches_independent_count()


# --------------------------------------------------------------------------- safety


def test_a_run_that_fails_halfway_leaves_the_scorecards_and_the_watermark_as_they_were(
    spring_evidence, monkeypatch
):
    org = spring_evidence
    # The portable path writes grain by grain, so it can fail between two grains' writes.
    monkeypatch.setattr(rollup, "_recompute", rollup.portable.recompute_with_orm)
    age_evidence()
    scorecards_rollup(full=True)
    before, watermark = snapshot(), RollupState.objects.get().watermark
    rng = random.Random(11)
    for moment in [SPRING + timedelta(days=1), SPRING + timedelta(days=20)]:
        observe(org, rng, moment, passed=False)

    real_rollup_grain, calls = rollup.portable._rollup_grain, []

    def fail_on_the_tenth_grain(*args, **kwargs):
        calls.append(args)
        if len(calls) == 10:  # nine grains already written in this run
            raise RuntimeError("worker lost")
        return real_rollup_grain(*args, **kwargs)

    monkeypatch.setattr(rollup.portable, "_rollup_grain", fail_on_the_tenth_grain)
    with pytest.raises(RuntimeError, match="worker lost"):
        scorecards_rollup()

    assert snapshot() == before
    assert RollupState.objects.get().watermark == watermark
    monkeypatch.undo()
    scorecards_rollup()
    assert_matches_independent_count()


def test_a_run_that_fails_after_writing_every_scorecard_leaves_everything_as_it_was(
    spring_evidence, monkeypatch
):
    # On PostgreSQL the scorecards are written by one statement (and stale ones deleted after it):
    # a failure after all of that, as the watermark moves, must still undo every write.
    org = spring_evidence
    age_evidence()
    scorecards_rollup(full=True)
    before, watermark = snapshot(), RollupState.objects.get().watermark
    wrong = Observation.objects.filter(observed_at__lt=SPRING + timedelta(days=1)).first()
    factories.ObservationFactory(
        supersedes=wrong,
        standard=wrong.standard,
        location=wrong.location,
        observed_at=SPRING + timedelta(days=30),
    )
    observe(org, random.Random(12), SPRING + timedelta(days=2), passed=False)
    real_advance = rollup._advance
    written = []

    def fail_when_moving_the_watermark(*args, **kwargs):
        written.append(Scorecard.objects.filter(period_start=SPRING.date() + timedelta(days=30)).count())
        raise RuntimeError("worker lost")

    monkeypatch.setattr(rollup, "_advance", fail_when_moving_the_watermark)
    with pytest.raises(RuntimeError, match="worker lost"):
        scorecards_rollup()

    assert written[0] > 0  # the run had written its new scorecards when it failed
    assert snapshot() == before
    assert RollupState.objects.get().watermark == watermark
    monkeypatch.setattr(rollup, "_advance", real_advance)
    scorecards_rollup()
    assert_matches_independent_count()


def test_a_run_must_own_its_transaction(spring_evidence):
    with pytest.raises(RuntimeError), transaction.atomic():
        scorecards_rollup()


@pytest.mark.postgres
def test_on_postgresql_a_run_takes_the_advisory_lock_first(spring_evidence):
    with CaptureQueriesContext(connection) as queries:
        scorecards_rollup()
    statements = [query["sql"] for query in queries.captured_queries]
    assert statements[0].startswith("SAVEPOINT")  # the test's transaction; the run's own begins here
    assert statements[1] == f"SELECT pg_advisory_xact_lock({rollup.ADVISORY_LOCK_KEY})"


# The portable path: 28 observation aggregates + 12 feedback aggregates + 28 reads of the stored
# scorecards + lock, state and watermark + an INSERT per batch of scorecards changed: about 80 in
# these tests. On PostgreSQL: about 10 (one statement does the aggregates, reads and writes).
QUERY_BUDGET = 100


def test_the_query_count_does_not_grow_with_the_number_of_observations(org, django_assert_max_num_queries):
    def queries_for(count: int) -> int:
        Scorecard.objects.all().delete()
        RollupState.objects.all().delete()
        Observation.objects.all().delete()
        Feedback.objects.all().delete()
        employee = org["employees"][0]
        for index in range(count):
            factories.ObservationFactory(
                location=employee.location,
                team=employee.team,
                employee=employee,
                standard=org["standards"][index % 2],
                touchpoint=org["touchpoints"][0],
                value=Decimal(index % 40) if index % 2 else None,
                passed=index % 3 > 0 if index % 2 == 0 else index % 40 <= 30,
                observed_at=SPRING + timedelta(hours=index % 20),
            )
            factories.FeedbackFactory(
                location=employee.location,
                touchpoint=org["touchpoints"][0],
                submitted_at=SPRING + timedelta(hours=1),
            )
        with django_assert_max_num_queries(QUERY_BUDGET) as captured:
            scorecards_rollup()
        return len(captured)

    few, many = queries_for(10), queries_for(200)

    assert few == many
    assert Observation.objects.count() == 200
    assert_matches_independent_count()


def test_a_full_run_stays_within_its_query_budget(spring_evidence, django_assert_max_num_queries):
    with django_assert_max_num_queries(QUERY_BUDGET):
        scorecards_rollup(full=True)


# --------------------------------------------------------------------------- the PostgreSQL fast path


def take_the_portable_path(monkeypatch) -> None:
    """Make the rollup compute with the ORM, one aggregate per grain, as it does on SQLite."""
    monkeypatch.setattr(rollup, "_recompute", rollup.portable.recompute_with_orm)


def add_corrections_and_late_evidence(org) -> None:
    rng = random.Random(5)
    for moment in [SPRING + timedelta(days=3, hours=2), datetime(2026, 5, 4, 9, tzinfo=UTC)]:
        observe(org, rng, moment)
        answer(org, rng, moment)
    for wrong in Observation.objects.filter(supersedes=None, superseded_by=None).order_by("pk")[:3]:
        factories.ObservationFactory(
            supersedes=wrong,
            standard=wrong.standard,
            location=wrong.location,
            value=wrong.value,
            passed=wrong.passed,
            observed_at=wrong.observed_at + timedelta(days=6),
        )


@pytest.mark.postgres
def test_on_postgresql_the_fast_path_computes_every_scorecard_bit_for_bit_as_the_portable_one(
    spring_evidence, monkeypatch
):
    add_corrections_and_late_evidence(spring_evidence)
    take_the_portable_path(monkeypatch)
    scorecards_rollup(full=True)
    by_the_orm = snapshot()
    monkeypatch.undo()

    result = scorecards_rollup(full=True)

    # Every float the same to the last bit: the SQL does the statistics' arithmetic in their order.
    assert (result.rows_written, result.rows_deleted, result.rows_unchanged) == (0, 0, len(by_the_orm))
    assert snapshot() == by_the_orm


@pytest.mark.postgres
def test_on_postgresql_an_incremental_fast_run_equals_a_full_portable_rebuild(spring_evidence, monkeypatch):
    age_evidence()
    scorecards_rollup(full=True)
    add_corrections_and_late_evidence(spring_evidence)

    incremental = scorecards_rollup()
    after_incremental = snapshot()
    take_the_portable_path(monkeypatch)
    full = scorecards_rollup(full=True)

    assert incremental.rows_written > 0 and not incremental.full
    assert (full.rows_written, full.rows_deleted) == (0, 0)
    assert snapshot() == after_incremental


@pytest.mark.postgres
def test_on_postgresql_a_full_run_takes_a_handful_of_queries_whatever_the_grains(
    spring_evidence, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        result = scorecards_rollup(full=True)
    assert result.rows_written == Scorecard.objects.count() > 0


# --------------------------------------------------------------------------- interfaces


def test_the_signal_is_sent_after_commit_with_the_periods_touched(
    spring_evidence, django_capture_on_commit_callbacks
):
    received = []

    def receiver(sender, periods, full, **kwargs):
        received.append((sender, periods, full))

    scorecards_rolled_up.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            result = scorecards_rollup()
        assert received == []  # nothing before the commit
        for callback in callbacks:
            callback()
    finally:
        scorecards_rolled_up.disconnect(receiver)

    assert received == [(Scorecard, list(result.periods), True)]
    assert ("quarter", date(2026, 1, 1)) in result.periods and ("quarter", date(2026, 4, 1)) in result.periods


def test_a_failing_receiver_does_not_fail_the_rollup(
    spring_evidence, django_capture_on_commit_callbacks, caplog
):
    def broken(sender, **kwargs):
        raise ValueError("consequences are down")

    scorecards_rolled_up.connect(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            scorecards_rollup()
    finally:
        scorecards_rolled_up.disconnect(broken)

    assert "consequences are down" in caplog.text
    assert Scorecard.objects.exists()


def test_the_management_command_runs_the_rollup_and_says_what_it_did(spring_evidence):
    out = StringIO()
    call_command("rollup_scorecards", "--full", stdout=out)
    assert "Full rebuild:" in out.getvalue()
    assert f"{Scorecard.objects.count()} scorecards written" in out.getvalue()
    assert_matches_independent_count()

    out = StringIO()
    call_command("rollup_scorecards", "-v", "2", stdout=out)
    assert out.getvalue().startswith("Incremental rollup: ")
    assert "month    2026-04-01" in out.getvalue()


def test_the_task_calls_the_service_and_returns_a_summary(spring_evidence):
    summary = rollup_scorecards.apply(kwargs={"full": True}).get()

    assert summary["full"] is True
    assert summary["rows_written"] == Scorecard.objects.count()
    assert summary["periods_recomputed"] == len(
        set(Scorecard.objects.values_list("period_kind", "period_start"))
    )
    assert_matches_independent_count()


def test_beat_runs_the_rollup_often_and_a_full_rebuild_nightly_and_both_expire():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    frequent, nightly = schedule["measurement-rollup-scorecards"], schedule["measurement-rebuild-scorecards"]

    assert frequent["task"] == nightly["task"] == rollup_scorecards.name
    assert frequent["schedule"] == django_settings.ROLLUP_INTERVAL
    assert 0 < frequent["options"]["expires"] < frequent["schedule"].total_seconds()
    assert nightly["kwargs"] == {"full": True} and nightly["options"]["expires"] > 0
    assert (nightly["schedule"].hour, nightly["schedule"].minute) == ({2}, {30})
    assert rollup_scorecards.acks_late and rollup_scorecards.time_limit and rollup_scorecards.soft_time_limit
