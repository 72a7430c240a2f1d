"""The audit programme of the demo: three published templates on the demo's standards (a store
mystery shop in two versions, a contact-centre call review and a monthly manager self-audit),
an agency mystery shopper, schedules over the demo period, and the audits done from them.

Occurrences come from the planning service, audits go through the submission service, so the
demo takes the same path as the audit form. Whether an occurrence was done on time, late or
missed follows the site's quality (a weak store misses more), and so do its answers: each one
passes with probability sigmoid(ease of its standard + quality of the site, drifting by its
trend), drawn from a random stream per occurrence so the data is reproducible and a re-run adds
nothing. The "present" of the demo is the start of `until`: what opens by then is there to do now.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from audits.models import (
    AssigneeMode,
    Audit,
    AuditMethod,
    AuditStatus,
    AuditTemplate,
    ChoiceOption,
    ExternalEvaluator,
    Frequency,
    LogicRule,
    Occurrence,
    OccurrenceStatus,
    Question,
    QuestionKind,
    Schedule,
    Section,
    TemplateStatus,
)
from audits.services.planning import occurrences_advance, occurrences_plan
from audits.services.scoring import Form, matches
from audits.services.submission import answer_save, audit_submit
from audits.services.templates import template_new_version, template_publish
from standards.models import MeasureKind

from . import catalogue
from .context import DemoContext
from .evidence import measured_value, sigmoid
from .results import DemoDataError

# Stores below this volume (the seasonal pop-up) are not in the audit programme: a monthly audit
# there would be most of its evidence.
AUDITED_VOLUME = 0.1
# Shares of a site's past occurrences missed and done late, at average quality (0); a weaker
# site misses more. Spread over the site's occurrences in order, so a share shows even in a
# short demo.
MISSED_SHARE, MISSED_PER_QUALITY = 0.2, -0.25
LATE_SHARE, LATE_PER_QUALITY = 0.2, -0.15
DRAFT_CHANCE = 0.5  # of the audits open now, away from the demo logins' own
NA_CHANCE = 0.1  # questions that allow N/A and do not always apply
CRITICAL_FAIL_NOTE = "No ID was asked for; the colleague sold the item without a second look."


# --- templates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Q:
    text: str
    kind: str
    standard: str = ""
    weight: str = "1"
    critical: bool = False
    allow_na: bool = False
    required: bool = True
    help_text: str = ""
    options: tuple[tuple[str, str, str], ...] = ()  # (value, label, score), best first
    follow_up: Q | None = None  # asked after `follow_up_when`
    follow_up_when: tuple[str, ...] = ()
    note_when: tuple[str, ...] = ()  # answers that need a note
    action_when: tuple[str, ...] = ()  # answers that need a corrective action


@dataclass(frozen=True)
class S:
    title: str
    questions: tuple[Q, ...]
    weight: str = "1"
    fail_below: str | None = None


MYSTERY_SHOP = "Store mystery shop"
CALL_REVIEW = "Contact-centre call review"
SELF_AUDIT = "Monthly manager self-audit"

MYSTERY_SECTIONS = (
    S("Arrival", (
        Q(
            "Were you greeted within 10 seconds of entering?", QuestionKind.YES_NO, "GRT-01", "1.5",
            follow_up=Q(
                "How long did you wait, and what were the colleagues nearby doing?", QuestionKind.TEXT,
                help_text="A sentence or two: it tells the store what got in the way.",
            ),
            follow_up_when=("no",),
        ),
        Q("How warm and genuine was the welcome?", QuestionKind.RATING, "GRT-02",
          help_text="1: cold or scripted … 5: friendly, open, meant it."),
    )),
    S("Service", (
        Q("Did a colleague offer help once, then give you space?", QuestionKind.YES_NO, "ADV-01"),
        Q("When you asked where something was, were you walked to it?", QuestionKind.YES_NO, "ADV-03"),
        Q("How well did they know the product?", QuestionKind.RATING, "ADV-02", "2",
          help_text="1: guessed or wrong … 5: accurate, or fetched someone who knew."),
    ), weight="2", fail_below="50"),
    S("Till and farewell", (
        Q("How many minutes did you queue at the till?", QuestionKind.NUMBER, "TIL-01",
          help_text="From joining the queue to reaching the till, in minutes (e.g. 3.5)."),
        Q(
            "Buying the age-restricted item, were you asked for ID (Challenge 25)?",
            QuestionKind.PASS_FAIL, "AGE-01", "3", critical=True,
            help_text="N/A if the store had no age-restricted item to buy.",
            note_when=("fail",),
        ),
        Q("Were you given a receipt, printed or emailed?", QuestionKind.YES_NO, "TIL-03", "3"),
        Q("Were you thanked and invited back?", QuestionKind.YES_NO, "TIL-04"),
        Q("Photo of the till area", QuestionKind.PHOTO, required=False,
          help_text="Optional; only where it shows no customer or colleague face."),
    )),
)  # fmt: skip
# Version 2 adds the returns desk: shoppers return an item on the same visit.
MYSTERY_V2_QUESTION = Q(
    "Returning an item, was it accepted without an interrogation?", QuestionKind.YES_NO, "RET-02",
    help_text="One question about what was wrong is fine; asking you to justify the return is not.",
)  # fmt: skip

CALL_SECTIONS = (
    S("Opening", (
        Q("How many rings before the call was answered?", QuestionKind.NUMBER, "PHN-01",
          help_text="Count from the recording's first ring."),
        Q(
            "How was the caller's identity checked before the account was discussed?",
            QuestionKind.CHOICE, "DAT-01", "3", critical=True, allow_na=True,
            help_text="N/A when no account or order was discussed.",
            options=(
                ("both", "Postcode and order number", "2"),
                ("one", "Only one of them", "1"),
                ("none", "Not checked", "0"),
            ),
        ),
    )),
    S("Handling", (
        Q("Did the agent use the customer's name and own the call?", QuestionKind.RATING, "PHN-02", "2",
          help_text="1: passed the caller on … 5: by name, summarised, said who calls back and when."),
        Q(
            "Was the statement query answered correctly?", QuestionKind.CHOICE, "BIL-01", allow_na=True,
            help_text="N/A when the call was not about a statement.",
            options=(
                ("explained", "Correct, with the adjustment explained", "2"),
                ("correct", "Correct, not explained", "1"),
                ("wrong", "Wrong balance or payments", "0"),
            ),
        ),
    ), weight="2"),
)  # fmt: skip

SELF_SECTIONS = (
    S("Shop floor", (
        Q("Were the fitting rooms checked every 30 minutes today?", QuestionKind.YES_NO, "FIT-01",
          help_text="Look at today's check sheet.", action_when=("no",)),
        Q("Was every shift handover sheet signed this week?", QuestionKind.YES_NO, "HND-01",
          action_when=("no",)),
    )),
    S("Tills and collections", (
        Q("Longest till queue at today's peak, in minutes", QuestionKind.NUMBER, "TIL-01",
          help_text="Time the last customer in the queue at the lunchtime peak."),
        Q("Hours from the 'ready' message to the order on the collection shelf",
          QuestionKind.NUMBER, "CNC-01", help_text="The oldest click & collect order of the day."),
        Q("Working days to refund the last return checked", QuestionKind.NUMBER, "RET-01"),
        Q("Was a second till opened whenever three customers were waiting?", QuestionKind.YES_NO,
          "TIL-02", action_when=("no",)),
        Q("Rings before a test call to the store was answered", QuestionKind.NUMBER, "PHN-01"),
    ), weight="2"),
)  # fmt: skip

ACTIONS = {
    "FIT-01": "Team leader adds the fitting-room check to the floor rota; store manager checks the sheet daily.",
    "HND-01": "Handover sheet goes on the till desk; incoming team leader signs it before the shift starts.",
    "TIL-02": "Queue buzzer tested and re-briefed to the floor team this week; team leader owns it.",
}


def _section_build(demo: DemoContext, template: AuditTemplate, position: int, spec: S) -> Section:
    section = Section.objects.create(
        template=template,
        position=position,
        title=spec.title,
        weight=Decimal(spec.weight),
        fail_below=Decimal(spec.fail_below) if spec.fail_below else None,
    )
    for index, question in enumerate(spec.questions):
        _question_build(demo, section, 10 * index, question)
    return section


def _question_build(
    demo: DemoContext, section: Section, position: int, spec: Q, parent=None, shown_when=()
) -> Question:
    question = Question.objects.create(
        section=section,
        position=position,
        text=spec.text,
        help_text=spec.help_text,
        kind=spec.kind,
        standard=demo.standards[spec.standard] if spec.standard else None,
        weight=Decimal(spec.weight),
        critical=spec.critical,
        required=spec.required,
        allow_na=spec.allow_na,
        parent=parent,
        shown_when=list(shown_when),
    )
    ChoiceOption.objects.bulk_create(
        ChoiceOption(question=question, position=i, value=value, label=label, score=Decimal(score))
        for i, (value, label, score) in enumerate(spec.options)
    )
    if spec.note_when:
        LogicRule.objects.create(question=question, answers=list(spec.note_when), require_note=True)
    if spec.action_when:
        LogicRule.objects.create(question=question, answers=list(spec.action_when), require_action=True)
    if spec.follow_up is not None:
        _question_build(demo, section, position + 1, spec.follow_up, question, spec.follow_up_when)
    return question


def _template_build(
    demo: DemoContext, title: str, method: str, description: str, sections, touchpoints, published: datetime
) -> AuditTemplate:
    template = AuditTemplate.objects.create(title=title, method=method, description=description)
    template.touchpoints.set([demo.touchpoints[slug] for slug in touchpoints])
    for position, spec in enumerate(sections):
        _section_build(demo, template, position, spec)
    template = template_publish(template)
    # Published before the demo's period, as a running programme's templates are.
    AuditTemplate.objects.filter(pk=template.pk).update(created_at=published, published_at=published)
    template.refresh_from_db()
    return template


def _templates(demo: DemoContext) -> dict[str, list[AuditTemplate]]:
    """Each template's versions, oldest first, built once; found by title on a re-run."""
    found: dict[str, list[AuditTemplate]] = {}
    for template in AuditTemplate.objects.filter(title__in=[MYSTERY_SHOP, CALL_REVIEW, SELF_AUDIT]).order_by(
        "version"
    ):
        found.setdefault(template.title, []).append(template)
    if len(found) == 3:
        return found
    before = demo.at(demo.first_day - timedelta(days=30), 9)
    if MYSTERY_SHOP not in found:
        first = _template_build(
            demo, MYSTERY_SHOP, AuditMethod.MYSTERY_SHOP,
            "An agency shopper visits unannounced, buys an age-restricted item and scores the visit.",
            MYSTERY_SECTIONS, ("store-welcome", "shop-floor-advice", "checkout-till"), before,
        )  # fmt: skip
        second = template_new_version(first)
        till = second.sections.get(title="Till and farewell")
        _question_build(demo, till, 100, MYSTERY_V2_QUESTION)
        second.touchpoints.add(demo.touchpoints["returns-desk"])
        second = template_publish(second)
        midway = demo.at(demo.first_day + timedelta(days=demo.options.days // 2), 9)
        AuditTemplate.objects.filter(pk=second.pk).update(created_at=midway, published_at=midway)
        found[MYSTERY_SHOP] = [first, second]
    if CALL_REVIEW not in found:
        found[CALL_REVIEW] = [
            _template_build(
                demo,
                CALL_REVIEW,
                AuditMethod.QA_REVIEW,
                "The contact centre manager reviews one recorded call of an agent each week.",
                CALL_SECTIONS,
                ("customer-service-phone",),
                before,
            )  # fmt: skip
        ]
    if SELF_AUDIT not in found:
        found[SELF_AUDIT] = [
            _template_build(
                demo,
                SELF_AUDIT,
                AuditMethod.SELF_ASSESSMENT,
                "The store manager checks the store's own routines once a month.",
                SELF_SECTIONS,
                ("fitting-rooms", "till-queue", "click-and-collect", "returns-desk"),
                before,
            )  # fmt: skip
        ]
    for versions in found.values():
        for template in versions:
            template.refresh_from_db()
    return found


# --- the mystery shopper ---------------------------------------------------------------------


def _shopper(demo: DemoContext) -> ExternalEvaluator:
    login = catalogue.MYSTERY_SHOPPER
    user = get_user_model().objects.filter(username=login.username).first()
    if user is None:
        user = get_user_model()(
            username=login.username,
            first_name=login.first_name,
            last_name=login.last_name,
            email=f"{login.username}@{catalogue.MYSTERY_SHOPPER_DOMAIN}",
        )
        user.set_password(catalogue.DEMO_PASSWORD)
        user.full_clean()
        user.save()
    evaluator, _ = ExternalEvaluator.objects.get_or_create(
        user=user, defaults={"organisation": catalogue.MYSTERY_SHOPPER_AGENCY}
    )
    return evaluator


# --- schedules -------------------------------------------------------------------------------


def _audited_stores(demo: DemoContext):
    return [(location, spec) for location, spec in demo.sites[1:] if spec.volume >= AUDITED_VOLUME]


def _schedule(template: AuditTemplate, location, **fields) -> tuple[Schedule, bool]:
    schedule = Schedule.objects.filter(template__lineage=template.lineage, location=location).first()
    if schedule is not None:
        return schedule, False
    schedule = Schedule(template=template, location=location, **fields)
    schedule.full_clean()
    schedule.save()
    return schedule, True


def _schedules(demo: DemoContext, templates, shopper: ExternalEvaluator) -> int:
    """Monthly mystery shops and self-audits per store, a weekly call review at the contact
    centre. The monthly days fall a few days before the present, so one of each is open now."""
    added = 0
    mystery, call, self_audit = (templates[t][0] for t in (MYSTERY_SHOP, CALL_REVIEW, SELF_AUDIT))
    shop_day = (demo.until - timedelta(days=3)).day
    self_day = (demo.until - timedelta(days=2)).day
    for location, _ in _audited_stores(demo):
        schedule, new = _schedule(
            mystery, location, frequency=Frequency.MONTHLY, day_of_month=shop_day, starts_on=demo.first_day,
            opens_at=time(9), due_after_days=6, due_time=time(18), late_allowed_days=2,
        )  # fmt: skip
        if new:
            schedule.assigned_evaluators.add(shopper)
        added += new
        schedule, new = _schedule(
            self_audit, location, frequency=Frequency.MONTHLY, day_of_month=self_day,
            starts_on=demo.first_day, opens_at=time(8), due_after_days=4, due_time=time(20),
            late_allowed_days=3,
        )  # fmt: skip
        if new:
            schedule.assigned_employees.add(demo.store_manager(location).employee)
        added += new
    head_office = demo.head_office
    schedule, new = _schedule(
        call, head_office, frequency=Frequency.WEEKLY, weekdays="MO", starts_on=demo.first_day,
        opens_at=time(8), due_after_days=4, due_time=time(18), late_allowed_days=1,
        assignee_mode=AssigneeMode.EACH,
    )  # fmt: skip
    if new:
        leads = [
            demo.user(0, slot.slot).employee
            for slot in catalogue.HEAD_OFFICE_ROSTER
            if slot.leads_team and slot.team == "contact"
        ]
        schedule.assigned_employees.add(*leads)
    return added + new


# --- audits ----------------------------------------------------------------------------------


@dataclass
class Fates:
    """Which of a site's past occurrences are missed and which done late: each share spread
    evenly over the occurrences in order (error diffusion), so that even two occurrences at a
    45 % share miss one, and a site's fates never depend on chance alone."""

    missed: float
    late: float
    count: int = 0

    def next(self) -> str:
        self.count += 1
        if _crosses(0.5, self.count, self.missed):
            return OccurrenceStatus.MISSED
        if _crosses(0.75, self.count, self.late):
            return OccurrenceStatus.LATE
        return OccurrenceStatus.DONE


def _crosses(start: float, count: int, share: float) -> bool:
    """Whether the count-th step of `share` crosses a whole number."""
    return math.floor(start + count * share) > math.floor(start + (count - 1) * share)


def _share(base: float, per_quality: float, quality: float) -> float:
    return min(0.6, max(0.0, base + per_quality * quality))


def _answers(demo: DemoContext, form: Form, site_spec, day: date, rng) -> dict[int, dict]:
    """An answer to every question that applies, drawn from the site's quality on that day."""
    progress = (day - demo.first_day).days / max(1, demo.options.days)
    shift = site_spec.quality + site_spec.trend * progress
    specs = {spec.code: spec for spec in catalogue.STANDARDS}
    answers: dict[int, dict] = {}
    for question in form.all_questions():
        if question.parent_id is not None:
            # Asked exactly when the form asks it (`shown`: "failed" and the like count too); the
            # answer to a free-text follow-up is its text.
            parent = answers.get(question.parent_id)
            parent_question = form.question(question.parent_id)
            if parent is None or not matches(form, parent_question, parent["value"], question.shown_when):
                continue
            answers[question.pk] = {"value": _wait_note(rng)}
            continue
        if not question.scored:
            continue
        if question.na_allowed and rng.random() < NA_CHANCE:
            answers[question.pk] = {"value": "na"}
            continue
        spec = specs[question.standard.code]
        passed = rng.random() < sigmoid(spec.ease + shift)
        answers[question.pk] = {"value": _value(form, question, spec, passed, rng)}
        rules = form.rules.get(question.pk, [])
        if not passed and any(rule.require_note for rule in rules):
            answers[question.pk]["note"] = CRITICAL_FAIL_NOTE
        if not passed and any(rule.require_action for rule in rules):
            answers[question.pk]["action"] = ACTIONS[question.standard.code]
    return answers


def _value(form: Form, question: Question, spec, passed: bool, rng) -> str:
    if question.kind == QuestionKind.YES_NO:
        return "yes" if passed else "no"
    if question.kind == QuestionKind.PASS_FAIL:
        return "pass" if passed else "fail"
    if question.kind == QuestionKind.CHOICE:
        options = sorted(form.options[question.pk], key=lambda o: o.score, reverse=True)
        return options[0].value if passed else rng.choice(options[1:]).value
    if question.standard.measure_kind == MeasureKind.RATING or question.standard.measure_kind == (
        MeasureKind.NUMERIC
    ):
        return str(measured_value(question.standard, spec, passed, rng))
    raise DemoDataError(f"No demo answer for a {question.kind} question.")


WAIT_NOTES = (
    "About a minute; two colleagues were refilling a rail with their backs to the door.",
    "Nearly two minutes; the only colleague nearby was on the phone.",
    "Half a minute; colleagues were chatting at the till.",
)


def _wait_note(rng) -> str:
    return rng.choice(WAIT_NOTES)


def _version_on(versions: list[AuditTemplate], moment: datetime) -> AuditTemplate:
    """The version published at `moment`: the latest one published by then."""
    return [v for v in versions if v.published_at <= moment][-1]


def _audit_start(demo, occurrence: Occurrence, template, auditor, rng, started: datetime, employee, team):
    audit = Audit.objects.create(
        key=uuid.UUID(int=rng.getrandbits(128), version=4),
        template=template,
        occurrence=occurrence,
        location=occurrence.location,
        team=team,
        employee=employee,
        auditor=auditor,
    )
    Audit.objects.filter(pk=audit.pk).update(started_at=started, updated_at=started)
    return audit


def _moment(demo: DemoContext, rng, first: date, last: date) -> datetime:
    """A moment between 10:00 and 17:00 on a day from `first` to `last`: inside every window's
    opening and due times, with time left to finish before the due time."""
    day = first + timedelta(days=rng.randint(0, max(0, (last - first).days)))
    return demo.at(day, 10) + timedelta(minutes=rng.randrange(7 * 60 - 60))


def _answers_save(audit: Audit, answers: dict[int, dict]) -> None:
    for question_id, fields in answers.items():
        answer_save(audit, question_id, **fields)


def _audits(demo: DemoContext, templates, present: datetime) -> dict[str, int]:
    """Do the past occurrences that have no audit yet, and leave some of those open now as drafts."""
    lineages = {versions[0].lineage: versions for versions in templates.values()}
    forms: dict[int, Form] = {}
    specs = {location.pk: spec for location, spec in demo.sites}
    counts = {"done": 0, "late": 0, "draft": 0}
    contact_team = demo.teams[(demo.head_office.code, "contact")]
    agents = [
        demo.employees[f"E00{slot.slot:02d}"]
        for slot in catalogue.HEAD_OFFICE_ROSTER
        if slot.team == "contact" and not slot.leads_team
    ]
    first_store = demo.stores[0].pk if demo.stores else None
    occurrences = (
        Occurrence.objects.filter(schedule__in=Schedule.objects.filter(template__lineage__in=lineages))
        .select_related(
            "schedule__template", "location", "assigned_employee__user", "assigned_evaluator__user"
        )
        .order_by("location_id", "due_at", "pk")
    )
    done_already = set(Audit.objects.filter(occurrence__isnull=False).values_list("occurrence_id", flat=True))
    fates: dict[int, Fates] = {}
    for occurrence in occurrences:
        if occurrence.opens_at >= present:
            continue  # not open yet: planned ahead
        site_spec = specs[occurrence.location_id]
        fate = fates.setdefault(
            occurrence.location_id,
            Fates(
                _share(MISSED_SHARE, MISSED_PER_QUALITY, site_spec.quality),
                _share(LATE_SHARE, LATE_PER_QUALITY, site_spec.quality),
            ),
        )
        open_now = occurrence.due_at > present
        outcome = None if open_now else fate.next()  # drawn for every past one, so re-runs agree
        if occurrence.pk in done_already or occurrence.status not in ("scheduled", "open"):
            continue
        rng = demo.rng("audit", occurrence.schedule_id, occurrence.scheduled_for, occurrence.assignee_key)
        schedule = occurrence.schedule
        if schedule.template.method == AuditMethod.MYSTERY_SHOP:
            evaluator = occurrence.assigned_evaluator or schedule.assigned_evaluators.first()
            auditor, employee, team = evaluator.user, None, None
        elif schedule.template.method == AuditMethod.QA_REVIEW:
            auditor = occurrence.assigned_employee.user
            employee, team = rng.choice(agents), contact_team
        else:
            auditor, employee, team = demo.store_manager(occurrence.location), None, None
        last = demo.last_day
        if open_now:
            if occurrence.location_id == first_store or rng.random() >= DRAFT_CHANCE:
                continue  # left for the demo logins to do now
            started = _moment(demo, rng, timezone.localdate(occurrence.opens_at), last)
        elif outcome == OccurrenceStatus.MISSED:
            continue
        else:
            late_days = (timezone.localdate(occurrence.due_at) + timedelta(days=1), last)
            late_days = (late_days[0], min(last, timezone.localdate(occurrence.closes_at)))
            if outcome == OccurrenceStatus.LATE and late_days[0] <= late_days[1]:
                started = _moment(demo, rng, *late_days)
            else:  # on time (also where late submission is not allowed)
                outcome = OccurrenceStatus.DONE
                on_time = min(last, timezone.localdate(occurrence.due_at))
                started = _moment(demo, rng, timezone.localdate(occurrence.opens_at), on_time)
        versions = lineages[schedule.template.lineage]
        template = _version_on(versions, started)
        form = forms.get(template.pk) or forms.setdefault(template.pk, Form.load(template))
        answers = _answers(demo, form, site_spec, timezone.localdate(started), rng)
        audit = _audit_start(demo, occurrence, template, auditor, rng, started, employee, team)
        if open_now:
            # Half done: the first questions answered, the rest still to do.
            half = dict(list(answers.items())[: max(1, len(answers) // 2)])
            _answers_save(audit, half)
            Audit.objects.filter(pk=audit.pk).update(updated_at=started)
            counts["draft"] += 1
            continue
        _answers_save(audit, answers)
        submitted = audit_submit(audit, user=auditor, now=started + timedelta(minutes=rng.randint(20, 50)))
        if not submitted.ok:
            problem = (submitted.problems or submitted.errors)[0]
            raise DemoDataError(f"The demo audit {audit} was refused: {problem}")
        counts[outcome] += 1
    return counts


def _plan(demo: DemoContext, present: datetime) -> None:
    """Plan the period as the periodic job did along the way: each run plans from a few days back
    to some weeks ahead, so the runs step through the period, the last one at the present."""
    back, ahead = (
        timedelta(days=settings.AUDIT_PLAN_BACK_DAYS),
        timedelta(days=settings.AUDIT_PLAN_AHEAD_DAYS),
    )
    moment = demo.at(demo.first_day, 0) + back
    while moment < present:
        occurrences_plan(now=moment)
        moment += back + ahead
    occurrences_plan(now=present)


def build_audits(demo: DemoContext) -> None:
    present = datetime.combine(demo.until, time(0), timezone.get_default_timezone())
    templates = _templates(demo)
    shopper = _shopper(demo)
    schedules = _schedules(demo, templates, shopper)
    _plan(demo, present)
    counts = _audits(demo, templates, present)
    occurrences_advance(now=present)
    states = dict.fromkeys(OccurrenceStatus.values, 0)
    for status in Occurrence.objects.values_list("status", flat=True):
        states[status] += 1
    drafts = Audit.objects.filter(status=AuditStatus.DRAFT).count()
    published = AuditTemplate.objects.filter(status=TemplateStatus.PUBLISHED).count()
    demo.log(
        f"Audits: {published} published templates, {schedules} schedules added; {counts['done']} audits done "
        f"on time, {counts['late']} late and {counts['draft']} drafts added; occurrences "
        + ", ".join(f"{count} {status}" for status, count in states.items())
        + f"; {drafts} drafts in progress"
    )
