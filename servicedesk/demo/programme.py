"""Steps 2–4 and the rules of step 6: touchpoints, standards and their acknowledgements, training,
and consequence rules. Standards, acknowledgements and completions go through their services."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from consequences.models import Rule
from standards.models import Acknowledgement, Standard, Status
from standards.services import standard_acknowledge, standard_save
from touchpoints.models import CustomerKind, Touchpoint
from training.models import Assignment, Audience, Completion, Course, Requirement
from training.services import assignments_sync, completion_log, completion_reject, completion_verify

from . import catalogue
from .catalogue import StandardSpec
from .context import DemoContext, ensure

# --- touchpoints ---------------------------------------------------------------------------


def build_touchpoints(demo: DemoContext) -> None:
    created = 0
    for spec in catalogue.TOUCHPOINTS:
        touchpoint, new = ensure(
            Touchpoint,
            {"slug": spec.slug},
            name=spec.name,
            description=spec.description,
            channel=spec.channel,
            journey_stage=spec.stage,
            customer_kind=spec.customer_kind,
            owner_team=demo.teams[(demo.head_office.code, spec.owner)],
        )
        created += new
        touchpoint.locations.add(*(demo.stores if spec.site == catalogue.STORE else [demo.head_office]))
        demo.touchpoints[spec.slug] = touchpoint
    internal = sum(s.customer_kind == CustomerKind.INTERNAL for s in catalogue.TOUCHPOINTS)
    demo.log(f"Touchpoints: {len(demo.touchpoints)} ({internal} for internal customers, {created} new)")


# --- standards -----------------------------------------------------------------------------


def build_standards(demo: DemoContext) -> None:
    created = acknowledged = 0
    for spec in catalogue.STANDARDS:
        standard = Standard.objects.filter(code=spec.code).first()
        if standard is None:
            standard, acknowledged_first = _standard_create(demo, spec)
            created += 1
            acknowledged += acknowledged_first
        # Idempotent adds: they also reach the teams of stores added by a later run.
        standard.touchpoints.add(*[demo.touchpoints[slug] for slug in spec.touchpoints])
        standard.teams.add(*[team for (_, key), team in demo.teams.items() if key in spec.teams])
        demo.standards[spec.code] = standard

    specs = {spec.code: spec for spec in catalogue.STANDARDS}
    active = [s for s in demo.standards.values() if s.status == Status.ACTIVE]
    for standard in active:
        acknowledged += _acknowledge(demo, standard, specs[standard.code], last_day=demo.last_day)
    covered = {t.pk for s in active for t in s.touchpoints.all()}
    uncovered = [t.name for t in demo.touchpoints.values() if t.pk not in covered]
    demo.log(
        f"Standards: {len(demo.standards)} ({len(active)} active, "
        f"{sum(s.non_negotiable for s in active)} non-negotiable, {created} new), "
        f"{acknowledged} acknowledgements added; touchpoints without an active standard: "
        f"{', '.join(uncovered) or 'none'}"
    )


def _standard_create(demo: DemoContext, spec: StandardSpec) -> tuple[Standard, int]:
    measure = spec.measure
    standard = standard_save(
        standard=Standard(
            code=spec.code,
            title=spec.title,
            behaviour=spec.previous_behaviour or spec.behaviour,
            how=spec.how,
            why_customer=spec.why_customer,
            why_employee=spec.why_employee,
            measure_kind=measure.kind,
            comparator=measure.comparator,
            threshold=measure.threshold,
            unit=measure.unit,
            target_rate=spec.target_rate,
            weight=spec.weight,
            non_negotiable=spec.non_negotiable,
            status=spec.status,
            effective_from=demo.days_ago(spec.effective_days_ago),
        ),
        material_change=False,
    )
    acknowledged = 0
    if spec.previous_behaviour:
        # Version 1 was in force, and accepted, until a material change made version 2: everyone
        # it applies to must now accept the new wording.
        revised_on = demo.days_ago(spec.revised_days_ago)
        acknowledged = _acknowledge(demo, standard, spec, last_day=revised_on - timedelta(days=1))
        standard.behaviour = spec.behaviour
        standard.effective_from = revised_on
        standard = standard_save(standard=standard, material_change=True)
    return standard, acknowledged


def _acknowledge(demo: DemoContext, standard: Standard, spec: StandardSpec, *, last_day) -> int:
    """Most employees the standard applies to accept the version in force within two weeks of it
    taking effect (or of joining); some have not yet."""
    done = set(
        Acknowledgement.objects.filter(standard=standard, version=standard.version).values_list(
            "employee_id", flat=True
        )
    )
    added = 0
    for number, employee in sorted(demo.employees.items()):
        if employee.pk in done or (spec.teams and demo.team_keys.get(employee.team_id) not in spec.teams):
            continue
        rng = demo.rng("acknowledgement", number, spec.code, standard.version)
        start = max(standard.effective_from, employee.hired_on)
        if start > last_day or rng.random() >= catalogue.ACKNOWLEDGED_SHARE:
            continue
        day = min(start + timedelta(days=rng.randint(0, 14)), last_day)
        standard_acknowledge(standard=standard, employee=employee, at=demo.at(day, rng.randint(8, 17)))
        added += 1
    return added


# --- training ------------------------------------------------------------------------------


def build_training(demo: DemoContext) -> None:
    courses = {}
    for spec in catalogue.COURSES:
        course, _ = ensure(
            Course,
            {"code": spec.code},
            title=spec.title,
            description=spec.description,
            delivery_method=spec.delivery_method,
            duration_minutes=spec.duration_minutes,
            pass_mark=spec.pass_mark,
            refresher_interval_days=spec.refresher_interval_days,
        )
        course.standards.add(*[demo.standards[code] for code in spec.standards])
        courses[spec.code] = course

    # Requirements reached people at different times; sync the assignments as of each of those
    # days, so that 'due within N days' runs from a real assignment date and some are overdue.
    for added_days_ago in sorted({r.added_days_ago for r in catalogue.REQUIREMENTS}, reverse=True):
        for spec in catalogue.REQUIREMENTS:
            if spec.added_days_ago == added_days_ago:
                for audience in _requirement_audiences(demo, spec):
                    ensure(
                        Requirement,
                        {"course": courses[spec.course], "audience": spec.audience, **audience},
                        due_within_days=spec.due_within_days,
                    )
        assignments_sync(today=demo.days_ago(added_days_ago))
    assignments_sync(today=demo.until)

    outcomes = _completions(demo)
    missing = outcomes.pop("missing", 0)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "none"
    demo.log(
        f"Training: {len(courses)} courses; completions added: {summary}; "
        f"{missing} assignments not completed (due or overdue)"
    )


def _requirement_audiences(demo: DemoContext, spec) -> list[dict]:
    nobody = {"role": "", "team": None, "location": None}
    if spec.audience == Audience.ROLE:
        return [{**nobody, "role": spec.role}]
    if spec.audience == Audience.TEAM:
        return [{**nobody, "team": team} for (_, key), team in demo.teams.items() if key == spec.team]
    if spec.audience == Audience.LOCATION:
        if spec.store > len(demo.stores):
            return []  # that store is not part of this demo
        return [{**nobody, "location": demo.stores[spec.store - 1]}]
    return [nobody]


def _completions(demo: DemoContext) -> Counter:
    """For each assignment of a demo employee without a completion yet: verified, logged,
    rejected, expired, or missing (then due or overdue), by the shares in the catalogue.

    Logged through `completion_log` and reviewed through `completion_verify`/`completion_reject`;
    those stamp the present, so the times are then set to when it happened in the demo's past.
    """
    done = set(Completion.objects.values_list("employee_id", "course_id"))
    assignments = (
        Assignment.objects.filter(employee__employee_number__in=demo.employees, active=True)
        .select_related("employee__user", "course")
        .order_by("employee__employee_number", "course__code")
    )
    outcomes, backdated = Counter(), []
    for assignment in assignments:
        employee, course = assignment.employee, assignment.course
        if (employee.pk, course.pk) in done:
            continue
        rng = demo.rng("training", employee.employee_number, course.code)
        outcome = _outcome(rng)
        completed_on = _completed_on(demo, assignment, outcome, rng)
        if completed_on is None:
            outcomes["missing"] += 1
            continue
        number = f"{course.code}-{rng.randint(1000, 9999)}"
        completion = completion_log(
            employee=employee,
            course=course,
            completed_on=completed_on,
            method=course.delivery_method,
            score=rng.randint(course.pass_mark, 100) if course.pass_mark is not None else None,
            evidence=catalogue.COMPLETION_EVIDENCE[course.delivery_method].format(number=number),
        )
        completion.logged_at = demo.at(completed_on, 18)
        if outcome != "logged":
            reviewer = demo.reviewer(employee)
            if outcome == "rejected":
                completion_reject(
                    completion=completion, reviewer=reviewer, reason=rng.choice(catalogue.REJECTION_REASONS)
                )
            else:
                completion_verify(completion=completion, reviewer=reviewer)
            reviewed_on = min(completed_on + timedelta(days=rng.randint(1, 5)), demo.last_day)
            reviewed_at = demo.at(reviewed_on, rng.randint(9, 17))
            completion.reviewed_at = max(reviewed_at, completion.logged_at + timedelta(hours=1))
        backdated.append(completion)
        outcomes[outcome] += 1
    Completion.objects.bulk_update(backdated, ["logged_at", "reviewed_at"], batch_size=500)
    return outcomes


def _outcome(rng) -> str:
    roll = rng.random()
    for outcome, share in catalogue.COMPLETION_OUTCOMES:
        if roll < share:
            return outcome
        roll -= share
    return "missing"


def _completed_on(demo: DemoContext, assignment: Assignment, outcome: str, rng):
    """When the course was completed for this outcome, or None when it has not been (or cannot
    have been: an expired completion needs a refresher interval and to fall after the hire)."""
    employee, interval = assignment.employee, assignment.course.refresher_interval_days
    if outcome == "missing":
        return None
    if outcome == "expired":
        completed_on = demo.days_ago(interval + rng.randint(1, 60)) if interval else None
    elif outcome == "logged":
        completed_on = demo.last_day - timedelta(days=rng.randint(0, 10))
    else:
        earliest = max(assignment.assigned_on, employee.hired_on)
        if interval:
            earliest = max(earliest, demo.days_ago(interval - 1))
        # Most finish by the due date; some a little late.
        latest = min(assignment.due_on + timedelta(days=20), demo.last_day)
        span = (latest - earliest).days
        completed_on = earliest + timedelta(days=rng.randint(0, span)) if span >= 0 else None
    if completed_on is None or completed_on < employee.hired_on:
        return None
    return completed_on


# --- consequence rules ---------------------------------------------------------------------


def build_rules(demo: DemoContext) -> None:
    created = 0
    for spec in catalogue.RULES:
        _, new = ensure(
            Rule,
            {"name": spec.name},
            description=spec.description,
            subject_kind=spec.subject_kind,
            condition=spec.condition,
            action=spec.action,
            period_kind=spec.period_kind,
            consecutive_periods=spec.consecutive_periods,
            min_observations=spec.min_observations,
            standard=demo.standards[spec.standard] if spec.standard else None,
            due_within_days=spec.due_within_days,
            missed_at_least=spec.missed_at_least,
            active=spec.active,
        )
        created += new
    demo.log(f"Consequence rules: {len(catalogue.RULES)} ({created} new)")
