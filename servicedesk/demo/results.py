"""Steps 5 and 6 and the gap analyses: evidence through the intake services, deviations answered
by the rules engine's corrective actions, gap assessments with their actions, and a handful of
example consequences. Consequences move through their status flow by the services."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from consequences.models import Action, Consequence, ConsequenceStatus, Polarity, SubjectKind
from consequences.services import consequence_approve, consequence_close, consequence_deliver, rules_evaluate
from gap_analysis.models import ActionItem, ActionStatus, Assessment, CustomerExpectation, Rating
from measurement.models import Deviation, DeviationStatus, Evaluation, Feedback, Observation
from measurement.services.intake import Lookups, evaluation_record, feedback_ingest, observations_ingest
from organization.models import Employee, Location, Team
from standards.models import Status
from touchpoints.models import CustomerKind, Touchpoint
from training.models import Completion, CompletionStatus

from . import catalogue
from .context import DemoContext, ensure
from .evidence import EvidenceGenerator, SiteContext, StandardPlan


class DemoDataError(RuntimeError):
    """The generator made a row the intake refuses: a bug in the demo, never the user's fault."""


def _refuse(errors, what: str) -> None:
    if errors:
        first = errors[0]
        raise DemoDataError(
            f"The intake refused {len(errors)} generated {what}; the first, row {first.row}, "
            f"{first.field}: {first.message}"
        )


# --- evidence ------------------------------------------------------------------------------


def build_evidence(demo: DemoContext) -> None:
    options = demo.options
    generator = EvidenceGenerator(
        seed=options.seed,
        first_day=demo.first_day,
        days=options.days,
        observations_per_day=options.observations_per_day,
        feedback_per_day=options.feedback_per_day,
        tz=timezone.get_default_timezone(),
    )
    evaluations, observations, feedback = [], [], []
    for site in _site_contexts(demo):
        for offset in range(options.days):
            day = generator.day(site, demo.first_day + timedelta(days=offset))
            evaluations += day.evaluations
            observations += day.observations
            feedback += day.feedback
            demo.deviation_closures.update(day.deviation_closures)

    # Known evaluations are skipped here only to spare evaluation_record its lookups on a re-run:
    # it is idempotent by external id itself, as the other intake services are.
    known = set(
        Evaluation.objects.filter(external_id__startswith="demo-").values_list("external_id", flat=True)
    )
    recorded = 0
    lookups = Lookups.load()  # the reference data once, not per evaluation
    for draft in evaluations:
        if draft.external_id in known:
            continue
        outcome = evaluation_record(
            location=draft.location,
            method=draft.method,
            evaluated_at=draft.evaluated_at,
            items=draft.items,
            team=draft.team,
            employee=draft.employee,
            touchpoint=draft.touchpoint,
            external_id=draft.external_id,
            evaluator=draft.evaluator,
            lookups=lookups,
        )
        _refuse(outcome.errors, f"items of evaluation {draft.external_id}")
        recorded += outcome.created
    observed = observations_ingest(enumerate(observations, start=1), lookups=lookups)
    _refuse(observed.errors, "observations")
    answered = feedback_ingest(enumerate(feedback, start=1), lookups=lookups)
    _refuse(answered.errors, "feedback answers")
    demo.log(
        f"Evidence over {options.days} days to {demo.last_day:%d %b %Y}: {recorded} evaluations "
        f"({sum(len(e.items) for e in evaluations if e.external_id not in known)} items), "
        f"{observed.created} other observations, {answered.created} feedback answers added"
    )


