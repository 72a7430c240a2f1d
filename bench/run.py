"""Benchmark of the measurement pipeline on PostgreSQL: intake, rollups, freshness and pages.

    .venv/bin/python bench/run.py                      # 1,000,000 observations (about 11 minutes)
    .venv/bin/python bench/run.py --n 100000           # a quick run while iterating
    .venv/bin/python bench/run.py --database-url postgres://postgres@127.0.0.1:5432/servicedesk_bench
    .venv/bin/python bench/run.py --pages-only         # (d) only, on the database of an earlier run

Run by hand, never by the test suite. The database named by ``--database-url`` (else the
``DATABASE_URL`` environment variable, else ``postgres://postgres@127.0.0.1:5432/servicedesk_bench``)
is **dropped and created again** (``--pages-only`` keeps it and its data): its name must contain
``bench`` so that a developer's real database can never be wiped by mistake. SQLite is refused:
the figures compare the pipeline with PostgreSQL's own ``COPY`` and ``GROUP BY``.

What one run measures and prints (see bench/README.md for the reasoning behind each figure):

(a) intake: ``import_observations`` on a generated CSV file (the real command), the
    ``POST /api/v1/observations/`` batch endpoint (the real DRF view through Django's test
    client, token authentication, 5,000 items per call), and PostgreSQL's ``COPY`` of the same
    rows into a scratch copy of the table (``LIKE measurement_observation INCLUDING ALL``);
(b) the full rollup (``scorecards_rollup(full=True)``) on an empty scorecard table and again on a
    filled one, beside one raw ``SELECT … GROUP BY day, location, standard`` over the same rows;
(c) an incremental rollup after 1 % new rows recorded through the intake service;
(d) the main manager pages and API lists at this size, served by gunicorn (two workers) to an admin
    and to the manager of one location, timed against the login page in the same rounds; their
    SQL queries counted once through Django's test client;
(e) the ratios against the targets of issue 11, each marked met or not met;
(f) freshness: a failed observation of a non-negotiable standard committed through the intake,
    until its corrective action exists, with a real Celery worker on Redis started by the bench.

Every comparison is measured interleaved in the same run (A B A B …) and its medians compared.
The report ends with one ``RESULT name=value`` line per figure of issue 11.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import io
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/servicedesk_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

# The shape of the organisation (issue 3, scope 7).
LOCATIONS = 500
STANDARDS = 60
EMPLOYEES = 2000
TEAMS_PER_LOCATION = 2
TOUCHPOINTS = 20
DAYS = 365
API_BATCH = 5000

# (d) The main manager pages and API lists: (label, URL name, query string). The tree has no
# list page of evaluations: they are timed through their API list.
PAGES = [
    ("home", "home", ""),
    ("scorecards (default month)", "measurement:scorecards", ""),
    ("scorecards by employee", "measurement:scorecards", "grain=employee"),
    ("consistency", "measurement:consistency", ""),
    ("observations (first page)", "measurement:observations", ""),
    ("training matrix", "training:matrix", ""),
    ("consequence inbox", "consequences:inbox", ""),
    ("gap heatmap", "gap_analysis:heatmap", ""),
    ("cases queue", "cases:queue", ""),
    ("feedback inbox", "cases:feedback", ""),
    ("API observations", "api:observation-list", ""),
    ("API feedback", "api:feedback-list", ""),
    ("API scorecards", "api:scorecard-list", ""),
    ("API evaluations", "api:evaluation-list", ""),
    ("API cases", "api:case-list", ""),
]
MINIMAL_PAGE = "/accounts/login/"  # the yardstick of the pages: the login page, anonymous
GUNICORN_WORKERS = 2
SLOW_PAGE_MS = 500  # a page slower than this gets its slowest query named in the report
SLOW_WARMUP_SECONDS = 10  # a page whose warm-up took longer is not opened again

# Targets of issue 11 on this 2-core machine: (RESULT name, target, floor, higher is better).
TARGETS = {
    "intake_rows_per_s": (50_000, 30_000, True),
    "full_vs_grouping_sets": (0.6, 1.0, False),
    "incremental_vs_groupby": (1.0, 1.5, False),
    "freshness_s": (10, 30, False),
    "page_vs_minimal_max": (5, 10, False),
}


# --------------------------------------------------------------------------- set-up


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="observations to load (default 1,000,000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_URL,
        help=f"scratch PostgreSQL database, dropped and created again (default {DEFAULT_URL})",
    )
    parser.add_argument(
        "--api-rows",
        type=int,
        default=None,
        help="of the N observations, how many go through the API (default: 5 %% of N, at least one batch)",
    )
    parser.add_argument(
        "--feedback-share",
        type=float,
        default=0.05,
        help="customer feedback answers per observation, loaded untimed (default 0.05)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        help="Redis of the worker and the cache, for (f) freshness (default: REDIS_URL, else "
        f"{DEFAULT_REDIS_URL}); nothing is deleted from it but the rollup request flag",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of each interleaved comparison (A B A B …); medians are compared (default 3)",
    )
    parser.add_argument(
        "--freshness-repeat",
        type=int,
        default=5,
        help="observations timed from commit to consequence, one after the other (median; default 5)",
    )
    parser.add_argument(
        "--skip-freshness", action="store_true", help="leave out (f), the real worker on Redis"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--shuffled",
        action="store_true",
        help="load the history in random order of time instead of oldest first (a worst case: a "
        "period's rows then lie on as many pages as it has rows, and inserts land all over the indexes)",
    )
    parser.add_argument(
        "--portable-rollup",
        action="store_true",
        help="roll up with the portable ORM path (one query per grain and period kind), for comparison",
    )
    parser.add_argument(
        "--skip-pages", action="store_true", help="leave out (d), the timing of the manager pages"
    )
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="keep the database and its data from an earlier run (loaded and rolled up), run ANALYZE "
        "and time only (d), the manager pages; the options of the other steps are ignored",
    )
    parser.add_argument(
        "--page-timeout",
        type=float,
        default=60,
        help="seconds after which PostgreSQL cancels a page's query, failing the page (default 60)",
    )
    parser.add_argument(
        "--page-repeat",
        type=int,
        default=5,
        help="timed rounds of GETs of every page and user (and of the login page) after one warm-up "
        "round; medians are reported (default 5)",
    )
    args = parser.parse_args(argv)
    if not 1000 <= args.n <= 10_000_000:
        parser.error("--n must lie between 1,000 and 10,000,000")
    if args.page_repeat < 1 or args.repeat < 1 or args.freshness_repeat < 1:
        parser.error("--repeat, --page-repeat and --freshness-repeat must be at least 1")
    if args.pages_only and args.skip_pages:
        parser.error("--pages-only and --skip-pages leave nothing to run")
    if args.api_rows is None:
        args.api_rows = max(API_BATCH, args.n // 20)
    args.api_rows = min(args.api_rows, args.n // 2)
    return args


def refuse_unsafe_database(url: str) -> str:
    """The database name, after checking that the URL names a scratch PostgreSQL database."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(
            f"bench/run.py runs on PostgreSQL only, and {parts.scheme or url!r} is not PostgreSQL: "
            "the benchmark compares the pipeline with PostgreSQL's own COPY and GROUP BY. "
            f"Pass --database-url {DEFAULT_URL} (or any scratch database whose name contains 'bench')."
        )
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(
            f"Refusing to use the database {name!r}: the benchmark drops and recreates its database, so "
            "its name must contain 'bench' (e.g. servicedesk_bench). Pass --database-url."
        )
    return name


