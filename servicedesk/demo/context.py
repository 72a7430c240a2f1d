"""What the build steps share: the options, the organisation built so far, and who is who in it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import models
from django.utils import timezone

from cases.models import CaseCategory
from organization.models import Employee, Location, Role, Team
from standards.models import Standard
from touchpoints.models import Touchpoint

from . import catalogue
from .catalogue import PersonSlot, SiteSpec


@dataclass(frozen=True)
class DemoOptions:
    until: date  # the evidence covers the `days` days before this date
    locations: int = 6  # stores; the head office comes on top
    days: int = 90
    observations_per_day: int = 40  # per location
    feedback_per_day: int = 8  # per location
    seed: int = 42


def ensure(model: type[models.Model], lookup: dict, **values) -> tuple[models.Model, bool]:
    """The object matching `lookup`, or a new one made of lookup and values, validated and saved."""
    obj = model.objects.filter(**lookup).first()
    if obj is not None:
        return obj, False
    obj = model(**lookup, **values)
    obj.full_clean()
    obj.save()
    return obj, True


def employee_number(site: int, slot: int) -> str:
    return f"E{site:02d}{slot:02d}"


@dataclass
class DemoContext:
    options: DemoOptions
    log: Callable[[str], None]
    sites: list[tuple[Location, SiteSpec]] = field(default_factory=list)  # head office first
    teams: dict[tuple[str, str], Team] = field(default_factory=dict)  # (location code, team key) → team
    team_keys: dict[int, str] = field(default_factory=dict)  # team pk → team key
    employees: dict[str, Employee] = field(default_factory=dict)  # employee number → employee
    slots: dict[str, PersonSlot] = field(default_factory=dict)  # employee number → roster place
    touchpoints: dict[str, Touchpoint] = field(default_factory=dict)  # slug → touchpoint
    standards: dict[str, Standard] = field(default_factory=dict)  # code → standard
    # Observation external id → when the corrective action closed its deviation (None: still open).
    deviation_closures: dict[str, datetime | None] = field(default_factory=dict)
    case_categories: dict[str, CaseCategory] = field(default_factory=dict)  # name → category
    # The highest feedback id before this run's evidence: the answers above it are this run's.
    feedback_before: int = 0

    @property
    def until(self) -> date:
        return self.options.until

    @property
    def first_day(self) -> date:
        return self.options.until - timedelta(days=self.options.days)

    @property
    def last_day(self) -> date:
        return self.options.until - timedelta(days=1)

    def days_ago(self, days: int) -> date:
        return self.options.until - timedelta(days=days)

    def at(self, day: date, hour: int = 10) -> datetime:
        """A moment of `day` in the organisation's time zone."""
        return datetime.combine(day, time(hour), timezone.get_default_timezone())

    def rng(self, *parts: object) -> random.Random:
        """A random stream per purpose and object, so what one object gets never depends on the
        others (or on what an earlier run already built)."""
        return random.Random(":".join(map(str, (self.options.seed, *parts))))

    # --- places ----------------------------------------------------------------------------

    @property
    def head_office(self) -> Location:
        return self.sites[0][0]

    @property
    def stores(self) -> list[Location]:
        return [location for location, _ in self.sites[1:]]

    def site_index(self, location_id: int) -> int:
        return next(i for i, (location, _) in enumerate(self.sites) if location.pk == location_id)

    # --- people ----------------------------------------------------------------------------

    def user(self, site: int, slot: int):
        return self.employees[employee_number(site, slot)].user

    @property
    def admin_user(self):
        return self.user(0, 1)

    def store_manager(self, location: Location):
        return self.user(self.site_index(location.pk), 1)

    def regional_manager(self, location: Location):
        region = self.sites[self.site_index(location.pk)][1].region
        slot = next(s for s in catalogue.HEAD_OFFICE_ROSTER if s.manages == "region" and s.region == region)
        return self.user(0, slot.slot)

    def lead(self, location: Location, team_key: str):
        """The lead of a team, by the roster: the person who leads it at that site."""
        roster = catalogue.HEAD_OFFICE_ROSTER if location == self.head_office else catalogue.STORE_ROSTER
        slot = next((s for s in roster if s.leads_team and s.team == team_key), None)
        return self.user(self.site_index(location.pk), slot.slot) if slot else None

    def auditor(self, location: Location):
        """Stores are audited by their regional manager, the head office by the programme lead."""
        return self.admin_user if location == self.head_office else self.regional_manager(location)

    def reviewer(self, employee: Employee):
        """Who verifies an employee's training and owns their consequences (never the employee):
        a team member's lead, a store team lead's store manager, a store manager's regional
        manager; at the head office the programme lead, whose own reviewer is the head of retail
        operations."""
        slot = self.slots[employee.employee_number]
        site = self.site_index(employee.location_id)
        if slot.team and not slot.leads_team:
            return self.lead(employee.location, slot.team)
        if site and slot.leads_team:
            return self.user(site, 1)
        if site:
            return self.regional_manager(employee.location)
        if slot.role == Role.ADMIN:
            return self.lead(self.head_office, "retail_ops")
        return self.admin_user