def _site_contexts(demo: DemoContext) -> list[SiteContext]:
    specs = {spec.code: spec for spec in catalogue.STANDARDS}
    touchpoint_team = {demo.touchpoints[s.slug].pk: s.delivered_by for s in catalogue.TOUCHPOINTS}
    site_touchpoints = defaultdict(set)
    links = Touchpoint.locations.through.objects.filter(touchpoint__in=demo.touchpoints.values())
    for location_id, touchpoint_id in links.values_list("location_id", "touchpoint_id"):
        site_touchpoints[location_id].add(touchpoint_id)
    active = [s for s in demo.standards.values() if s.status == Status.ACTIVE]
    skill = {
        employee.pk: demo.rng("skill", number).gauss(0, catalogue.EMPLOYEE_SPREAD)
        for number, employee in demo.employees.items()
    }
    contexts = []
    for index, (location, spec) in enumerate(demo.sites):
        here = site_touchpoints[location.pk]
        plans = []
        for standard in active:
            covered = [demo.touchpoints[slug] for slug in specs[standard.code].touchpoints]
            touchpoints = tuple(t for t in covered if t.pk in here)
            if touchpoints:
                plans.append(StandardPlan(standard, specs[standard.code], touchpoints))
        members = defaultdict(list)
        for _, employee in sorted(demo.employees.items()):
            if employee.location_id == location.pk and employee.team_id:
                members[demo.team_keys[employee.team_id]].append(employee)
        site_teams = {key: team for (code, key), team in demo.teams.items() if code == location.code}
        contexts.append(
            SiteContext(
                location=location,
                spec=spec,
                is_store=index > 0,
                teams=site_teams,
                members=dict(members),
                skill=skill,
                plans=plans,
                touchpoint_team=touchpoint_team,
                feedback_touchpoints=[
                    t
                    for t in demo.touchpoints.values()
                    if t.pk in here and t.customer_kind == CustomerKind.EXTERNAL
                ],
                leads={key: demo.lead(location, key) for key in site_teams},
                auditor=demo.auditor(location),
            )
        )
    return contexts


# --- deviations ----------------------------------------------------------------------------


def answer_deviations(demo: DemoContext) -> None:
    """Intake recorded a deviation for every failed observation of a non-negotiable standard;
    the rules engine proposes a corrective action for each, and the older ones were approved,
    delivered and closed, which closed their deviations, as in real life."""
    ours = Deviation.objects.filter(observation__external_id__startswith="demo-obs-")
    # Intake dates a deviation when it is recorded; the demo replays history, as if every
    # observation had been recorded as it was made.
    late = list(ours.exclude(detected_at=F("observation__observed_at")).select_related("observation"))
    for deviation in late:
        deviation.detected_at = deviation.observation.observed_at
    Deviation.objects.bulk_update(late, ["detected_at"], batch_size=500)

    # No periods touched: only the deviation rules run. The scorecard rules follow the rollup,
    # so a run after `rollup_scorecards` still adds nothing that is already there.
    proposed = rules_evaluate(periods=[], today=demo.until)["created"]

    answered = ours.filter(status=DeviationStatus.OPEN, corrective_action__isnull=False).select_related(
        "observation", "standard", "corrective_action__rule"
    )
    deviations, actions, waiting = [], [], []
    for deviation in answered:
        closed_at = demo.deviation_closures.get(deviation.observation.external_id)
        action = deviation.corrective_action
        if closed_at is None:
            # Still waiting for someone to act: proposed when the deviation was seen, and due
            # within the rule's days of it, so the old ones at a weak store are overdue.
            action.created_at = deviation.detected_at
            action.due_on = timezone.localdate(deviation.detected_at) + timedelta(
                days=action.rule.due_within_days
            )
            waiting.append(action)
            continue
        note = catalogue.CORRECTIVE_NOTES.get(deviation.standard.code, catalogue.CORRECTIVE_NOTE)
        consequence_approve(consequence=action, user=demo.admin_user)
        consequence_deliver(consequence=action, user=demo.admin_user)
        consequence_close(consequence=action, note=note, user=demo.admin_user)
        # The services stamp the present; date each step to when it happened in the demo's past.
        detected, took = deviation.detected_at, closed_at - deviation.detected_at
        action.created_at, action.closed_at = detected, closed_at
        action.approved_at, action.delivered_at = detected + took / 3, detected + took * 2 / 3
        action.due_on = timezone.localdate(detected) + timedelta(days=action.rule.due_within_days)
        deviation.status, deviation.closed_at = DeviationStatus.CLOSED, closed_at
        actions.append(action)
        deviations.append(deviation)
    Consequence.objects.bulk_update(
        actions, ["created_at", "approved_at", "delivered_at", "closed_at", "due_on"], batch_size=500
    )
    Consequence.objects.bulk_update(waiting, ["created_at", "due_on"], batch_size=500)
    Deviation.objects.bulk_update(deviations, ["closed_at"], batch_size=500)
    demo.log(
        f"Deviations: {ours.count()} in all; the rules engine proposed {proposed} consequences "
        f"(a corrective action for each new one), {len(actions)} were closed since and "
        f"{len(waiting)} still wait for action"
    )


# --- gap analysis --------------------------------------------------------------------------


