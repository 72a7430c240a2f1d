"""Reads of cases for pages and the API. Scope is decided in `organization.scope` (Case.scope_paths):
staff see the cases they own or logged, managers those of their locations and teams, admins all."""

from __future__ import annotations

from django.db.models import QuerySet

from organization.scope import get_in_scope, scope_queryset

from .models import Case


def cases_visible_to(user) -> QuerySet[Case]:
    return scope_queryset(user, Case.objects.all())


def case_in_scope(user, pk: int) -> Case:
    """The case with `pk` if `user` may see it; Http404 otherwise."""
    return get_in_scope(
        user,
        Case.objects.select_related(
            "location", "touchpoint", "team", "category", "owner__user", "sla_policy"
        ),
        pk=pk,
    )