def _maintenance_connection(url: str):
    """A connection to the server's maintenance database, outside any transaction."""
    import psycopg2

    maintenance = urlsplit(url)._replace(path="/postgres").geturl()
    connection = psycopg2.connect(maintenance.replace("postgres://", "postgresql://", 1))
    connection.autocommit = True
    return connection


def recreate_database(url: str, name: str) -> None:
    """Drop and create the scratch database through the server's maintenance database."""
    from psycopg2 import sql

    connection = _maintenance_connection(url)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()


def database_exists(url: str, name: str) -> bool:
    connection = _maintenance_connection(url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        found = cursor.fetchone() is not None
    connection.close()
    return found


# The configured ROLLUP_AFTER_COMMIT_SECONDS, kept while the loads run with it off.
AFTER_COMMIT = {"seconds": 0}


def start_django(url: str, redis_url: str) -> dict:
    """Django in this process on the benchmark's database and Redis; returns the environment of the
    processes the bench starts (worker, gunicorn), which share its secret key and so its sessions."""
    sys.path.insert(0, str(ROOT))
    secret_key = secrets.token_urlsafe(40)
    os.environ.update(DATABASE_URL=url, REDIS_URL=redis_url, SECRET_KEY=secret_key)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
    import django

    django.setup()
    from django.conf import settings

    from bench.processes import production_environment

    # DEBUG keeps a log of every query; production runs without it.
    settings.DEBUG = False
    # The rollups are timed on purpose below; a rollup that the loads ask for after their commits
    # would run beside them. (f) switches it back on.
    AFTER_COMMIT["seconds"] = settings.ROLLUP_AFTER_COMMIT_SECONDS
    settings.ROLLUP_AFTER_COMMIT_SECONDS = 0
    # Django's test client (the API batches, the pages) sends requests for the host "testserver".
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    var_dir = tempfile.mkdtemp(prefix="bench-var-")
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
    return production_environment(
        database_url=url, redis_url=redis_url, secret_key=secret_key, var_dir=var_dir
    )


# --------------------------------------------------------------------------- reference data


@dataclass
class Organisation:
    """Codes and ids the generated evidence refers to."""

    locations: list[tuple[int, str]]  # (id, code)
    teams: dict[int, list[str]]  # location id → team names
    employees: dict[int, list[tuple[str, str]]]  # location id → (employee number, team name)
    standards: list[tuple[str, str, Decimal | None]]  # (code, measure kind, threshold)
    touchpoints: list[str]  # slugs
    admin_token: str = ""
    admin_user_id: int = 0  # role admin: the "Admins" group and is_staff
    manager_user_id: int = 0  # role manager, managing the first location only
    end: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    )


