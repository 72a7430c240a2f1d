"""The consistency page: locations ordered by need, judged only on enough evidence and only by the
99.8 % funnel limits, with every sentence whole whoever reads it, and every figure linked to
exactly its evidence."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from measurement import selectors, stats
from measurement.models import Grain
from measurement.selectors.common import dashboard_today
from measurement.selectors.consistency import decisive_digits, funnel_axis, percent_at
from measurement.services.rollup import scorecards_rollup
from tests import factories
from tests.test_dashboard import card, csv_rows, json_data

PAGE = reverse("measurement:consistency")
PERIOD = date(2025, 3, 1)
MARCH = {"period_kind": "month", "period_start": PERIOD.isoformat()}


def stores(count):
    return [factories.LocationFactory(code=f"S-{i:02d}", name=f"Store {i:02d}") for i in range(count)]


def march_cards(counts, locations):
    """March scorecards: (passed, n) per location, in that order, and the organisation's (the period
    picker offers the periods that have one)."""
    for location, (passed, n) in zip(locations, counts, strict=True):
        card(location=location, n=n, passed=passed)
    card(grain=Grain.ORGANISATION, n=sum(n for _, n in counts), passed=sum(passed for passed, _ in counts))


def league_of(user, counts, locations):
    """The March league over `locations`, with `counts` (passed, n) per location."""
    march_cards(counts, locations)
    selection = selectors.Selection(period_kind="month", period_start=PERIOD, admin=selectors.is_admin(user))
    return selectors.location_league(user=user, selection=selection)


def assert_whole(sentences):
    """No empty name, no stray punctuation: what the old sentence got wrong."""
    for sentence in sentences:
        assert sentence.endswith(".") and not re.search(r"\s[.,;:]|:\s*\.|,\s*,|\s{2}", sentence), sentence


# --------------------------------------------------------------------------- precision and axis


@pytest.mark.parametrize(
    "rate, target, shown, target_shown",
    [
        (0.896, 0.9, "89.6%", "90%"),
        (0.8996, 0.9, "89.96%", "90%"),
        (0.88, 0.9, "88%", "90%"),
        (0.9, 0.9, "90%", "90%"),
        (0.912, 0.9123, "91.20%", "91.23%"),
    ],
)
def test_a_rate_is_shown_at_the_precision_that_tells_it_from_its_target(rate, target, shown, target_shown):
    digits = decisive_digits(rate, [target])
    assert (percent_at(rate, digits), percent_at(target, digits, trim=True)) == (shown, target_shown)


@pytest.mark.parametrize(
    "ns, axis",
    [
        ([20, 140, 500], (0, 524)),  # the smallest n is near 0: the axis starts there
        ([400, 450, 500], (395, 505)),  # far from 0: a little below the smallest n
        ([140], (133, 147)),
        ([1, 1], (0, 2)),
    ],
)
def test_the_funnel_axis_fits_the_data(ns, axis):
    assert funnel_axis(ns) == axis


# --------------------------------------------------------------------------- order and evidence


def test_the_league_is_ordered_by_need_with_too_little_evidence_last(admin):
    a, b, c, d, e = stores(5)
    league = league_of(admin, [(440, 500), (115, 140), (1, 15), (0, 30), (0, 25)], [a, b, c, d, e])
    # Lower bounds: 0 for d and e (the larger n first), then b, then a; c has 15 < 20 observations.
    assert [row.label for row in league.rows] == ["Store 03", "Store 04", "Store 01", "Store 00", "Store 02"]
    assert [row.rank for row in league.rows] == [1, 2, 3, 4, None]
    assert league.ranked_total == 4
    thin = league.rows[-1]
    assert thin.point.below998  # far below the limits, yet judged on too little evidence
    assert thin.funnel_position == "too little evidence (n = 15, fewer than 20)"
    assert thin not in league.valleys
    assert league.weakest.label == "Store 03" and league.strongest.label == "Store 00"
    assert league.too_little_sentence == (
        "One location has fewer than 20 observations: listed last, unranked, with too little "
        "evidence to call it strong or weak."
    )


def test_only_the_998_limits_put_a_location_above_or_below(admin):
    a, b, c = stores(3)
    league = league_of(admin, [(336, 400), (300, 400), (310, 400)], [a, b, c])
    row = next(row for row in league.rows if row.location == a)
    assert row.point.above95 and not row.point.above998
    assert row.funnel_position == "within the 99.8% limits (above the 95% line: watch)"
    assert league.peaks == [] and league.valleys == []


def test_the_minimum_evidence_comes_from_the_settings(admin, settings):
    settings.MIN_EVIDENCE = 200
    a, b = stores(2)
    league = league_of(admin, [(150, 199), (180, 200)], [a, b])
    assert [(row.label, row.rank) for row in league.rows] == [("Store 01", 1), ("Store 00", None)]
    assert league.strongest is None and league.weakest is None


# --------------------------------------------------------------------------- the sentences


def test_no_location_beyond_the_limits(admin):
    league = league_of(admin, [(320, 400)] * 3, stores(3))
    assert league.limit_sentences == [
        "No location lies beyond the 99.8% limits: the differences between the 3 locations with "
        "enough evidence are within what chance alone produces."
    ]
    assert_whole(league.limit_sentences)


def test_one_location_above_and_one_below_are_named_for_an_admin(admin):
    league = league_of(admin, [(380, 400), (240, 400), (320, 400), (320, 400)], stores(4))
    assert league.limit_sentences == [
        "Above the 99.8% limit, better than chance alone explains: Store 00.",
        "Below the 99.8% limit, worse than chance alone explains: Store 01.",
    ]


def test_several_locations_above_and_below(admin):
    counts = [(380, 400), (380, 400), (240, 400), (240, 400), (240, 400), (320, 400)]
    league = league_of(admin, counts, stores(6))
    assert league.limit_sentences == [
        "Above the 99.8% limit, better than chance alone explains: Store 00 and Store 01.",
        "Below the 99.8% limit, worse than chance alone explains: Store 02, Store 03 and Store 04.",
    ]


def test_a_manager_reads_other_locations_counted_not_named(manager, location_a):
    b, c, d = stores(3)
    league = league_of(manager, [(380, 400), (240, 400), (240, 400), (320, 400)], [location_a, b, c, d])
    assert league.limit_sentences == [
        "Above the 99.8% limit, better than chance alone explains: Alpha Street.",
        "Below the 99.8% limit, worse than chance alone explains: 2 other locations.",
    ]
    assert league.standings == [
        "Alpha Street ranks 4 of 4 by need (1 = the lowest lower bound of the Wilson 95% interval); "
        "on the funnel: above the 99.8% limit."
    ]


def test_a_manager_reads_one_other_location_beside_their_own(manager, location_a):
    b, c, d = stores(3)
    league = league_of(manager, [(380, 400), (380, 400), (240, 400), (320, 400)], [location_a, b, c, d])
    assert league.limit_sentences == [
        "Above the 99.8% limit, better than chance alone explains: Alpha Street and one other location.",
        "Below the 99.8% limit, worse than chance alone explains: one other location.",
    ]
    assert_whole(league.limit_sentences)


def test_a_manager_whose_locations_lie_within_the_limits(manager, location_a):
    b, c = stores(2)
    league = league_of(manager, [(320, 400), (380, 400), (240, 400)], [location_a, b, c])
    assert league.limit_sentences == [
        "Above the 99.8% limit, better than chance alone explains: one other location.",
        "Below the 99.8% limit, worse than chance alone explains: one other location.",
    ]


def test_no_location_with_enough_evidence(manager, location_a):
    (b,) = stores(1)
    league = league_of(manager, [(12, 15), (3, 10)], [location_a, b])
    assert league.limit_sentences == [
        "No location has the 20 observations needed to judge it against the limits."
    ]
    assert league.standings == ["Alpha Street has too little evidence to rank: 15 observations, 20 needed."]
    assert league.strongest is None and league.weakest is None and league.ranked_total == 0


def test_a_single_location_with_enough_evidence(admin, location_a):
    (b,) = stores(1)
    league = league_of(admin, [(30, 40), (3, 10)], [location_a, b])
    assert league.limit_sentences == ["The one location with enough evidence lies within the 99.8% limits."]
    assert (
        league.standing(league.rows[0]) == "Alpha Street is the only location with enough evidence to rank."
    )
    assert league.strongest is None


@pytest.mark.parametrize("user_fixture", ["admin", "manager"])
def test_the_page_writes_the_sentences_whole(client, request, user_fixture, location_a):
    b, c, d = stores(3)
    march_cards([(380, 400), (240, 400), (240, 400), (320, 400)], [location_a, b, c, d])
    client.force_login(request.getfixturevalue(user_fixture))
    body = client.get(PAGE, MARCH).content.decode()
    block = body[body.index('id="limit-sentences"') :]
    block = block[: block.index("</div>")]
    sentences = re.findall(r"<p[^>]*>(.*?)</p>", block)
    assert_whole(sentences)
    expected = "Store 00 and Store 01" if user_fixture == "admin" else "2 other locations"
    assert f"Below the 99.8% limit, worse than chance alone explains: {expected}." in sentences


# --------------------------------------------------------------------------- the page


@pytest.fixture
def march(location_a, location_b):
    """Alpha Street (the manager's) 448 of 500 against a 90 % target; Beta Road 115 of 140; a thin
    third location."""
    (thin,) = stores(1)
    march_cards([(448, 500), (115, 140), (12, 12)], [location_a, location_b, thin])


def test_rates_show_the_decisive_precision_and_the_interval_method(client, admin, march):
    client.force_login(admin)
    body = client.get(PAGE, MARCH).content.decode()
    table = body[body.index('id="league-heading"') :]
    assert "89.6% (n = 500)</a>" in table and "<td>90%</td>" in table
    low, high = stats.wilson_interval(448, 500)
    assert f"<td>{percent_at(low, 1)[:-1]}–{percent_at(high, 1)}</td>" in table
    assert "Wilson 95% interval</th>" in table and "Wilson 95% interval" in body[: body.index("League table")]


def test_each_figure_links_to_exactly_its_evidence(client, manager, location_a, location_b):
    # given observations at two locations in March, rolled up
    standard = factories.StandardFactory(code="GREET")
    at = timezone.make_aware(timezone.datetime(2025, 3, 10, 12, 0))
    for i in range(25):
        factories.ObservationFactory(
            location=location_a, standard=standard, observed_at=at, passed=i % 5 != 0
        )
    for _ in range(30):
        factories.ObservationFactory(location=location_b, standard=standard, observed_at=at)
    scorecards_rollup(full=True)
    client.force_login(manager)

    for params in (MARCH, {**MARCH, "standard": standard.pk}):
        # when the manager follows Alpha Street's figure
        response = client.get(PAGE, params)
        (row,) = response.context["rows"]
        link = re.search(r'<a href="([^"]+)" aria-label="80% \(n = 25\)', response.content.decode())
        assert link, "the rate links to its evidence"
        query = dict(parse_qsl(urlsplit(link.group(1).replace("&amp;", "&")).query))
        assert (
            query
            == row.evidence_params
            == {
                **MARCH,
                "location": str(location_a.pk),
                **({"standard": str(standard.pk)} if "standard" in params else {}),
            }
        )
        # then the observations page counts exactly the 25 behind it
        evidence = client.get(reverse("measurement:observations"), query)
        assert evidence.status_code == 200 and evidence.context["counts"].observations == 25


def test_a_manager_sees_other_locations_anonymously_everywhere(client, manager, location_b, march):
    client.force_login(manager)
    response = client.get(PAGE, MARCH)
    body = response.content.decode()
    assert "Beta Road" not in body and "BBB-01" not in body and f"location={location_b.pk}" not in body
    points = body[body.index('id="funnel-points-heading"') : body.index('id="league-heading"')]
    assert points.count('aria-label="Point ') == 3 and points.count("Other location") >= 2 * 2
    assert [row.evidence_params for row in response.context["league"].rows if not row.mine] == [{}, {}]
    data = json_data(response, "funnel-chart-data")
    assert all(set(point) == {"n", "rate", "label", "mine"} for point in data["points"])


def test_funnel_points_are_named_in_a_table_in_the_chart_order(client, admin, march):
    client.force_login(admin)
    response = client.get(PAGE, MARCH)
    body = response.content.decode()
    data = json_data(response, "funnel-chart-data")
    assert [point["label"] for point in data["points"]] == ["Beta Road", "Alpha Street", "Store 00"]
    names = re.findall(r'data-funnel-point="(\d+)" aria-label="([^"]+)"', body)
    assert [int(index) for index, _ in names] == [0, 1, 2]
    beta = next(row for row in response.context["league"].rows if row.label == "Beta Road")
    assert names[0][1] == f"Point 1: Beta Road, {beta.funnel_rate_text} (n = 140), {beta.funnel_position}"
    thin = response.context["league"].rows[2]
    assert names[2][1] == (
        f"Point 3: Store 00, {thin.funnel_rate_text} (n = 12), too little evidence (n = 12, fewer than 20)"
    )
    assert data["min_evidence"] == 20  # points below it are drawn hollow
    # the axis fits the data, and the limit curves span it
    assert (data["x_min"], data["x_max"]) == funnel_axis([140, 500, 12])
    assert data["limits"]["n"][0] >= max(1, data["x_min"]) and data["limits"]["n"][-1] == data["x_max"]


def test_the_qr_feedback_sheet_is_linked_for_the_users_own_active_locations(
    client, manager, admin, location_b, march
):
    sheet = reverse("feedback-qr-sheet", args=["AAA-01"])
    client.force_login(manager)
    body = client.get(PAGE, MARCH).content.decode()
    assert f'href="{sheet}"' in body and "QR feedback sheet" in body
    assert client.get(sheet).status_code == 200
    location_b.active = False
    location_b.save()
    client.force_login(admin)
    body = client.get(PAGE, MARCH).content.decode()
    assert f'href="{sheet}"' in body and reverse("feedback-qr-sheet", args=["S-00"]) in body
    assert reverse("feedback-qr-sheet", args=["BBB-01"]) not in body


def test_the_csv_ranks_by_need_and_leaves_thin_locations_unranked(client, admin, march):
    client.force_login(admin)
    rows = csv_rows(client.get(PAGE, {**MARCH, "format": "csv"}))
    assert [row[:4] for row in rows[1:]] == [
        ["1", "2", "BBB-01", "Beta Road"],
        ["2", "2", "AAA-01", "Alpha Street"],
        ["", "2", "S-00", "Store 00"],
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"period_kind": "nonsense"},
        {"period_start": "2025-02-30"},
        {"standard": "x"},
        {"standard": "99999999999999999999999999"},
        {"period_kind": "month", "period_start": "9999-12-31"},
    ],
)
def test_odd_parameters_never_break_the_page(client, manager, march, params):
    client.force_login(manager)
    assert client.get(PAGE, params).status_code == 200


# --------------------------------------------------------------------------- the rolling period


@pytest.fixture
def april_2nd(monkeypatch, manager, location_a, location_b):
    """The dashboards stand on 2 April 2025. Alpha Street (the manager's): 25 observations on 10 March
    (20 passed) and 2 on 1 April; Beta Road 30 on 20 March; all rolled up."""
    monkeypatch.setattr("measurement.selectors.common.dashboard_today", lambda: date(2025, 4, 2))
    standard = factories.StandardFactory(code="GREET")
    for day, location, count, failing in ((10, location_a, 25, 5), (20, location_b, 30, 0)):
        at = timezone.make_aware(timezone.datetime(2025, 3, day, 12, 0))
        for i in range(count):
            factories.ObservationFactory(
                location=location, standard=standard, observed_at=at, passed=i >= failing
            )
    for _ in range(2):
        at = timezone.make_aware(timezone.datetime(2025, 4, 1, 12, 0))
        factories.ObservationFactory(location=location_a, standard=standard, observed_at=at)
    scorecards_rollup(full=True)
    return standard


def test_the_page_opens_on_the_rolling_period_stated_in_words(client, manager, location_a, april_2nd):
    client.force_login(manager)
    response = client.get(PAGE)
    body = response.content.decode()
    assert response.context["selection"].is_rolling
    assert "Last 30 days, 4 Mar – 2 Apr 2025</h2>" in body
    (row,) = response.context["rows"]
    assert (row.label, row.observations, row.passed, row.rank) == ("Alpha Street", 27, 22, 1)
    assert row.evidence_params == {"from": "2025-03-04", "to": "2025-04-02", "location": str(location_a.pk)}
    evidence = client.get(reverse("measurement:observations"), row.evidence_params)
    assert evidence.context["counts"].observations == 27
    # the same for one standard, from the location × standard day scorecards
    (row,) = client.get(PAGE, {"standard": april_2nd.pk}).context["rows"]
    assert row.evidence_params == {
        "from": "2025-03-04",
        "to": "2025-04-02",
        "standard": str(april_2nd.pk),
        "location": str(location_a.pk),
    }
    evidence = client.get(reverse("measurement:observations"), row.evidence_params)
    assert (row.observations, evidence.context["counts"].observations) == (27, 27)
    # the calendar periods are still offered: April, two days old, has too little evidence to rank
    assert '<option value="month"' in body
    april = client.get(PAGE, {"period_kind": "month", "period_start": "2025-04-01"})
    (row,) = april.context["rows"]
    assert (row.observations, row.rank, row.enough_evidence) == (2, None, False)


def test_the_rolling_league_exports_its_span(client, admin, april_2nd):
    client.force_login(admin)
    response = client.get(PAGE, {"format": "csv"})
    assert 'filename="league-rolling-2025-03-04-2025-04-02.csv"' in response["Content-Disposition"]
    assert [row[:5] for row in csv_rows(response)[1:]] == [
        ["1", "2", "AAA-01", "Alpha Street", "27"],
        ["2", "2", "BBB-01", "Beta Road", "30"],
    ]


# --------------------------------------------------------------------------- query counts


def many(count, manager, standard):
    for location in stores(count):
        manager.employee.managed_locations.add(location)
        card(location=location, n=40 + count, passed=30)
        card(grain=Grain.LOCATION_STANDARD, location=location, standard=standard, n=20, passed=15)
        # yesterday's day scorecard, for the rolling period
        card(location=location, n=25, passed=20, kind="day", start=dashboard_today() - timedelta(days=1))
    card(grain=Grain.ORGANISATION, n=(40 + count) * count, passed=30 * count)


# The whole page, whatever the number of locations: nine queries (eight for the CSV).
MAX_QUERIES = 9


@pytest.mark.parametrize("count", [3, 80])
@pytest.mark.parametrize(
    "extra", [{}, {"format": "csv"}, {"standard": "standard"}, {"period_kind": "rolling"}]
)
def test_the_page_has_a_fixed_query_budget(client, manager, django_assert_max_num_queries, count, extra):
    standard = factories.StandardFactory(code="QC")
    many(count, manager, standard)
    params = {**MARCH, **{key: standard.pk if value == "standard" else value for key, value in extra.items()}}
    client.force_login(manager)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(PAGE, params)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200


def test_the_league_and_its_funnel_points_are_listed_25_locations_a_page_and_the_chart_draws_all(
    client, admin
):
    locations = stores(30)
    march_cards([(i, 40) for i in range(30)], locations)
    client.force_login(admin)

    first = client.get(PAGE, MARCH)
    second = client.get(PAGE, {**MARCH, "page": 2, "points_page": 2})

    assert len(first.context["rows"]) == 25 and len(second.context["rows"]) == 5
    # The lowest lower bound first: the rows of both pages are the whole league in its order.
    league = first.context["league"]
    assert first.context["rows"] + second.context["rows"] == league.rows
    assert len(json_data(first, "funnel-chart-data")["points"]) == 30
    body = second.content.decode()
    points = body[body.index('id="funnel-points-heading"') : body.index('id="league-heading"')]
    # Points keep their number in the chart's order on every page.
    assert points.count('aria-label="Point ') == 5 and 'data-funnel-point="25"' in points
    assert "Points 26–30 of 30" in points and "Locations 26–30 of 30" in body
    assert "points_page=1" in points and "period_start=2025-03-01" in points