def build_gap_analysis(demo: DemoContext) -> None:
    added = defaultdict(int)
    for spec in catalogue.ASSESSMENTS:
        if spec.site is not None and spec.site > len(demo.stores):
            continue  # that store is not part of this demo
        location = None if spec.site is None else demo.sites[spec.site][0]
        assessment, new = ensure(
            Assessment,
            {"touchpoint": demo.touchpoints[spec.touchpoint], "location": location},
            assessed_on=demo.days_ago(spec.assessed_days_ago),
            assessor=demo.admin_user if location is None else demo.auditor(location),
            status=spec.status,
            summary=spec.summary,
        )
        added["assessments"] += new
        assessment.expectations.add(*CustomerExpectation.objects.filter(name__in=spec.expectations))
        ratings = {}
        for rating_spec in spec.ratings:
            ratings[rating_spec.dimension], new = ensure(
                Rating,
                {"assessment": assessment, "dimension": rating_spec.dimension},
                current=rating_spec.current,
                target=rating_spec.target,
                evidence=rating_spec.evidence,
            )
            added["ratings"] += new
        for action_spec in spec.actions:
            added["actions"] += _action(demo, action_spec, assessment, ratings)
    demo.log(
        f"Gap analysis: {added['assessments']} assessments, {added['ratings']} ratings, "
        f"{added['actions']} action items added"
    )


def _action(demo: DemoContext, spec, assessment: Assessment, ratings: dict[str, Rating]) -> bool:
    location = assessment.location
    if ActionItem.objects.filter(title=spec.title, location=location).exists():
        return False  # checked first: finding the customer comment to cite costs queries
    source = {"rating": ratings.get(spec.source)}
    if spec.source == catalogue.FROM_FEEDBACK:
        feedback = _complaint(demo, assessment)
        if feedback is None:
            demo.log(f"  (no customer comment yet for the action “{spec.title}”: left out)")
            return False
        source = {"feedback": feedback}
    if location is None:
        owner = demo.admin_user
    elif location == demo.head_office:
        owner = demo.lead(location, demo.team_keys[assessment.touchpoint.owner_team_id])
    else:
        owner = demo.store_manager(location)
    done = spec.status == ActionStatus.DONE
    closed_on = demo.days_ago(spec.closed_days_ago) if done else None
    _, new = ensure(
        ActionItem,
        {"title": spec.title, "location": location},
        description=spec.description,
        owner=owner or demo.admin_user,
        due_on=demo.until + timedelta(days=spec.due_in_days),
        status=spec.status,
        closure_note=spec.closure_note,
        closed_on=closed_on,
        customer_summary=spec.customer_summary,
        published=spec.published,
        published_on=min(closed_on + timedelta(days=2), demo.until) if spec.published else None,
        **source,
    )
    return new


def _complaint(demo: DemoContext, assessment: Assessment) -> Feedback | None:
    """The customer comment an action answers: the latest unhappy comment on the touchpoint at
    that location before the assessment, else the first one after it."""
    unhappy = (
        Feedback.objects.filter(
            touchpoint=assessment.touchpoint, csat__lte=2, external_id__startswith="demo-"
        )
        .filter(location=assessment.location or demo.head_office)
        .exclude(comment="")
    )
    before = unhappy.filter(submitted_at__lt=demo.at(assessment.assessed_on, 0))
    return before.order_by("-submitted_at").first() or unhappy.order_by("submitted_at").first()


# --- example consequences ------------------------------------------------------------------


def build_example_consequences(demo: DemoContext) -> None:
    """A handful of consequences in every status, chosen from the evidence: the best store, the
    best and the weakest performer, a team plan at the weakest store, and someone whose training
    has lapsed. The rules engine proposes the rest once scorecards are rolled up."""
    observed = Observation.objects.filter(external_id__startswith="demo-", location__in=demo.stores)
    stores = _pass_rates(observed, "location")
    added = 0
    if len(stores) >= 2:
        best = Location.objects.get(pk=max(stores, key=lambda pk: (stores[pk][0], -pk)))
        worst = Location.objects.get(pk=min(stores, key=lambda pk: (stores[pk][0], pk)))
        added += _examples_from_rates(demo, observed, best, worst, stores)
    lapsed = (
        Completion.objects.filter(
            employee__employee_number__in=demo.employees,
            status=CompletionStatus.VERIFIED,
            expires_on__lte=demo.until,
        )
        .select_related("employee", "course")
        .order_by("employee__employee_number", "course__code")
        .first()
    )
    if lapsed:
        added += _example(
            demo,
            "remedial-training",
            status=ConsequenceStatus.PROPOSED,
            subject_kind=SubjectKind.EMPLOYEE,
            employee=lapsed.employee,
            team=lapsed.employee.team,
            location=lapsed.employee.location,
            action=Action.REMEDIAL_TRAINING,
            summary=f"Retake “{lapsed.course.title}”: it expired on {lapsed.expires_on:%d %b %Y}",
            owner=demo.reviewer(lapsed.employee),
        )
    demo.log(f"Example consequences: {added} added")