def create_organisation(rng: random.Random) -> Organisation:
    """500 locations with 2 teams and 4 employees each, 60 standards, 20 touchpoints; an admin and
    the manager of the first location, made as the demo makes them (``employee_create``, so that
    each has their role's group, and the admin is_staff)."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from organization.models import Employee, Location, Role, Team
    from organization.services import employee_create
    from standards.models import Standard
    from touchpoints.models import Touchpoint

    locations = Location.objects.bulk_create(
        Location(code=f"L{i:04d}", name=f"Store {i}", region=f"Region {i % 12}") for i in range(LOCATIONS)
    )
    teams = Team.objects.bulk_create(
        Team(name=f"Team {t}", location=location) for location in locations for t in range(TEAMS_PER_LOCATION)
    )
    users = User.objects.bulk_create(User(username=f"bench{i}") for i in range(EMPLOYEES))
    hired = date(2020, 1, 1)
    employees = Employee.objects.bulk_create(
        Employee(
            user=user,
            employee_number=f"E{i:05d}",
            location=teams[i % len(teams)].location,
            team=teams[i % len(teams)],
            hired_on=hired,
        )
        for i, user in enumerate(users)
    )
    profiles = {}
    for role, number in ((Role.ADMIN, "ADMIN"), (Role.MANAGER, "MANAGER")):
        profiles[role] = employee_create(
            username=f"bench-{number.lower()}",
            first_name="Bench",
            last_name=number.title(),
            email=f"bench-{number.lower()}@example.com",
            employee_number=number,
            location=locations[0],
            hired_on=hired,
            role=role,
        )
    profiles[Role.MANAGER].managed_locations.add(locations[0])
    admin = profiles[Role.ADMIN].user
    Standard.objects.bulk_create(_standard(i) for i in range(STANDARDS))
    Touchpoint.objects.bulk_create(
        Touchpoint(name=f"Touchpoint {i}", slug=f"tp-{i}", channel="in_person", journey_stage="buy")
        for i in range(TOUCHPOINTS)
    )
    organisation = Organisation(
        locations=[(location.pk, location.code) for location in locations],
        teams={},
        employees={},
        standards=list(Standard.objects.values_list("code", "measure_kind", "threshold")),
        touchpoints=[f"tp-{i}" for i in range(TOUCHPOINTS)],
        admin_token=Token.objects.create(user=admin).key,
        admin_user_id=admin.pk,
        manager_user_id=profiles[Role.MANAGER].user_id,
    )
    for team in teams:
        organisation.teams.setdefault(team.location_id, []).append(team.name)
    team_names = {team.pk: team.name for team in teams}
    for employee in employees:
        organisation.employees.setdefault(employee.location_id, []).append(
            (employee.employee_number, team_names[employee.team_id])
        )
    return organisation


def _standard(i: int):
    """40 pass/fail standards (5 of them non-negotiable), 10 numeric and 10 rating ones."""
    from standards.models import Standard

    common = {
        "code": f"S{i:03d}",
        "title": f"Standard {i}",
        "behaviour": "Greets the customer",
        "status": "active",
        "effective_from": date(2024, 1, 1),
        "target_rate": Decimal(80 + i % 20),
    }
    if i < 5:
        return Standard(**common | {"non_negotiable": True, "target_rate": Decimal(100)})
    if i < 40:
        return Standard(**common)
    if i < 50:
        return Standard(**common, measure_kind="numeric", comparator="lte", threshold=Decimal(60), unit="s")
    return Standard(**common, measure_kind="rating", comparator="gte", threshold=Decimal(4))


# --------------------------------------------------------------------------- generated evidence


def observation_rows(
    org: Organisation, rng: random.Random, count: int, prefix: str, days: int, *, shuffled: bool = False
) -> Iterator[dict]:
    """`count` observations as the intake receives them (codes, ISO timestamps), spread over the
    last `days` days before `org.end`: most with an employee (and so a team), most with a touchpoint.

    Oldest first, as evidence arrives and as an export of history is written, unless `shuffled`.
    The order decides whether a period's observations share table pages (what the incremental
    rollup reads) and whether the index on observed_at grows at one end or everywhere (what each
    insert, COPY included, writes)."""
    span = days * 24 * 3600
    ages = [rng.randrange(1, span) for _ in range(count)]
    if not shuffled:
        ages.sort(reverse=True)
    for number, age in enumerate(ages):
        location_id, location_code = rng.choice(org.locations)
        team = employee = ""
        draw = rng.random()
        if draw < 0.7:
            employee, team = rng.choice(org.employees[location_id])
        elif draw < 0.85:
            team = rng.choice(org.teams[location_id])
        code, kind, threshold = rng.choice(org.standards)
        value = passed = ""
        if kind == "pass_fail":
            passed = "true" if rng.random() < 0.85 else "false"
        elif kind == "numeric":
            value = str(rng.randint(5, 90))
        else:
            value = str(rng.randint(1, 5))
        observed_at = org.end - timedelta(seconds=age)
        yield {
            "external_id": f"{prefix}-{number}",
            "standard": code,
            "location": location_code,
            "team": team,
            "employee": employee,
            "touchpoint": rng.choice(org.touchpoints) if rng.random() < 0.8 else "",
            "source": "operational",
            "observed_at": observed_at.isoformat(),
            "value": value,
            "passed": passed,
            "comment": "",
        }


def write_csv(path: Path, rows: Iterator[dict]) -> int:
    from measurement.services.intake import OBSERVATION_FIELDS

    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=OBSERVATION_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def load_feedback(org: Organisation, rng: random.Random, count: int) -> None:
    """Customer answers over the same year (untimed: the feedback intake is not benchmarked)."""
    from measurement.models import Feedback
    from touchpoints.models import Touchpoint

    touchpoints = list(Touchpoint.objects.values_list("pk", flat=True))
    span = DAYS * 24 * 3600
    batch = []
    for _ in range(count):
        batch.append(
            Feedback(
                touchpoint_id=rng.choice(touchpoints),
                location_id=rng.choice(org.locations)[0],
                submitted_at=org.end - timedelta(seconds=rng.randrange(1, span)),
                csat=rng.choice([None, 1, 2, 3, 4, 5, 5]),
                nps=rng.choice([None, 0, 3, 6, 7, 8, 9, 10]),
                comment="Thank you",
            )
        )
        if len(batch) == 5000:
            Feedback.objects.bulk_create(batch)
            batch = []
    Feedback.objects.bulk_create(batch)


# --------------------------------------------------------------------------- measurements


@dataclass
class Timing:
    label: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def timed(function: Callable[[], object]) -> tuple[float, object]:
    checkpoint()
    started = time.perf_counter()
    outcome = function()
    return time.perf_counter() - started, outcome


def measure_csv_import(path: Path, rows: int) -> Timing:
    from django.core.management import call_command

    out = io.StringIO()
    seconds, _ = timed(
        lambda: call_command("import_observations", str(path), stdout=out, stderr=io.StringIO())
    )
    if "Imported observations" not in out.getvalue():
        sys.exit(f"The CSV import failed: {out.getvalue()}")
    return Timing("CSV import (`manage.py import_observations`)", rows, seconds)


def measure_api(org: Organisation, rng: random.Random, rows: int, *, shuffled: bool) -> Timing:
    """POST the rows in batches of 5,000 through the real view; the JSON is encoded beforehand."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {org.admin_token}")
    generated = list(observation_rows(org, rng, rows, "api", DAYS, shuffled=shuffled))
    bodies = [json.dumps(generated[i : i + API_BATCH]) for i in range(0, rows, API_BATCH)]
    seconds = 0.0
    for body in bodies:
        elapsed, response = timed(
            lambda body=body: client.post("/api/v1/observations/", body, content_type="application/json")
        )
        if response.status_code != 201:
            sys.exit(f"The API refused a batch ({response.status_code}): {response.content[:500]!r}")
        seconds += elapsed
    return Timing(f"API batch endpoint (`POST /api/v1/observations/`, {API_BATCH:,} per call)", rows, seconds)


def measure_copy(rows: int) -> list[Timing]:
    """PostgreSQL's own COPY of the same rows into empty copies of the table: one as the issue
    asks (``LIKE … INCLUDING ALL``: columns, checks and indexes), one that also has the foreign
    keys the table has (``LIKE`` leaves them out; the real table checks them at commit). Since
    migration 0010 those are only the three the intake leaves null in these rows (supersedes,
    evaluation, recorded_by): the references to standards, locations, teams, employees and
    touchpoints are checked by the intake, once per batch."""
    from django.db import connection, transaction

    timings = []
    with connection.cursor() as cursor:
        dump = io.BytesIO()
        cursor.copy_expert("COPY measurement_observation TO STDOUT", dump)
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'measurement_observation'::regclass AND contype = 'f'"
        )
        foreign_keys = [definition for (definition,) in cursor.fetchall()]
        for label, constraints in (
            ("PostgreSQL `COPY` of the same rows (`LIKE … INCLUDING ALL`: same indexes)", []),
            ("the same `COPY`, with the foreign keys the table has (checked at commit)", foreign_keys),
        ):
            cursor.execute("DROP TABLE IF EXISTS bench_observation_copy")
            cursor.execute("CREATE TABLE bench_observation_copy (LIKE measurement_observation INCLUDING ALL)")
            for definition in constraints:
                cursor.execute(f"ALTER TABLE bench_observation_copy ADD {definition}")
            dump.seek(0)

            def copy() -> None:
                with transaction.atomic():
                    cursor.copy_expert("COPY bench_observation_copy FROM STDIN", dump)

            seconds, _ = timed(copy)
            timings.append(Timing(label, rows, seconds))
        cursor.execute("DROP TABLE bench_observation_copy")
    return timings


