"""Who may see what: the one place where record scope is decided.

Every list, detail, export and API view filters through `scope_queryset`, and fetches
single objects through `get_in_scope`, so that an object outside a user's scope answers
404 everywhere in the same way.

A model opts in by declaring `scope_paths`, the lookups from it to a location, a team and
an employee, for example ``{"location": "employee__location", "team": "employee__team",
"employee": "employee"}``. A missing key means the model has no such link; a tuple of
lookups means any of them may link the row (e.g. a team's scorecard reaches its location
through the team).

- admin (superuser or role admin): everything;
- manager: records of the locations they manage, of the teams they manage, and their own;
- staff: their own records only;
- anonymous or a user without an employee profile: nothing.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from .models import Employee, Location, Role, Team


def employee_of(user) -> Employee | None:
    """The user's employee profile, or None (anonymous users and bare accounts)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.employee
    except Employee.DoesNotExist:
        return None


def role_of(user) -> str | None:
    """admin, manager, staff, or None for anonymous users and accounts with no profile."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return Role.ADMIN
    employee = employee_of(user)
    return employee.role if employee else None


def managed_location_ids(user) -> QuerySet:
    """Ids of the locations a manager manages, as a subquery (no extra round trip)."""
    employee = employee_of(user)
    if employee is None or employee.role != Role.MANAGER:
        return Location.objects.none().values("pk")
    return Location.objects.filter(managers=employee).values("pk")


def managed_team_ids(user) -> QuerySet:
    """Ids of the teams a manager manages, as a subquery."""
    if role_of(user) != Role.MANAGER:
        return Team.objects.none().values("pk")
    return Team.objects.filter(managers=user).values("pk")


def scope_filter(user, model: type[Model]) -> Q | None:
    """The filter a user's scope puts on `model`; None means no restriction (admins).

    Raises TypeError for a model without `scope_paths`, whoever asks: checked before the admin
    shortcut so that a view scoping the wrong model fails in every test, not only for non-admins.
    """
    paths = getattr(model, "scope_paths", None)
    if paths is None:
        raise TypeError(f"{model.__name__} declares no scope_paths, so it cannot be scoped")
    role = role_of(user)
    if role == Role.ADMIN:
        return None
    nothing = Q(pk__in=[])
    employee = employee_of(user)
    if role is None or employee is None:
        return nothing

    own = _any(paths, "employee", "", employee.pk, default=nothing)
    if role == Role.STAFF:
        return own
    return (
        own
        | _any(paths, "location", "__in", managed_location_ids(user), default=nothing)
        | _any(paths, "team", "__in", managed_team_ids(user), default=nothing)
    )


def _any(paths: dict, link: str, lookup: str, value, *, default: Q) -> Q:
    """Rows linked through any of the model's `link` paths to `value`."""
    declared = paths.get(link)
    if declared is None:
        return default
    condition = default
    for path in (declared,) if isinstance(declared, str) else declared:
        condition |= Q(**{f"{path}{lookup}": value})
    return condition


def scope_queryset(user, queryset: QuerySet) -> QuerySet:
    """`queryset` narrowed to what `user` may see (subqueries only, so no duplicate rows)."""
    condition = scope_filter(user, queryset.model)
    return queryset if condition is None else queryset.filter(condition)


def get_in_scope(user, queryset: QuerySet, **lookup):
    """The object matching `lookup` inside the user's scope; Http404 outside it or if absent."""
    try:
        return scope_queryset(user, queryset).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} found in your scope.") from exc


def location_queryset_for(user, queryset: QuerySet) -> QuerySet:
    """Locations a user may see: all for admins, managed ones (incl. via teams) for managers,
    their own for staff."""
    role = role_of(user)
    if role == Role.ADMIN:
        return queryset
    employee = employee_of(user)
    if employee is None:
        return queryset.none()
    if role == Role.STAFF:
        return queryset.filter(pk=employee.location_id)
    team_locations = Team.objects.filter(managers=user).values("location_id")
    return queryset.filter(
        Q(pk__in=managed_location_ids(user)) | Q(pk__in=team_locations) | Q(pk=employee.location_id)
    )


def get_location_for(user, pk):
    """The location `pk` if the user may see it, else Http404."""
    try:
        return location_queryset_for(user, Location.objects.all()).get(pk=pk)
    except Location.DoesNotExist as exc:
        raise Http404("No location found in your scope.") from exc


def location_managers(*, location_ids: set[int]) -> dict[int, list[int]]:
    """Location id → ids of the users who manage it (active managers), lowest id first."""
    rows = (
        Employee.objects.filter(
            role=Role.MANAGER, active=True, user__is_active=True, managed_locations__in=location_ids
        )
        .values_list("managed_locations", "user_id")
        .order_by("user_id")
    )
    managers: dict[int, list[int]] = defaultdict(list)
    for location_id, user_id in rows:
        managers[location_id].append(user_id)
    return dict(managers)
