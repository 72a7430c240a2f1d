"""Any sequence of intake, corrections and incremental rollups ends where a full rebuild does.

Property-based, on PostgreSQL (the path production runs): Hypothesis draws a sequence of steps —
observations and feedback through the real intake services, corrections (new observations that
supersede a countable one, possibly moving it to another day), and incremental runs on a clock
that moves by 0–5 minutes, so that runs often look again at rows of the in-flight margin that the
run before already counted. After a last incremental run, a full rebuild must find nothing to
write or delete, every scorecard (ids included) must be as the incremental runs left it, and both
must equal a count made in Python from the rows themselves.

Evidence lies from 25 March to 8 April 2026: across a week, a month and a quarter boundary and the
change to summer time. ROLLUP_SEQUENCE_EXAMPLES sets the number of examples (CI: the default).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from measurement.models import Deviation, Feedback, Observation, QuarantinedRow, RollupState, Scorecard
from measurement.services.intake import feedback_ingest, observations_ingest
from measurement.services.rollup import scorecards_rollup
from tests import factories
from tests.test_rollup import assert_matches_independent_count, make_org, snapshot

pytestmark = pytest.mark.postgres

EXAMPLES = int(os.environ.get("ROLLUP_SEQUENCE_EXAMPLES", "40"))
SEQUENCE_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    database=None,
    deadline=None,
    # The organisation is made once per test; every example starts by removing the evidence,
    # scorecards and rollup state the one before left.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIRST_DAY = datetime(2026, 3, 25, 9, tzinfo=UTC)
DAYS = 15

# --- steps -------------------------------------------------------------------------------------

moment = st.tuples(st.integers(0, DAYS - 1), st.integers(0, 23 * 60 + 59)).map(
    lambda t: FIRST_DAY.replace(hour=0) + timedelta(days=t[0], minutes=t[1])
)
observation_rows = st.lists(
    st.fixed_dictionaries(
        {
            "who": st.integers(0, 3),  # employee 0 or 1, or location 0 or 1 without anyone
            "standard": st.integers(0, 2),
            "touchpoint": st.integers(0, 2),  # 2: none
            "at": moment,
            "passed": st.booleans(),
            "value": st.integers(5, 60),
        }
    ),
    min_size=1,
    max_size=6,
)
feedback_rows = st.lists(
    st.fixed_dictionaries(
        {
            "location": st.integers(0, 1),
            "touchpoint": st.integers(0, 1),
            "at": moment,
            "csat": st.none() | st.integers(1, 5),
            "nps": st.none() | st.integers(0, 10),
        }
    ),
    min_size=1,
    max_size=4,
)
corrections = st.fixed_dictionaries(
    {"which": st.integers(0, 10**6), "at": st.none() | moment, "passed": st.booleans()}
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("observe"), observation_rows),
        st.tuples(st.just("answer"), feedback_rows),
        st.tuples(st.just("correct"), corrections),
        st.tuples(st.just("run"), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=10,
)


@pytest.fixture
def world(db):
    org = make_org()
    for number, employee in enumerate(org["employees"]):
        # Intake names a team by its name at the employee's location.
        employee.team.name = f"Floor {number}"
        employee.team.save()
    return org


class Sequence:
    """Runs the steps against the real services, with a clock of its own for the rollups."""

    def __init__(self, org: dict) -> None:
        self.org = org
        self.clock = datetime.now(UTC) - timedelta(days=1)
        self.runs: list = []

    def observe(self, rows: list[dict]) -> None:
        items = [self._observation(row) for row in rows]
        result = observations_ingest(list(enumerate(items, start=1)))
        assert result.ok, result.errors
        self._recorded_now(Observation, result.created_ids)

    def answer(self, rows: list[dict]) -> None:
        org = self.org
        items = [
            {
                "touchpoint": org["touchpoints"][row["touchpoint"]].slug,
                "location": org["locations"][row["location"]].code,
                "submitted_at": row["at"].isoformat(),
                "csat": "" if row["csat"] is None else str(row["csat"]),
                "nps": "" if row["nps"] is None else str(row["nps"]),
                "comment": "Thanks",
            }
            for row in rows
        ]
        before = set(Feedback.objects.values_list("pk", flat=True))
        result = feedback_ingest(list(enumerate(items, start=1)))
        assert result.ok, result.errors
        self._recorded_now(Feedback, set(Feedback.objects.values_list("pk", flat=True)) - before)

    def correct(self, step: dict) -> None:
        """Supersede a countable observation: same standard and location, maybe another day and verdict."""
        candidates = list(Observation.objects.current().order_by("pk").select_related("standard"))
        if not candidates:
            return
        wrong = candidates[step["which"] % len(candidates)]
        passed = step["passed"] if wrong.value is None else wrong.standard.passes(wrong.value)
        correction = factories.ObservationFactory(
            supersedes=wrong,
            standard=wrong.standard,
            location=wrong.location,
            team=wrong.team,
            employee=wrong.employee,
            touchpoint=wrong.touchpoint,
            value=wrong.value,
            passed=passed,
            observed_at=step["at"] or wrong.observed_at,
        )
        self._recorded_now(Observation, [correction.pk])

    def run(self, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)
        self.runs.append(scorecards_rollup(now=self.clock))

    def _observation(self, row: dict) -> dict:
        org = self.org
        standard = org["standards"][row["standard"]]
        item = {
            "standard": standard.code,
            "source": "mystery_shop",
            "observed_at": row["at"].isoformat(),
            "passed": "true" if row["passed"] else "false",
        }
        if row["who"] < 2:
            employee = org["employees"][row["who"]]
            item.update(location=employee.location.code, employee=employee.employee_number)
            if row["value"] % 2:  # sometimes the team too, sometimes only the employee
                item["team"] = employee.team.name
        else:
            item["location"] = org["locations"][row["who"] - 2].code
        if row["touchpoint"] < 2:
            item["touchpoint"] = org["touchpoints"][row["touchpoint"]].slug
        if standard.measure_kind == "numeric":
            item["value"] = str(row["value"])
            item["passed"] = "true" if standard.passes(row["value"]) else "false"
        return item

    def _recorded_now(self, model, pks) -> None:
        # Intake stamps the real time; the sequence's clock says when each row was recorded.
        model.objects.filter(pk__in=list(pks)).update(recorded_at=self.clock)


def start_afresh() -> None:
    Deviation.objects.all().delete()
    Observation.objects.update(supersedes=None)
    Observation.objects.all().delete()
    Feedback.objects.all().delete()
    Scorecard.objects.all().delete()
    RollupState.objects.all().delete()
    QuarantinedRow.objects.all().delete()


@SEQUENCE_SETTINGS
@given(sequence=steps)
def test_any_sequence_of_intake_corrections_and_incremental_runs_ends_equal_to_a_full_rebuild(
    world, sequence
):
    start_afresh()
    runner = Sequence(world)
    for action, argument in sequence:
        getattr(runner, action)(argument)
    runner.run(1)
    after_incremental = snapshot()
    assert [run.full for run in runner.runs] == [True] + [False] * (len(runner.runs) - 1)

    full = scorecards_rollup(full=True, now=runner.clock)

    assert (full.rows_written, full.rows_deleted) == (0, 0)
    assert snapshot() == after_incremental
    assert_matches_independent_count()