# Issue 3's yardstick: one grouping (day × location × standard) of the observations.
RAW_GROUP_BY = """
    SELECT date_trunc('day', observed_at AT TIME ZONE %(tz)s), location_id, standard_id,
           count(*), count(*) FILTER (WHERE passed)
    FROM measurement_observation
    GROUP BY 1, 2, 3
"""

# Context for the gap: the 28 groupings (7 grains × 4 period kinds) a rollup computes, as one
# raw query with the same two counts: PostgreSQL's own cost of producing that many groups.
_PERIOD_SETS = ", ".join(
    f"({period}{columns})"
    for period in ("day", "week", "month", "quarter")
    for columns in ("", ", location_id", ", team_id", ", employee_id", ", standard_id", ", touchpoint_id",
                    ", location_id, standard_id")
)  # fmt: skip
RAW_GROUPING_SETS = f"""
    SELECT day, week, month, quarter, location_id, team_id, employee_id, standard_id, touchpoint_id,
           count(*), count(*) FILTER (WHERE passed)
    FROM (
        SELECT date_trunc('day', local) AS day, date_trunc('week', local) AS week,
               date_trunc('month', local) AS month, date_trunc('quarter', local) AS quarter,
               location_id, team_id, employee_id, standard_id, touchpoint_id, passed
        FROM measurement_observation, LATERAL (SELECT observed_at AT TIME ZONE %(tz)s AS local) AS l
    ) AS observations
    GROUP BY GROUPING SETS ({_PERIOD_SETS})
"""


@dataclass
class QueryTiming:
    label: str
    client: float | None  # executed and every row fetched by psycopg2 (None: not fetched)
    server: float  # EXPLAIN ANALYZE's execution time
    groups: int | None


def measure_query(label: str, sql: str, *, fetch: bool = True) -> QueryTiming:
    """One run inside the server (`EXPLAIN ANALYZE`), and with `fetch` one as a client sees it
    (every row fetched) before it."""
    from django.conf import settings
    from django.db import connection

    params = {"tz": settings.TIME_ZONE}
    client = groups = None
    with connection.cursor() as cursor:
        if fetch:
            client, rows = timed(lambda: (cursor.execute(sql, params), cursor.fetchall())[1])
            groups = len(rows)
        checkpoint()
        cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", params)
        server = cursor.fetchone()[0][0]["Execution Time"] / 1000
    return QueryTiming(label, client, server, groups)


def median_query(timings: list[QueryTiming]) -> QueryTiming:
    clients = [t.client for t in timings if t.client is not None]
    return QueryTiming(
        timings[0].label,
        statistics.median(clients) if clients else None,
        statistics.median(t.server for t in timings),
        timings[-1].groups,
    )


def measure_rollup(*, full: bool, past_margin: bool = True):
    """One timed rollup. With `past_margin` the run is told it runs one in-flight margin later
    than it does: the bench is the only writer and every row it wrote has committed, so this is
    what a run after the margin would see, without waiting for it; and a run after another sees
    only the rows written between them, as the next run in production does."""
    from django.utils import timezone

    from measurement.services.rollup import IN_FLIGHT_MARGIN, scorecards_rollup

    def run():
        now = timezone.now() + IN_FLIGHT_MARGIN if past_margin else None
        return scorecards_rollup(full=full, now=now)

    return timed(run)


def empty_scorecards() -> None:
    """Back to the state before the first rollup: no scorecards, no watermark (the next run is a
    backfill). Any other table of the rollup's output named like it is emptied too."""
    from django.apps import apps
    from django.db import connection

    from measurement.models import RollupState

    tables = [
        model._meta.db_table
        for model in apps.get_app_config("measurement").get_models()
        if "scorecard" in model._meta.db_table
    ]
    from consequences.models import Consequence

    # Consequences cite scorecards; none exist yet when the backfills run (no rule is made before
    # (f)), so CASCADE empties nothing else.
    if Consequence.objects.exists():
        sys.exit("The scorecards cannot be emptied for a backfill: consequences cite them")
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    RollupState.objects.all().delete()


@dataclass
class RollupRounds:
    grouping_sets: list[QueryTiming] = field(default_factory=list)
    backfill: list[tuple[float, object]] = field(default_factory=list)
    nightly: list[tuple[float, object]] = field(default_factory=list)
    group_by: list[QueryTiming] = field(default_factory=list)
    incremental: list[tuple[float, object]] = field(default_factory=list)
    late: list[Timing] = field(default_factory=list)


def measure_full_rounds(rounds: RollupRounds, repeat: int) -> None:
    """`repeat` rounds of: raw GROUPING SETS, a backfill (first run on an empty scorecard table),
    the nightly rebuild (scorecards in place). Autovacuum's work after each write is done untimed."""
    for number in range(repeat):
        step("round %d/%d: raw GROUPING SETS of the 28 groupings", number + 1, repeat)
        rounds.grouping_sets.append(
            measure_query("raw `GROUPING SETS` of the rollup's 28 groupings", RAW_GROUPING_SETS, fetch=False)
        )
        empty_scorecards()
        vacuum_analyze()
        step("round %d/%d: backfill", number + 1, repeat)
        rounds.backfill.append(measure_rollup(full=True))
        vacuum_analyze()
        step("round %d/%d: nightly rebuild", number + 1, repeat)
        rounds.nightly.append(measure_rollup(full=True))
        vacuum_analyze()


def measure_incremental_rounds(
    org: Organisation, rng: random.Random, rounds: RollupRounds, repeat: int, count: int
) -> None:
    """`repeat` rounds of: `count` (1 % of N) new rows through the intake (not part of the ratio),
    one raw GROUP BY day × location × standard, the incremental rollup that takes those rows in."""
    for number in range(repeat):
        step("round %d/%d: 1 %% new rows, raw GROUP BY, incremental rollup", number + 1, repeat)
        rounds.late.append(add_new_rows(org, rng, count, f"late{number}"))
        rounds.group_by.append(measure_query("raw `SELECT … GROUP BY day, location, standard`", RAW_GROUP_BY))
        rounds.incremental.append(measure_rollup(full=False))


