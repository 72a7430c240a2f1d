"""Build the demo organisation from the catalogue, step by step, in one transaction.

Idempotent: every object is found by a natural key (location code, team name, employee number,
touchpoint slug, standard and course code, rule name, external id of the evidence, dedupe key of
example consequences) and only what is missing is added, so a second run with the same options
adds nothing, and a run with more stores or days tops up only what they bring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from audits.models import Audit, Occurrence, Schedule
from cases.models import Case, CaseEvent
from consequences.models import Consequence, Rule
from gap_analysis.models import ActionItem, Assessment, Rating
from measurement.models import Deviation, Evaluation, Feedback, Observation
from organization.models import Employee, Location, Team
from standards.models import Acknowledgement, Standard
from touchpoints.models import Touchpoint
from training.models import Assignment, Completion, Course, Requirement

from .audits import build_audits
from .casework import build_case_setup, build_cases
from .context import DemoContext, DemoOptions
from .organisation import build_organisation
from .programme import build_rules, build_standards, build_touchpoints, build_training
from .results import answer_deviations, build_evidence, build_example_consequences, build_gap_analysis

__all__ = ["COUNTED_MODELS", "CountRow", "DemoOptions", "build_demo"]

COUNTED_MODELS = (
    ("Locations", Location),
    ("Teams", Team),
    ("Employees", Employee),
    ("Touchpoints", Touchpoint),
    ("Standards", Standard),
    ("Acknowledgements", Acknowledgement),
    ("Courses", Course),
    ("Training requirements", Requirement),
    ("Training assignments", Assignment),
    ("Training completions", Completion),
    ("Evaluations", Evaluation),
    ("Observations", Observation),
    ("Deviations", Deviation),
    ("Customer feedback", Feedback),
    ("Gap assessments", Assessment),
    ("Gap ratings", Rating),
    ("Action items", ActionItem),
    ("Consequence rules", Rule),
    ("Consequences", Consequence),
    ("Cases", Case),
    ("Case events", CaseEvent),
    ("Audit schedules", Schedule),
    ("Planned audits", Occurrence),
    ("Audits", Audit),
)

STEPS = (
    build_organisation,
    build_touchpoints,
    build_standards,
    build_training,
    build_rules,
    build_case_setup,  # before the evidence: intake opens cases by the rules as the feedback comes in
    build_evidence,
    build_audits,  # after the evidence: its scorecards sit beside the audits' own evaluations
    answer_deviations,
    build_gap_analysis,
    build_cases,  # after the gap analysis: resolved cases link to its actions
    build_example_consequences,
)


@dataclass(frozen=True)
class CountRow:
    label: str
    total: int
    added: int


def build_demo(options: DemoOptions, *, log: Callable[[str], None] | None = None) -> list[CountRow]:
    """Build the demo organisation, or top up what an earlier run left out, all or nothing.

    Returns the number of rows of each model, in total and added by this run. Raises
    `results.DemoDataError` (and saves nothing) if the intake refuses a generated row.
    """
    before = {label: model.objects.count() for label, model in COUNTED_MODELS}
    demo = DemoContext(options=options, log=log or (lambda message: None))
    with transaction.atomic():
        for step in STEPS:
            step(demo)
    rows = []
    for label, model in COUNTED_MODELS:
        total = model.objects.count()
        rows.append(CountRow(label, total, total - before[label]))
    return rows
