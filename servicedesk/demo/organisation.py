"""Step 1: the stores and the head office, their teams, and the people (through `employee_create`)."""

from __future__ import annotations

from datetime import timedelta

from organization.models import Employee, Location, Role, Team
from organization.services import employee_create

from . import catalogue
from .catalogue import PersonSlot
from .context import DemoContext, employee_number, ensure


def build_organisation(demo: DemoContext) -> None:
    sites = [(0, catalogue.HEAD_OFFICE, catalogue.HEAD_OFFICE_TEAMS, catalogue.HEAD_OFFICE_ROSTER)]
    sites += [
        (position, catalogue.store_spec(position), catalogue.STORE_TEAMS, catalogue.STORE_ROSTER)
        for position in range(1, demo.options.locations + 1)
    ]
    created = 0
    for index, spec, team_specs, roster in sites:
        location, _ = ensure(Location, {"code": spec.code}, name=spec.name, region=spec.region)
        demo.sites.append((location, spec))
        for team_spec in team_specs:
            team, _ = ensure(Team, {"location": location, "name": team_spec.name})
            demo.teams[(location.code, team_spec.key)] = team
            demo.team_keys[team.pk] = team_spec.key
        for slot in roster:
            created += _employee(demo, index, location, slot)

    # Scope: team leads manage their team, store managers their store, regional managers every
    # store of their region. `add` is idempotent, and reaches stores added by a later run.
    for index, (location, _) in enumerate(demo.sites):
        for slot in catalogue.STORE_ROSTER if index else catalogue.HEAD_OFFICE_ROSTER:
            employee = demo.employees[employee_number(index, slot.slot)]
            if slot.leads_team:
                demo.teams[(location.code, slot.team)].managers.add(employee.user)
            if slot.manages == "site":
                employee.managed_locations.add(location)
            elif slot.manages == "region":
                region = [store for store, spec in demo.sites[1:] if spec.region == slot.region]
                employee.managed_locations.add(*region)

    # The demo admin may also see everything in Django admin.
    admin = demo.admin_user
    if not admin.is_superuser:
        admin.is_superuser = True
        admin.save(update_fields=["is_superuser"])
    demo.log(
        f"Organisation: {len(demo.sites)} locations ({len(demo.stores)} stores and the head office), "
        f"{len(demo.teams)} teams, {len(demo.employees)} employees ({created} new)"
    )


def _employee(demo: DemoContext, site: int, location: Location, slot: PersonSlot) -> bool:
    number = employee_number(site, slot.slot)
    demo.slots[number] = slot
    employee = Employee.objects.select_related("user").filter(employee_number=number).first()
    if employee is not None:
        demo.employees[number] = employee
        return False
    login = next((d for d in catalogue.DEMO_LOGINS if (d.site, d.slot) == (site, slot.slot)), None)
    if login:
        username, first, last = login.username, login.first_name, login.last_name
    else:
        # Unique names by construction: the two name lists have coprime lengths.
        serial = site * 20 + slot.slot
        first = catalogue.FIRST_NAMES[serial % len(catalogue.FIRST_NAMES)]
        last = catalogue.LAST_NAMES[serial % len(catalogue.LAST_NAMES)]
        username = f"{first}.{last}".lower()
    rng = demo.rng("hire", number)
    if slot.role == Role.STAFF and rng.random() < 0.15:
        days_ago = rng.randint(10, 45)  # a few new starters, still inside their training window
    else:
        days_ago = rng.randint(120, 3000)
    demo.employees[number] = employee_create(
        username=username,
        first_name=first,
        last_name=last,
        email=f"{username}@{catalogue.EMAIL_DOMAIN}",
        employee_number=number,
        location=location,
        team=demo.teams[(location.code, slot.team)] if slot.team else None,
        role=slot.role,
        job_title=f"{slot.job_title}, {slot.region}" if slot.region else slot.job_title,
        hired_on=demo.until - timedelta(days=days_ago),
        password=catalogue.DEMO_PASSWORD if login else None,
    )
    return True