def add_new_rows(org: Organisation, rng: random.Random, count: int, prefix: str = "late") -> Timing:
    """1 % new observations of the last two days, through the intake service (as a worker would)."""
    from measurement.services.intake import observations_ingest

    rows = list(enumerate(observation_rows(org, rng, count, prefix, 2)))
    seconds, result = timed(lambda: observations_ingest(rows))
    if result.errors:
        sys.exit(f"The intake refused the new rows: {result.errors[:5]}")
    return Timing("intake service (`observations_ingest`), the 1 % new rows", count, seconds)


def checkpoint() -> None:
    """Start a timed step on a checkpoint, so that none pays for the full-page writes that the one
    before caused (PostgreSQL writes a page whole to the WAL the first time it changes after a
    checkpoint). Needs superuser or pg_checkpoint; skipped otherwise."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        pass


def vacuum_analyze() -> None:
    """What autovacuum does after a bulk load; both the rollup and the raw query profit alike."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("measurement_observation", "measurement_feedback", "measurement_scorecard"):
            cursor.execute(f"VACUUM ANALYZE {table}")


@dataclass
class PageTiming:
    page: str
    url: str
    user: str
    status: int | None = None  # None: the view raised (or a query hit the statement timeout)
    milliseconds: float = 0.0  # median of the timed GETs, the body read to its end
    sql_milliseconds: float = 0.0  # median of the time spent in the GETs' SQL queries
    queries: list[int] = field(default_factory=list)  # per timed GET
    kilobytes: float = 0.0
    slowest_query: tuple[float, str] = (0.0, "")  # (ms, SQL) of the slowest query of any GET
    gets: int = 0  # timed GETs behind the median: 1 when the warm-up alone was too slow to repeat
    error: str = ""
    served_status: int | None = None  # under gunicorn
    served_milliseconds: float = 0.0  # median under gunicorn, the body read to its end
    served_kilobytes: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error


@dataclass
class _Get:
    status: int | None
    seconds: float
    queries: list[tuple[float, str]]  # (seconds, SQL)
    size: int
    error: str


def measure_pages(admin_user_id: int, manager_user_id: int, repeat: int, timeout: float) -> list[PageTiming]:
    """Each page of PAGES for each of the two users: one warm-up GET, then `repeat` timed GETs with
    their SQL queries captured. A streamed response is read to its end inside the timing. A warm-up
    slower than SLOW_WARMUP_SECONDS is the page's only GET; a query slower than `timeout` seconds is
    cancelled (PostgreSQL's statement_timeout) and fails the page."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.urls import reverse

    users = get_user_model().objects.in_bulk([admin_user_id, manager_user_id])
    timings = []
    for label, user_id in (("admin", admin_user_id), ("manager of 1 location", manager_user_id)):
        client = _page_client(users[user_id])
        for page, name, query in PAGES:
            url = reverse(name) + (f"?{query}" if query else "")
            timing = PageTiming(page, url, label)
            timings.append(timing)
            gets = [_timed_get(client, url, timeout)]  # the warm-up
            if not gets[0].error and gets[0].seconds <= SLOW_WARMUP_SECONDS:
                gets = []
                while len(gets) < repeat and not (gets and gets[-1].error):
                    gets.append(_timed_get(client, url, timeout))
            timing.gets = len(gets)
            timing.status = gets[-1].status
            timing.error = next((f"{url} as {label}: {get.error}" for get in gets if get.error), "")
            timing.milliseconds = statistics.median(get.seconds for get in gets) * 1000
            timing.sql_milliseconds = statistics.median(sum(s for s, _ in get.queries) for get in gets) * 1000
            timing.queries = [len(get.queries) for get in gets]
            timing.kilobytes = gets[-1].size / 1024
            timing.slowest_query = max(
                (s * 1000, sql) for get in gets for s, sql in [(0.0, ""), *get.queries]
            )
            if timing.error:
                step("FAILED: %s", timing.error)
            else:
                step("%s as %s: %.0f ms, %d queries", url, label, timing.milliseconds, max(timing.queries))
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    return timings


def _page_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _timed_get(client, url: str, timeout: float) -> _Get:
    """One GET with its queries captured; a view that raises is a failure of the page, not of the run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cursor:  # outside the capture; again after a failure closed the connection
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{timeout * 1000:.0f}"])
    status, size, error = None, 0, ""
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        try:
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            status, size = response.status_code, len(body)
            if status != 200:
                error = f"status {status}"
        except Exception as exception:
            error = f"{type(exception).__name__}: {' '.join(str(exception).split())[:300]}"
            traceback.print_exc(file=sys.stderr)
        seconds = time.perf_counter() - started
    if error and status is None:
        connection.close()  # whatever state the failed request left it in
    return _Get(
        status, seconds, [(float(q["time"]), q["sql"]) for q in captured.captured_queries], size, error
    )


