"""factory_boy factories for every model, one place for all apps' tests."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from consequences.models import Action, Condition, Consequence, Polarity, Rule, SubjectKind
from gap_analysis.models import ActionItem, Assessment, Dimension, Rating
from measurement.models import (
    Deviation,
    Evaluation,
    EvaluationMethod,
    Feedback,
    Observation,
    Scorecard,
    Source,
)
from organization.models import Employee, Location, Role, Team
from standards.models import Acknowledgement, Standard, Status
from touchpoints.models import Channel, JourneyStage, Touchpoint
from training.models import Assignment, Completion, Course, DeliveryMethod, Requirement


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"LOC-{n:02d}")
    name = factory.Sequence(lambda n: f"Store {n}")
    region = "North"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    location = factory.SubFactory(LocationFactory)


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee

    user = factory.SubFactory(UserFactory)
    employee_number = factory.Sequence(lambda n: f"E{n:05d}")
    role = Role.STAFF
    location = factory.SubFactory(LocationFactory)
    team = factory.SubFactory(TeamFactory, location=factory.SelfAttribute("..location"))
    job_title = "Customer advisor"
    hired_on = factory.LazyFunction(lambda: date.today() - timedelta(days=400))


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    name = factory.Sequence(lambda n: f"Touchpoint {n}")
    slug = factory.Sequence(lambda n: f"touchpoint-{n}")
    channel = Channel.IN_PERSON
    journey_stage = JourneyStage.BUY


class StandardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Standard

    code = factory.Sequence(lambda n: f"STD-{n:03d}")
    title = factory.Sequence(lambda n: f"Standard {n}")
    behaviour = "Greet every customer within 10 seconds of them entering, with eye contact and a smile."
    status = Status.ACTIVE
    effective_from = factory.LazyFunction(lambda: date.today() - timedelta(days=90))
    target_rate = Decimal("90")


class AcknowledgementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Acknowledgement

    employee = factory.SubFactory(EmployeeFactory)
    standard = factory.SubFactory(StandardFactory)
    version = factory.SelfAttribute("standard.version")
    behaviour_accepted = factory.SelfAttribute("standard.behaviour")
    acknowledged_at = factory.LazyFunction(timezone.now)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"CRS-{n:03d}")
    title = factory.Sequence(lambda n: f"Course {n}")
    delivery_method = DeliveryMethod.E_LEARNING
    duration_minutes = 45
    pass_mark = 80
    refresher_interval_days = 365


class RequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Requirement

    course = factory.SubFactory(CourseFactory)
    due_within_days = 30


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    employee = factory.SubFactory(EmployeeFactory)
    course = factory.SubFactory(CourseFactory)
    assigned_on = factory.LazyFunction(lambda: date.today() - timedelta(days=10))
    due_on = factory.LazyAttribute(lambda a: a.assigned_on + timedelta(days=30))


class CompletionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Completion

    employee = factory.SubFactory(EmployeeFactory)
    course = factory.SubFactory(CourseFactory)
    completed_on = factory.LazyFunction(lambda: date.today() - timedelta(days=30))
    method = factory.SelfAttribute("course.delivery_method")
    score = 90
    expires_on = factory.LazyAttribute(lambda c: c.course.expiry_for(c.completed_on))


class EvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evaluation

    location = factory.SubFactory(LocationFactory)
    method = EvaluationMethod.MYSTERY_SHOP
    evaluated_at = factory.LazyFunction(timezone.now)
    score = Decimal("85")
    passed = True


class ObservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Observation

    standard = factory.SubFactory(StandardFactory)
    location = factory.SubFactory(LocationFactory)
    source = Source.MYSTERY_SHOP
    observed_at = factory.LazyFunction(timezone.now)
    passed = True


class FeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feedback

    touchpoint = factory.SubFactory(TouchpointFactory)
    location = factory.SubFactory(LocationFactory)
    submitted_at = factory.LazyFunction(timezone.now)
    csat = 5
    nps = 9


class ScorecardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scorecard

    period_kind = "month"
    period_start = factory.LazyFunction(lambda: date.today().replace(day=1))
    grain = "location"
    location = factory.SubFactory(LocationFactory)
    grain_key = factory.LazyAttribute(lambda s: f"location={s.location.pk}")
    observations = 20
    passed = 18
    pass_rate = 0.9
    computed_at = factory.LazyFunction(timezone.now)


class DeviationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deviation

    observation = factory.SubFactory(
        ObservationFactory,
        passed=False,
        standard=factory.SubFactory(StandardFactory, non_negotiable=True, target_rate=100),
    )
    standard = factory.SelfAttribute("observation.standard")
    location = factory.SelfAttribute("observation.location")
    detected_at = factory.LazyFunction(timezone.now)


class AssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assessment

    touchpoint = factory.SubFactory(TouchpointFactory)
    location = factory.SubFactory(LocationFactory)
    assessed_on = factory.LazyFunction(date.today)


class RatingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rating

    assessment = factory.SubFactory(AssessmentFactory)
    dimension = Dimension.PEOPLE
    current = 2
    target = 4


class ActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionItem

    title = factory.Sequence(lambda n: f"Action {n}")
    rating = factory.SubFactory(RatingFactory)
    location = factory.SelfAttribute("rating.assessment.location")
    owner = factory.SubFactory(UserFactory)
    due_on = factory.LazyFunction(lambda: date.today() + timedelta(days=30))


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    name = factory.Sequence(lambda n: f"Rule {n}")
    subject_kind = SubjectKind.EMPLOYEE
    condition = Condition.REPEATED_SHORTFALL
    action = Action.COACHING


class ConsequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consequence

    subject_kind = SubjectKind.LOCATION
    location = factory.SubFactory(LocationFactory)
    action = Action.COACHING
    polarity = Polarity.NEGATIVE
    summary = "Coaching on greeting customers"


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cases.Case"

    title = factory.Sequence(lambda n: f"Customer problem {n}")
    origin = "in_person"
    location = factory.SubFactory(LocationFactory)
    opened_at = factory.LazyFunction(timezone.now)
