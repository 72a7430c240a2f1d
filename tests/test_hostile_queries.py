"""No page answers 500 to what a visitor can type into its address: every GET page of the app, for
a manager and an admin, with every query parameter the pages read set to values a column or a
calendar cannot hold. (The test client raises a view's exception, so a crash fails the test too.)"""

from urllib.parse import urlencode

import pytest

from tests.test_access_matrix import PAGES, world  # noqa: F401  (the two-location world)

PARAMETERS = (
    "before",
    "coaching_page",
    "course",
    "employee",
    "feedback",
    "format",
    "from",
    "grain",
    "heatmap_page",
    "location",
    "page",
    "period_kind",
    "period_start",
    "rating",
    "recognitions_page",
    "src",
    "standard",
    "team",
    "to",
    "touchpoint",
    "source",
    "passed",
    "status",
    "observed_after",
    "observed_before",
    "q",
)
HOSTILE = (
    "\x00",
    "1\x002",
    "99999999999999999999999999",
    "-1",
    "0",
    "1.5",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "x" * 3000,
    "é",
    "[]",
)
GET_PAGES = {row.id: row for row in PAGES if row.method == "get"}


@pytest.mark.parametrize("role", ["manager", "admin"])
@pytest.mark.parametrize("row", GET_PAGES.values(), ids=GET_PAGES.keys())
def test_no_page_answers_500_to_hostile_query_parameters(client, request, world, row, role):  # noqa: F811
    client.force_login(request.getfixturevalue(role))
    path = row.path(world)
    joiner = "&" if "?" in path else "?"
    failures = []
    for value in HOSTILE:
        # Every parameter at once: pages ignore or refuse a bad value and go on to the next one.
        response = client.get(f"{path}{joiner}{urlencode(dict.fromkeys(PARAMETERS, value))}")
        if response.status_code >= 500:
            failures.append((repr(value)[:30], response.status_code))
    assert failures == []
