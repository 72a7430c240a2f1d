"""Evidence committed through any channel asks for one rollup soon after its commit."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from measurement.models import Scorecard
from measurement.services import freshness
from measurement.services.intake import feedback_ingest, observations_ingest
from tests import factories


@pytest.fixture
def after_commit(settings):
    settings.ROLLUP_AFTER_COMMIT_SECONDS = 2
    cache.delete(freshness.FLAG_KEY)
    yield
    cache.delete(freshness.FLAG_KEY)


@pytest.fixture
def enqueued():
    with mock.patch("measurement.tasks.rollup_scorecards.apply_async") as apply_async:
        yield apply_async


def observation_row(standard, location, **extra):
    return {
        "standard": standard.code,
        "location": location.code,
        "observed_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "passed": "true",
        "source": "qa_review",
        **extra,
    }


def test_a_burst_of_commits_asks_for_one_rollup(
    after_commit, enqueued, django_capture_on_commit_callbacks, location_a
):
    standard = factories.StandardFactory()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            result = observations_ingest([(1, observation_row(standard, location_a))])
        assert result.ok
    enqueued.assert_called_once_with(countdown=2, kwargs={"requested": True})


def test_the_run_clears_the_flag_so_later_evidence_asks_again(
    after_commit, enqueued, django_capture_on_commit_callbacks, location_a
):
    standard = factories.StandardFactory()
    with django_capture_on_commit_callbacks(execute=True):
        observations_ingest([(1, observation_row(standard, location_a))])
    freshness.rollup_flag_clear()
    with django_capture_on_commit_callbacks(execute=True):
        observations_ingest([(1, observation_row(standard, location_a))])
    assert enqueued.call_count == 2


def test_refused_evidence_asks_for_nothing(
    after_commit, enqueued, django_capture_on_commit_callbacks, location_a
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = observations_ingest([(1, {"standard": "NO-SUCH", "location": location_a.code})])
    assert not result.ok
    assert callbacks == []
    enqueued.assert_not_called()


def test_feedback_asks_for_a_rollup(after_commit, enqueued, django_capture_on_commit_callbacks, location_a):
    touchpoint = factories.TouchpointFactory()
    touchpoint.locations.add(location_a)
    row = {"location": location_a.code, "touchpoint": touchpoint.slug, "csat": "5"}
    with django_capture_on_commit_callbacks(execute=True):
        assert feedback_ingest([(1, row)]).ok
    enqueued.assert_called_once()


def test_switched_off_it_leaves_the_work_to_the_beat(
    settings, enqueued, django_capture_on_commit_callbacks, location_a
):
    settings.ROLLUP_AFTER_COMMIT_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        observations_ingest([(1, observation_row(factories.StandardFactory(), location_a))])
    assert callbacks == []


def test_a_cache_that_is_away_is_logged_not_raised(
    after_commit, enqueued, django_capture_on_commit_callbacks, location_a, caplog
):
    down = mock.patch.object(freshness.cache, "add", side_effect=ConnectionError("down"))
    with down, django_capture_on_commit_callbacks(execute=True):
        assert observations_ingest([(1, observation_row(factories.StandardFactory(), location_a))]).ok
    enqueued.assert_not_called()
    assert "periodic run will do it" in caplog.text


def test_with_tasks_inline_the_commit_reaches_the_scorecards(
    after_commit, django_capture_on_commit_callbacks, location_a
):
    standard = factories.StandardFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert observations_ingest([(1, observation_row(standard, location_a))]).ok
    assert Scorecard.objects.filter(grain="location_standard", standard=standard, observations=1).exists()
    # The run cleared its flag: the next commit asks again.
    assert cache.get(freshness.FLAG_KEY) is None