def measure_served_pages(
    environment: dict, admin_user_id: int, manager_user_id: int, repeat: int, pages: list[PageTiming]
) -> float:
    """The pages again, served by gunicorn with GUNICORN_WORKERS workers: one warm-up round, then
    `repeat` rounds each opening the login page (anonymous) and then every page as each user, one
    request at a time. Fills each PageTiming's `served_*` fields; returns the login page's median
    in milliseconds. The users are signed in by a session made here (same database and key)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from bench.processes import gunicorn

    users = get_user_model().objects.in_bulk([admin_user_id, manager_user_id])
    labels = {"admin": admin_user_id, "manager of 1 location": manager_user_id}
    cookies = {
        label: f"{settings.SESSION_COOKIE_NAME}="
        + _page_client(users[user_id]).cookies[settings.SESSION_COOKIE_NAME].value
        for label, user_id in labels.items()
    }
    login: list[float] = []
    samples: dict[tuple[str, str], list[float]] = {(page.url, page.user): [] for page in pages}
    with gunicorn(environment, workers=GUNICORN_WORKERS) as server:
        for number in range(repeat + 1):  # round 0 warms up every worker's caches and is not kept
            status, seconds, _ = server.get(MINIMAL_PAGE)
            if status != 200:
                sys.exit(f"The login page answered {status} under gunicorn")
            if number:
                login.append(seconds)
            for page in pages:
                status, seconds, size = server.get(page.url, cookies[page.user])
                page.served_status = status
                page.served_kilobytes = size / 1024
                if number:
                    samples[(page.url, page.user)].append(seconds)
            step("served round %d/%d: login %.1f ms", number, repeat, login[-1] * 1000 if number else 0)
    for page in pages:
        page.served_milliseconds = statistics.median(samples[(page.url, page.user)]) * 1000
        if page.served_status != 200 and not page.error:
            page.error = f"{page.url} as {page.user}: status {page.served_status} under gunicorn"
    return statistics.median(login) * 1000


FRESHNESS_TIMEOUT = 300  # seconds after which a probe counts as lost


def measure_freshness(org: Organisation, environment: dict, repeat: int) -> list[float]:
    """(f) Seconds from the commit of a failed observation of a non-negotiable standard, recorded
    through the intake service as any channel records it, to the existence of its corrective
    action; a real Celery worker on Redis (started here, no beat) does everything in between:
    the rollup the commit asks for ROLLUP_AFTER_COMMIT_SECONDS later, then the rule evaluation
    the rollup's signal enqueues. The probes use a standard of their own, so that the rule
    answers them and not the thousands of deviations of the history."""
    from django.conf import settings
    from django.core.cache import cache
    from django.utils import timezone

    from bench.processes import celery_worker
    from consequences.models import Action, Condition, Consequence, Rule, SubjectKind
    from measurement.models import Deviation
    from measurement.services.freshness import FLAG_KEY
    from measurement.services.intake import observations_ingest
    from standards.models import Standard

    probe = _standard(0)
    probe.code, probe.title = "FRESH", "Freshness probe"
    probe.save()
    Rule.objects.create(
        name="Deviation of the freshness probe",
        subject_kind=SubjectKind.LOCATION,
        condition=Condition.DEVIATION,
        action=Action.CORRECTIVE_ACTION,
        standard=Standard.objects.get(code="FRESH"),
    )
    settings.ROLLUP_AFTER_COMMIT_SECONDS = AFTER_COMMIT["seconds"]
    if settings.ROLLUP_AFTER_COMMIT_SECONDS <= 0:
        sys.exit("ROLLUP_AFTER_COMMIT_SECONDS is 0: nothing asks for a rollup after a commit")
    cache.delete(FLAG_KEY)
    samples = []
    try:
        with celery_worker(environment):
            for number in range(repeat):
                location_code = org.locations[number % len(org.locations)][1]
                row = {
                    "external_id": f"fresh-{number}",
                    "standard": "FRESH",
                    "location": location_code,
                    "observed_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
                    "passed": "false",
                    "source": "qa_review",
                }
                result = observations_ingest([(1, row)])  # returns once committed
                committed = time.perf_counter()
                if not result.ok or result.deviations != 1:
                    sys.exit(f"The freshness probe was not recorded as a deviation: {result.errors}")
                deviation = Deviation.objects.get(observation__external_id=row["external_id"])
                answered = Consequence.objects.filter(deviation=deviation)
                while not answered.exists():
                    if time.perf_counter() - committed > FRESHNESS_TIMEOUT:
                        sys.exit(f"No consequence {FRESHNESS_TIMEOUT} s after the commit of a deviation")
                    time.sleep(0.05)
                samples.append(time.perf_counter() - committed)
                step("freshness %d/%d: %.2f s", number + 1, repeat, samples[-1])
                time.sleep(1)  # the worker finishes the evaluation's bookkeeping before the next probe
    finally:
        settings.ROLLUP_AFTER_COMMIT_SECONDS = 0
    return samples


def analyze() -> None:
    """Statistics for every table, as autovacuum would have gathered them by the time anyone opens a
    page (the bulk-created organisation tables are otherwise never analysed if autovacuum is off)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --------------------------------------------------------------------------- report


