"""Months of evidence for the demo: evaluations, observations and customer feedback, as the rows
the intake services take (`measurement.services.intake`), so the demo goes through the same checks
as the API and CSV import.

Pure generation, no database access: the builder hands in each site's context (its people,
teams, standards and touchpoints) and stores what comes out.

The quality model: an observation passes with probability sigmoid(ease of the standard + quality
of the site, drifting by the site's trend across the window + the employee's personal effect).
Feedback satisfaction follows the same site quality. A site's evidence per day is the per-day
option times its volume (a flagship more, a kiosk less). Each site and day draws from its own random
stream seeded by (seed, site, day), so a day's evidence is the same whichever other days or sites
are generated, and a re-run finds it by external id.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from measurement.models import EvaluationMethod, FeedbackChannel, Source
from organization.models import Employee, Location, Team
from standards.models import Comparator, MeasureKind, Standard
from touchpoints.models import Channel, Touchpoint

from . import catalogue
from .catalogue import SiteSpec, StandardSpec

Row = dict[str, Any]


@dataclass(frozen=True)
class StandardPlan:
    """An active standard as measured at one site: through the touchpoints it covers there."""

    standard: Standard
    spec: StandardSpec
    touchpoints: tuple[Touchpoint, ...]


@dataclass
class SiteContext:
    location: Location
    spec: SiteSpec
    is_store: bool
    teams: dict[str, Team]  # team key → team at this site
    members: dict[str, list[Employee]]  # team key → its members, lead included
    skill: dict[int, float]  # employee pk → personal effect on the log-odds of a pass
    plans: list[StandardPlan]
    touchpoint_team: dict[int, str]  # touchpoint pk → key of the team that delivers it
    feedback_touchpoints: list[Touchpoint]  # the external touchpoints here
    leads: dict[str, AbstractBaseUser]  # team key → the lead's user, who runs QA reviews
    auditor: AbstractBaseUser | None = None


@dataclass
class EvaluationDraft:
    """The arguments of `evaluation_record`: one touchpoint, one team, one time for every item."""

    external_id: str
    method: str
    location: str
    evaluated_at: datetime
    items: list[Row]
    team: str = ""
    employee: str = ""
    touchpoint: str = ""
    evaluator: AbstractBaseUser | None = None


@dataclass
class DayEvidence:
    evaluations: list[EvaluationDraft] = field(default_factory=list)
    observations: list[Row] = field(default_factory=list)  # outside evaluations
    feedback: list[Row] = field(default_factory=list)
    # External id of each failed observation of a non-negotiable standard → when its deviation
    # was closed by a corrective action, or None while it is still open.
    deviation_closures: dict[str, datetime | None] = field(default_factory=dict)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def measured_value(standard: Standard, spec: StandardSpec, passed: bool, rng: random.Random) -> Decimal:
    """A plausible value for a rating or numeric standard that passes or fails as asked.

    Passing values spread evenly over the passing part of the range; failing values cluster
    near the threshold, as real misses mostly do.
    """
    measure = spec.measure
    step = Decimal(1).scaleb(-measure.decimals)
    low, high = measure.value_range
    threshold = standard.threshold
    if standard.comparator == Comparator.LTE:
        passing, failing = (low, threshold), (threshold + step, high)
    else:
        passing, failing = (threshold, high), (threshold - step, low)  # failing: from near to far
    if passed:
        start, end = passing
        value = start + step * rng.randint(0, int((end - start) / step))
    else:
        near, far = failing
        offset = step * int(int(abs(far - near) / step) * rng.random() ** 2)
        value = near + offset if far >= near else near - offset
    value = value.quantize(step)
    if standard.passes(value) != passed:  # the generator's own invariant, cheap to keep honest
        raise AssertionError(f"{standard.code}: generated {value} does not {'pass' if passed else 'fail'}")
    return value


class EvidenceGenerator:
    def __init__(
        self,
        *,
        seed: int,
        first_day: date,
        days: int,
        observations_per_day: int,
        feedback_per_day: int,
        tz: tzinfo,
    ) -> None:
        self.seed = seed
        self.first_day = first_day
        self.until = first_day + timedelta(days=days)
        self.days = days
        self.observations_per_day = observations_per_day
        self.feedback_per_day = feedback_per_day
        self.tz = tz

    def day(self, site: SiteContext, day: date) -> DayEvidence:
        rng = random.Random(f"{self.seed}:evidence:{site.location.code}:{day.isoformat()}")
        progress = (day - self.first_day).days / max(self.days - 1, 1)
        shift = site.spec.quality + site.spec.trend * progress
        prefix = f"{site.location.code}-{day:%Y%m%d}"
        on_duty = {key: [e for e in people if e.hired_on <= day] for key, people in site.members.items()}
        by_number = {e.employee_number: e for people in on_duty.values() for e in people}
        evidence = DayEvidence()
        numbers = iter(range(1, 10_000))

        def observation_id() -> str:
            return f"demo-obs-{prefix}-{next(numbers):03d}"

        budget = _daily(self.observations_per_day * site.spec.volume, rng)
        for draft, plans in self._evaluations(site, day, rng, on_duty, budget):
            plans = plans[:budget]
            if not plans:
                continue
            budget -= len(plans)
            draft.external_id = f"demo-eval-{prefix}-{len(evidence.evaluations) + 1}"
            employee = by_number.get(draft.employee)
            for plan in plans:
                item = self._verdict(plan, shift + self._skill(site, employee), rng)
                item.update(external_id=observation_id(), critical=plan.standard.non_negotiable)
                draft.items.append(item)
                self._plan_closure(evidence, plan, item, draft.evaluated_at, day, site, rng)
            evidence.evaluations.append(draft)

        for _ in range(budget):
            plan, row = self._routine(site, day, rng, on_duty)
            employee = by_number.get(row["employee"])
            row.update(self._verdict(plan, shift + self._skill(site, employee), rng))
            row["external_id"] = observation_id()
            evidence.observations.append(row)
            self._plan_closure(
                evidence, plan, row, datetime.fromisoformat(row["observed_at"]), day, site, rng
            )

        if site.feedback_touchpoints:
            for number in range(1, _daily(self.feedback_per_day * site.spec.volume, rng) + 1):
                row = self._feedback(site, day, shift, rng)
                row["external_id"] = f"demo-fb-{prefix}-{number:03d}"
                evidence.feedback.append(row)
        return evidence

    # --- observations ----------------------------------------------------------------------

    def _at(self, site: SiteContext, day: date, rng: random.Random) -> datetime:
        opening, closing = catalogue.STORE_HOURS if site.is_store else catalogue.HEAD_OFFICE_HOURS
        minute = rng.randrange((closing - opening) * 60)
        return datetime.combine(day, time(opening + minute // 60, minute % 60, rng.randrange(60)), self.tz)

    @staticmethod
    def _skill(site: SiteContext, employee: Employee | None) -> float:
        return site.skill.get(employee.pk, 0.0) if employee else 0.0

    def _verdict(self, plan: StandardPlan, shift: float, rng: random.Random) -> Row:
        """Whether it passed and, for a rating or numeric standard, the value measured."""
        passed = rng.random() < sigmoid(plan.spec.ease + shift)
        row: Row = {"standard": plan.standard.code, "passed": passed}
        if plan.standard.measure_kind != MeasureKind.PASS_FAIL:
            row["value"] = measured_value(plan.standard, plan.spec, passed, rng)
        return row

    def _evaluations(self, site, day, rng, on_duty, budget):
        """The evaluations of the day with the standards each checks. Mystery shops visit a store
        about twice a week and try a few touchpoints; every site is audited on Mondays; at the head
        office the team leads review a sample of each agent's contacts (QA_REVIEW_CONTACTS) until
        their items make up QA_REVIEW_SHARE of the day's `budget` of observations. Each evaluation is of one touchpoint, served by one
        person (or, for an audit, checked for the whole team)."""
        by_source = {source: [p for p in site.plans if source in p.spec.sources] for source in Source.values}
        if site.is_store and by_source[Source.MYSTERY_SHOP] and rng.random() < catalogue.MYSTERY_SHOP_CHANCE:
            start = self._at(site, day, rng)
            touchpoints = _touchpoints_of(by_source[Source.MYSTERY_SHOP])
            tried = rng.sample(touchpoints, k=min(catalogue.MYSTERY_SHOP_TOUCHPOINTS, len(touchpoints)))
            for minutes, touchpoint in enumerate(sorted(tried, key=lambda t: t.slug)):
                team_key = site.touchpoint_team[touchpoint.pk]
                people = on_duty.get(team_key)
                draft = self._draft(
                    site, EvaluationMethod.MYSTERY_SHOP, touchpoint, start + timedelta(minutes=5 * minutes)
                )
                draft.employee = rng.choice(people).employee_number if people else ""
                yield draft, _checking(by_source[Source.MYSTERY_SHOP], touchpoint)
        if day.weekday() == catalogue.AUDIT_WEEKDAY and by_source[Source.AUDIT]:
            start = self._at(site, day, rng)
            for minutes, touchpoint in enumerate(_touchpoints_of(by_source[Source.AUDIT])):
                draft = self._draft(
                    site, EvaluationMethod.AUDIT, touchpoint, start + timedelta(minutes=10 * minutes)
                )
                draft.evaluator = site.auditor
                yield draft, _checking(by_source[Source.AUDIT], touchpoint)
        if not site.is_store and by_source[Source.QA_REVIEW]:
            touchpoints = _touchpoints_of(by_source[Source.QA_REVIEW])
            reviewed, wanted = 0, max(1, round(budget * catalogue.QA_REVIEW_SHARE))
            # Bounded: a touchpoint whose team has no one on duty yet is skipped, not retried forever.
            for _ in range(wanted):
                if reviewed >= wanted:
                    break
                touchpoint = rng.choice(touchpoints)
                team_key = site.touchpoint_team[touchpoint.pk]
                if not on_duty.get(team_key):
                    continue
                # One review samples a few of the agent's contacts on that channel: each contact
                # is scored on every standard of the QA form that covers it.
                checked = _checking(by_source[Source.QA_REVIEW], touchpoint) * catalogue.QA_REVIEW_CONTACTS
                reviewed += len(checked)
                draft = self._draft(site, EvaluationMethod.QA_REVIEW, touchpoint, self._at(site, day, rng))
                draft.employee = rng.choice(on_duty[team_key]).employee_number
                draft.evaluator = site.leads.get(team_key)
                yield draft, checked

    @staticmethod
    def _draft(site: SiteContext, method: str, touchpoint: Touchpoint, at: datetime) -> EvaluationDraft:
        team = site.teams.get(site.touchpoint_team[touchpoint.pk])
        return EvaluationDraft(
            external_id="",
            method=method,
            location=site.location.code,
            evaluated_at=at,
            items=[],
            team=team.name if team else "",
            touchpoint=touchpoint.slug,
        )

    def _routine(self, site, day, rng, on_duty) -> tuple[StandardPlan, Row]:
        """An operational metric (someone on duty handled it) or a self check (about the team):
        the steady stream between evaluations."""
        routine = [p for p in site.plans if {Source.OPERATIONAL, Source.SELF_CHECK} & set(p.spec.sources)]
        plan = rng.choice(routine or site.plans)
        source = next(
            (s for s in (Source.OPERATIONAL, Source.SELF_CHECK) if s in plan.spec.sources),
            plan.spec.sources[0],
        )
        touchpoint = rng.choice(plan.touchpoints)
        team_key = site.touchpoint_team[touchpoint.pk]
        people = on_duty.get(team_key) if source != Source.SELF_CHECK else None
        team = site.teams.get(team_key)
        row = {
            "location": site.location.code,
            "team": team.name if team else "",
            "employee": rng.choice(people).employee_number if people else "",
            "touchpoint": touchpoint.slug,
            "source": source,
            "observed_at": self._at(site, day, rng).isoformat(),
        }
        return plan, row

    def _plan_closure(self, evidence, plan, row, observed_at, day, site, rng) -> None:
        """A failed non-negotiable standard is a deviation. Older ones are mostly closed by now by
        a corrective action (weak sites close fewer); recent ones are still open."""
        if not (plan.standard.non_negotiable and not row["passed"]):
            return
        closed_share = site.spec.closes_deviations
        old_enough = (self.until - day).days > catalogue.DEVIATION_CLOSE_AFTER_DAYS
        closed_at = None
        if old_enough and rng.random() < closed_share:
            closed_at = observed_at + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5))
        evidence.deviation_closures[row["external_id"]] = closed_at

    # --- feedback --------------------------------------------------------------------------

    def _feedback(self, site, day, shift, rng) -> Row:
        touchpoint = rng.choice(site.feedback_touchpoints)
        satisfied = rng.random() < sigmoid(catalogue.SATISFACTION_EASE + shift)
        if satisfied:
            csat = 5 if rng.random() < 0.55 else 4
        else:
            csat = rng.choices((3, 2, 1), weights=(5, 3, 2))[0]
        nps = _nps_for(csat, rng)
        # Some customers skip a question; never both.
        gap = rng.random()
        if gap < 0.08:
            nps = None
        elif gap < 0.12:
            csat = None
        comment = ""
        if rng.random() < (0.6 if csat is not None and csat <= 2 else catalogue.COMMENT_CHANCE):
            comment = _comment(touchpoint.slug, csat if csat is not None else 3, rng)
        row = {
            "touchpoint": touchpoint.slug,
            "location": site.location.code,
            "submitted_at": self._at(site, day, rng).isoformat(),
            "csat": csat,
            "nps": nps,
            "comment": comment,
            "channel": _feedback_channel(touchpoint.channel, rng),
        }
        if rng.random() < catalogue.CONTACT_CONSENT_CHANCE:
            first, last = rng.choice(catalogue.FIRST_NAMES), rng.choice(catalogue.LAST_NAMES)
            row.update(
                contact_name=f"{first} {last}",
                contact_email=f"{first}.{last}@{catalogue.EMAIL_DOMAIN}".lower(),
                contact_consent=True,
            )
        return row


def _daily(mean: float, rng: random.Random) -> int:
    """A whole number of rows with `mean` as its average over the days: 0.4 a day is 0 on most
    days and 1 on some, so a site measured rarely still gets its share."""
    mean = round(mean, 6)  # 1.8 × 20 is 36, not 35.999…: whole multiples stay exact
    whole = math.floor(mean)
    return whole + (rng.random() < mean - whole)


def _touchpoints_of(plans: list[StandardPlan]) -> list[Touchpoint]:
    """The touchpoints these standards cover at the site, each once, in a stable order."""
    return sorted({t for plan in plans for t in plan.touchpoints}, key=lambda t: t.slug)


def _checking(plans: list[StandardPlan], touchpoint: Touchpoint) -> list[StandardPlan]:
    return [plan for plan in plans if touchpoint in plan.touchpoints]


# Likelihood to recommend follows satisfaction: (scores, weights) per CSAT answer.
NPS_BY_CSAT = {
    5: ((10, 9, 8), (5, 4, 1)),
    4: ((9, 8, 7, 6), (2, 4, 3, 1)),
    3: ((8, 7, 6, 5, 4), (1, 3, 3, 2, 1)),
    2: ((6, 5, 4, 3, 2), (2, 3, 2, 2, 1)),
    1: ((4, 3, 2, 1, 0), (1, 2, 2, 2, 3)),
}


def _nps_for(csat: int, rng: random.Random) -> int:
    scores, weights = NPS_BY_CSAT[csat]
    return rng.choices(scores, weights=weights)[0]


def _comment(slug: str, csat: int, rng: random.Random) -> str:
    positive, negative = catalogue.TOUCHPOINT_COMMENTS.get(slug, ((), ()))
    if csat >= 4:
        options = catalogue.POSITIVE_COMMENTS + positive
    elif csat == 3:
        options = catalogue.NEUTRAL_COMMENTS
    else:
        # Customers who are unhappy mostly say what went wrong at that touchpoint.
        options = negative * 3 + catalogue.NEGATIVE_COMMENTS if negative else catalogue.NEGATIVE_COMMENTS
    return rng.choice(options)


def _feedback_channel(channel: str, rng: random.Random) -> str:
    if rng.random() < 0.05:
        return FeedbackChannel.API
    return {
        Channel.IN_PERSON: FeedbackChannel.QR_CODE,
        Channel.PHONE: FeedbackChannel.PHONE,
        Channel.EMAIL: FeedbackChannel.EMAIL,
        Channel.POST: FeedbackChannel.EMAIL,
    }.get(channel, FeedbackChannel.WEB_FORM)