def _examples_from_rates(demo, observed, best: Location, worst: Location, stores) -> int:
    period = f"the last {demo.options.days} days"
    added = _example(
        demo,
        "best-store",
        status=ConsequenceStatus.CLOSED,
        note="Celebrated at the regional meeting; the store manager shared their zone plan with every store.",
        subject_kind=SubjectKind.LOCATION,
        location=best,
        action=Action.RECOGNITION,
        summary=(
            f"Best store: {stores[best.pk][0]:.0%} of {stores[best.pk][1]} observations passed over {period}"
        ),
        owner=demo.regional_manager(best),
    )
    people = _pass_rates(observed.filter(location=best, employee__isnull=False), "employee", minimum=10)
    if people:
        pk = max(people, key=lambda p: (people[p][0], -p))
        employee = Employee.objects.get(pk=pk)
        added += _example(
            demo,
            "best-employee",
            status=ConsequenceStatus.DELIVERED,
            subject_kind=SubjectKind.EMPLOYEE,
            employee=employee,
            team=employee.team,
            location=best,
            action=Action.RECOGNITION,
            summary=f"Thank you: {people[pk][0]:.0%} of {people[pk][1]} observations passed over {period}",
            owner=demo.reviewer(employee),
        )
    people = _pass_rates(observed.filter(location=worst, employee__isnull=False), "employee", minimum=10)
    if people:
        pk = min(people, key=lambda p: (people[p][0], p))
        employee = Employee.objects.get(pk=pk)
        added += _example(
            demo,
            "coaching",
            status=ConsequenceStatus.APPROVED,
            subject_kind=SubjectKind.EMPLOYEE,
            employee=employee,
            team=employee.team,
            location=worst,
            action=Action.COACHING,
            summary=f"Coaching: {people[pk][0]:.0%} of {people[pk][1]} observations passed over {period}",
            owner=demo.reviewer(employee),
        )
    teams = _pass_rates(observed.filter(location=worst, team__isnull=False), "team", minimum=10)
    if teams:
        pk = min(teams, key=lambda p: (teams[p][0], p))
        added += _example(
            demo,
            "team-plan",
            status=ConsequenceStatus.PROPOSED,
            subject_kind=SubjectKind.TEAM,
            team=Team.objects.get(pk=pk),
            location=worst,
            action=Action.CORRECTIVE_ACTION,
            summary=f"Team plan: {teams[pk][0]:.0%} of {teams[pk][1]} observations passed over {period}",
            owner=demo.store_manager(worst),
        )
    return added


def _example(demo: DemoContext, key: str, *, status: str, note: str = "", **fields) -> bool:
    """Create an example consequence by hand (no rule) and move it to `status` as a manager would."""
    action = fields["action"]
    consequence, new = ensure(
        Consequence,
        {"dedupe_key": f"demo:{key}"},
        polarity=Polarity.POSITIVE if action == Action.RECOGNITION else Polarity.NEGATIVE,
        due_on=demo.until + timedelta(days=14),
        **fields,
    )
    if new and status != ConsequenceStatus.PROPOSED:
        consequence_approve(consequence=consequence, user=demo.admin_user)
        if status != ConsequenceStatus.APPROVED:
            consequence_deliver(consequence=consequence, user=demo.admin_user)
        if status == ConsequenceStatus.CLOSED:
            consequence_close(consequence=consequence, note=note, user=demo.admin_user)
    return new


def _pass_rates(observations, field: str, minimum: int = 1) -> dict[int, tuple[float, int]]:
    """pk of `field` → (pass rate, observations), for groups with at least `minimum` observations."""
    rows = observations.values(field).annotate(n=Count("pk"), passed=Count("pk", filter=Q(passed=True)))
    return {row[field]: (row["passed"] / row["n"], row["n"]) for row in rows if row["n"] >= minimum}