def machine_facts() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SELECT current_setting('work_mem'), current_setting('shared_buffers')")
        work_mem, shared_buffers = cursor.fetchone()
    load = os.getloadavg()
    return {
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "commit": _commit(),
        "cores": str(os.cpu_count()),
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "python": platform.python_version(),
        "postgresql": f"{version} (shared_buffers {shared_buffers}, work_mem {work_mem})",
        "load average before": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


def _commit() -> str:
    """The commit measured, and how many tracked files differ from it in the working tree."""
    import subprocess

    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return git("rev-parse", "--short", "HEAD") + (
        f" with {len(changed)} tracked file(s) changed in the working tree" if changed else ""
    )


def verdict(value: float, name: str) -> str:
    target, floor, higher = TARGETS[name]
    meets = (lambda bound: value >= bound) if higher else (lambda bound: value <= bound)
    if meets(target):
        return "**target met**"
    return "target not met, **floor met**" if meets(floor) else "**target and floor not met**"


def median_seconds(runs: list[tuple[float, object]]) -> float:
    return statistics.median(seconds for seconds, _ in runs)


@dataclass
class Results:
    intake: list[Timing]  # CSV import, API, COPY, COPY with foreign keys, the 1 % through the intake
    rounds: RollupRounds
    check: tuple[float, object]
    observations: int
    scorecards: int
    pages: list[PageTiming] | None  # None with --skip-pages
    login_milliseconds: float | None = None
    freshness: list[float] | None = None  # None with --skip-freshness

    def figures(self) -> dict[str, float]:
        """The RESULT figures of issue 11, in its order; a skipped step's figure is left out."""
        rounds = self.rounds
        grouping_sets = median_query(rounds.grouping_sets).server
        figures = {
            "intake_rows_per_s": self.intake[0].rate,
            "full_vs_grouping_sets": median_seconds(rounds.nightly) / grouping_sets,
            "backfill_vs_grouping_sets": median_seconds(rounds.backfill) / grouping_sets,
            "incremental_vs_groupby": median_seconds(rounds.incremental)
            / median_query(rounds.group_by).server,
        }
        if self.freshness:
            figures["freshness_s"] = statistics.median(self.freshness)
        if self.pages and self.login_milliseconds:
            figures["page_vs_minimal_max"] = (
                max(page.served_milliseconds for page in self.pages) / self.login_milliseconds
            )
        return figures


def result_lines(figures: dict[str, float]) -> list[str]:
    """``RESULT name=value``: a rate as a whole number, seconds and ratios with two decimals."""
    return [
        f"RESULT {name}={value:.0f}" if name == "intake_rows_per_s" else f"RESULT {name}={value:.2f}"
        for name, value in figures.items()
    ]


def _spread(values: list[float], unit: str = "s") -> str:
    return ", ".join(f"{value:.2f}" for value in values) + f" {unit}"


def report(args, facts: dict[str, str], results: Results) -> str:
    copy = results.intake[2]
    rounds = results.rounds
    grouping_sets, group_by = median_query(rounds.grouping_sets), median_query(rounds.group_by)
    lines = [
        f"Command: `{' '.join(['.venv/bin/python', 'bench/run.py', *sys.argv[1:]])}`",
        "",
        *(f"- {name}: {value}" for name, value in facts.items()),
        f"- data: {results.observations:,} observations ({LOCATIONS} locations, {STANDARDS} standards, "
        f"{EMPLOYEES:,} employees, {DAYS} days; history loaded "
        f"{'in random order of time' if args.shuffled else 'oldest first'}), "
        f"{int(args.n * args.feedback_share):,} feedback answers; {results.scorecards:,} scorecards",
        "",
        "(a) Intake",
        "",
        "| path | rows | seconds | rows/s | / COPY |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {t.label} | {t.rows:,} | {t.seconds:.2f} | {t.rate:,.0f} | {t.rate / copy.rate:.2f} |"
            for t in results.intake
        ),
        "",
        f"(b, c) Rollups, interleaved: {args.repeat} rounds of GROUPING SETS → backfill → nightly rebuild, "
        f"then {args.repeat} rounds of 1 % new rows → GROUP BY → incremental run (medians; every round listed)",
        "",
        "| what | median s | rounds | detail (last round) |",
        "|---|---:|---|---|",
        f"| {grouping_sets.label}, inside the server (`EXPLAIN ANALYZE`) | {grouping_sets.server:.2f} | "
        f"{_spread([t.server for t in rounds.grouping_sets])} | |",
        f"| full rollup, empty scorecard table (backfill) | {median_seconds(rounds.backfill):.2f} | "
        f"{_spread([s for s, _ in rounds.backfill])} | {_rollup_detail(rounds.backfill[-1][1])} |",
        f"| full rollup, scorecards in place (the nightly rebuild) | {median_seconds(rounds.nightly):.2f} | "
        f"{_spread([s for s, _ in rounds.nightly])} | {_rollup_detail(rounds.nightly[-1][1])} |",
        f"| {group_by.label}, inside the server | {group_by.server:.2f} | "
        f"{_spread([t.server for t in rounds.group_by])} | {group_by.groups:,} groups |",
        f"| … the same, every row fetched by the client | {group_by.client:.2f} | "
        f"{_spread([t.client for t in rounds.group_by])} | |",
        f"| incremental rollup after 1 % new rows | {median_seconds(rounds.incremental):.2f} | "
        f"{_spread([s for s, _ in rounds.incremental])} | {_rollup_detail(rounds.incremental[-1][1])} |",
        f"| check: full rebuild after the incremental runs | {results.check[0]:.2f} | | "
        f"{_rollup_detail(results.check[1])} |",
    ]
    lines += ["", *_pages_section(args, results.pages, results.login_milliseconds)]
    lines += ["", "(f) Freshness", ""]
    if results.freshness is None:
        lines.append("Skipped (`--skip-freshness`).")
    else:
        lines.append(
            f"Commit of a failed observation of a non-negotiable standard → its corrective action exists, "
            f"a real worker on Redis, no beat (ROLLUP_AFTER_COMMIT_SECONDS={AFTER_COMMIT['seconds']}): "
            f"{_spread(results.freshness)}."
        )
    lines += ["", "(e) Figures and targets of issue 11", "", "| figure | value | target | floor | |"]
    lines.append("|---|---:|---:|---:|---|")
    for name, value in results.figures().items():
        if name in TARGETS:
            target, floor, higher = TARGETS[name]
            sign = "≥" if higher else "≤"
            lines.append(
                f"| {name} | {value:,.2f} | {sign} {target:,} | {sign} {floor:,} | {verdict(value, name)} |"
            )
        else:
            lines.append(f"| {name} | {value:,.2f} | | | |")
    return "\n".join(lines)


