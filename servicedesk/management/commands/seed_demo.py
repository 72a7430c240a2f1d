"""`manage.py seed_demo`: a realistic retail organisation with months of evidence, for demos.

The per-day options are for an ordinary store; each location gets them times its volume (a
flagship twice, a kiosk a fraction), so the default demo holds about as much as seven ordinary
locations would.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from organization.validators import earliest_date
from servicedesk.demo import catalogue
from servicedesk.demo.builder import DemoOptions, build_demo

# option → (lowest, highest) accepted value
LIMITS = {
    "locations": (1, catalogue.MAX_STORES),
    "days": (1, 730),
    "observations_per_day": (1, 1000),
    "feedback_per_day": (0, 500),
}


class Command(BaseCommand):
    help = (
        "Build a demo organisation (stores, head office, people, touchpoints, standards, training, "
        "gap analyses, consequence rules) with days of observations and customer feedback in which "
        "locations really differ. Safe to run again: only what is missing is added."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--locations", type=int, default=6,
            help="Number of stores (default 6); a head office with the contact centre comes on top.",
        )  # fmt: skip
        parser.add_argument("--days", type=int, default=90, help="Days of evidence (default 90).")
        parser.add_argument(
            "--observations-per-day", type=int, default=40,
            help="Observations per day at an ordinary store (default 40); a flagship and the contact "
            "centre get more, a kiosk and a pop-up far fewer.",
        )  # fmt: skip
        parser.add_argument(
            "--feedback-per-day", type=int, default=8,
            help="Customer feedback answers per day at an ordinary store (default 8), scaled by "
            "each location's volume as observations are.",
        )  # fmt: skip
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed (default 42): same seed, same data."
        )
        parser.add_argument(
            "--until", default=None,
            help="The evidence covers the days before this date, YYYY-MM-DD (default today). "
            "Fix it for reproducible data.",
        )  # fmt: skip

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        for name, (low, high) in LIMITS.items():
            if not low <= options[name] <= high:
                flag = "--" + name.replace("_", "-")
                raise CommandError(f"{flag} {options[name]} is out of range: use {low} to {high}.")
        until = self._until(options["until"])
        # Checked before anything is built: intake would refuse the oldest evidence row, but only
        # after the organisation had been created.
        first_day = until - timedelta(days=options["days"])
        if first_day < earliest_date():
            raise CommandError(
                f"--until {until} with --days {options['days']} starts the evidence on {first_day}, "
                f"before {earliest_date()}, the earliest date accepted (INTAKE_EARLIEST)."
            )
        demo = DemoOptions(
            until=until,
            locations=options["locations"],
            days=options["days"],
            observations_per_day=options["observations_per_day"],
            feedback_per_day=options["feedback_per_day"],
            seed=options["seed"],
        )
        started = time.monotonic()
        rows = build_demo(demo, log=self._progress)
        elapsed = time.monotonic() - started

        width = max(len(row.label) for row in rows)
        self.stdout.write("")
        self.stdout.write(f"{'':{width}}  {'total':>8}  {'added':>8}")
        for row in rows:
            self.stdout.write(f"{row.label:{width}}  {row.total:>8}  {row.added:>8}")
        if any(row.added for row in rows):
            self.stdout.write(self.style.SUCCESS(f"Demo organisation ready in {elapsed:.1f} s."))
        else:
            self.stdout.write(
                self.style.SUCCESS("The demo organisation was already complete: nothing added.")
            )

        self.stdout.write("")
        self.stdout.write(f"Demo logins, password “{catalogue.DEMO_PASSWORD}”:")
        for login in (*catalogue.DEMO_LOGINS, catalogue.MYSTERY_SHOPPER):
            self.stdout.write(
                f"  {login.username:<8} {login.first_name} {login.last_name}, {login.description}"
            )

    def _until(self, value: str | date | None) -> date:
        today = timezone.localdate()
        if value is None:
            return today
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise CommandError(f"--until “{value}” is not a date like 2025-06-30.") from None
        if value > today:
            raise CommandError(f"--until {value} is in the future: evidence cannot be dated after today.")
        return value

    def _progress(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(f"· {message}")