def _pages_section(args, pages: list[PageTiming] | None, login_milliseconds: float | None) -> list[str]:
    lines = ["(d) Pages at this size", ""]
    if pages is None:
        return [*lines, "Skipped (`--skip-pages`)."]
    lines += [
        f"Served by gunicorn ({GUNICORN_WORKERS} sync workers, DEBUG off): one warm-up round, then "
        f"{args.page_repeat} rounds, each the login page (`{MINIMAL_PAGE}`, anonymous: "
        f"median {login_milliseconds:.1f} ms) then every page as each user; medians, the body read to its "
        "end. Queries and SQL time from one GET through Django's test client, after a warm-up.",
        "",
        "| page | user | status | ms | × login | queries | SQL ms | KB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page in pages:
        status = (
            str(page.served_status)
            if page.ok
            else f"**{page.served_status or page.status or 'error'} FAILED**"
        )
        queries = str(max(page.queries, default=0))
        lines.append(
            f"| {page.page} (`{page.url}`) | {page.user} | {status} | {page.served_milliseconds:,.0f} | "
            f"{page.served_milliseconds / login_milliseconds:,.1f} | {queries} | {page.sql_milliseconds:,.0f} | "
            f"{page.served_kilobytes:,.0f} |"
        )
    notes = [page for page in pages if page.error or page.served_milliseconds > SLOW_PAGE_MS]
    if notes:
        lines += ["", f"Failed pages, and pages over {SLOW_PAGE_MS} ms, with their slowest query:", ""]
    for page in notes:
        ms, sql = page.slowest_query
        failed = f"**FAILED** ({page.error}); " if page.error else ""
        lines.append(f"- {page.page} as {page.user}: {failed}{ms:,.0f} ms in `{_shortened(sql)}`")
    return lines


def _shortened(sql: str, limit: int = 400) -> str:
    """The SQL on one line, the select list of its outer SELECT left out."""
    sql = " ".join(sql.split())
    if sql.startswith("SELECT ") and " FROM " in sql:
        sql = "SELECT … " + sql[sql.index(" FROM ") + 1 :]
    return sql if len(sql) <= limit else sql[:limit] + " …"


def _rollup_detail(result) -> str:
    return (
        f"{result.periods_recomputed:,} periods, {result.rows_written:,} written, "
        f"{result.rows_unchanged:,} unchanged, {result.rows_deleted:,} deleted"
    )


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    name = refuse_unsafe_database(args.database_url)
    if args.pages_only:
        pages_only(args, name)
        return
    step("recreating the database %s", name)
    recreate_database(args.database_url, name)
    environment = start_django(args.database_url, args.redis_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.portable_rollup:
        from measurement.services import rollup

        rollup._recompute = rollup.portable.recompute_with_orm
    facts = machine_facts()
    rng = random.Random(args.seed)
    org = create_organisation(rng)

    csv_rows = args.n - args.api_rows
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "observations.csv"
        step("writing %s rows of CSV", f"{csv_rows:,}")
        write_csv(path, observation_rows(org, rng, csv_rows, "csv", DAYS, shuffled=args.shuffled))
        step("importing the CSV file")
        csv_import = measure_csv_import(path, csv_rows)
    step("posting %s rows to the API", f"{args.api_rows:,}")
    api = measure_api(org, rng, args.api_rows, shuffled=args.shuffled)
    step("COPY of the same rows")
    copies = measure_copy(args.n)
    step("loading feedback")
    load_feedback(org, rng, int(args.n * args.feedback_share))
    vacuum_analyze()

    rounds = RollupRounds()
    measure_full_rounds(rounds, args.repeat)
    measure_incremental_rounds(org, rng, rounds, args.repeat, args.n // 100)
    step("full rebuild after them (must write nothing)")
    # At the real time: the runs the worker does below are told no other.
    check = measure_rollup(full=True, past_margin=False)
    freshness = None
    if not args.skip_freshness:
        step("freshness: commit → consequence through a Celery worker on Redis")
        freshness = measure_freshness(org, environment, args.freshness_repeat)
    pages = login = None
    if not args.skip_pages:
        step("the pages, as an admin and as the manager of one location")
        pages, login = measure_all_pages(args, environment, org.admin_user_id, org.manager_user_id)

    from measurement.models import Observation, Scorecard

    results = Results(
        intake=[csv_import, api, *copies, *rounds.late],
        rounds=rounds,
        check=check,
        observations=Observation.objects.count(),
        scorecards=Scorecard.objects.count(),
        pages=pages,
        login_milliseconds=login,
        freshness=freshness,
    )
    load = os.getloadavg()
    facts["load average after"] = f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    facts["run"] = f"{time.perf_counter() - _STARTED:.0f} s"
    print()
    print(report(args, facts, results))
    print()
    print("\n".join(result_lines(results.figures())))
    failures = []
    if check[1].rows_written or check[1].rows_deleted:
        failures.append("the full rebuild after the incremental runs changed scorecards (they must be equal)")
    failures += [f"page {page.error}" for page in pages or () if not page.ok]
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))


def measure_all_pages(args, environment: dict, admin_user_id: int, manager_user_id: int):
    """(d): ANALYZE, the queries of each page through the test client, then the timing under gunicorn."""
    analyze()
    pages = measure_pages(admin_user_id, manager_user_id, 1, args.page_timeout)
    login = measure_served_pages(environment, admin_user_id, manager_user_id, args.page_repeat, pages)
    return pages, login


# --------------------------------------------------------------------------- --pages-only


def pages_only(args, name: str) -> None:
    """(d) alone, on the database an earlier run loaded and rolled up: nothing is dropped or loaded."""
    if not database_exists(args.database_url, name):
        sys.exit(
            f"--pages-only reuses the database of an earlier run, and {name!r} does not exist. "
            "Run bench/run.py without --pages-only first."
        )
    environment = start_django(args.database_url, args.redis_url)
    admin_user_id, manager_user_id, counts = loaded_benchmark(name)
    facts = machine_facts()
    step("the pages, as an admin and as the manager of one location")
    started = time.perf_counter()
    pages, login = measure_all_pages(args, environment, admin_user_id, manager_user_id)
    seconds = time.perf_counter() - started
    load = os.getloadavg()
    facts["load average after"] = f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    facts["pages step"] = f"{seconds:.0f} s"
    print()
    print(
        "\n".join(
            [
                f"Command: `{' '.join(['.venv/bin/python', 'bench/run.py', *sys.argv[1:]])}`",
                "",
                *(f"- {fact}: {value}" for fact, value in facts.items()),
                f"- data: the database {name} as an earlier run left it (not loaded by this run): "
                + ", ".join(f"{count:,} {what}" for what, count in counts.items()),
                "",
                *_pages_section(args, pages, login),
                "",
                f"RESULT page_vs_minimal_max={max(page.served_milliseconds for page in pages) / login:.2f}",
            ]
        )
    )
    failures = [f"page {page.error}" for page in pages if not page.ok]
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))


def loaded_benchmark(name: str) -> tuple[int, int, dict[str, int]]:
    """The ids of the bench admin and manager, and the sizes of the data, after checking that the
    database is one an earlier run migrated, loaded and rolled up; exits with the reason if not."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from measurement.models import Feedback, Observation, Scorecard
    from organization.models import Employee, Location
    from standards.models import Standard

    again = "Run bench/run.py without --pages-only to load it."
    if "measurement_observation" not in connection.introspection.table_names():
        sys.exit(f"--pages-only: the database {name!r} has no benchmark tables. {again}")
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        sys.exit(
            f"--pages-only: the database {name!r} lacks migrations of this tree. Apply them first: "
            f"DATABASE_URL=<the same URL> .venv/bin/python manage.py migrate"
        )
    counts = {
        "observations": Observation.objects.count(),
        "scorecards": Scorecard.objects.count(),
        "feedback answers": Feedback.objects.count(),
        "locations": Location.objects.count(),
        "standards": Standard.objects.count(),
        "employees": Employee.objects.count(),
    }
    if not counts["observations"]:
        sys.exit(f"--pages-only: the database {name!r} has no observations. {again}")
    if not counts["scorecards"]:
        sys.exit(
            f"--pages-only: the database {name!r} has observations but no scorecards: the earlier run "
            f"stopped before its rollups. {again}"
        )
    users = dict(
        get_user_model()
        .objects.filter(username__in=["bench-admin", "bench-manager"])
        .values_list("username", "pk")
    )
    missing = sorted({"bench-admin", "bench-manager"} - users.keys())
    if missing:
        sys.exit(f"--pages-only: the database {name!r} has no user {' or '.join(missing)}. {again}")
    if not Employee.objects.filter(user_id=users["bench-manager"], managed_locations__isnull=False).exists():
        sys.exit(f"--pages-only: bench-manager manages no location in {name!r}. {again}")
    return users["bench-admin"], users["bench-manager"], counts


_STARTED = time.perf_counter()


def step(message: str, *values) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f} s] " + message % values, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
