"""Who may open which page: the one decorator every role-restricted view uses.

Anonymous visitors are sent to the login page; a signed-in user whose role is not allowed
gets 403. Which *objects* they may see is decided separately, by organization.scope.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from .models import Role
from .scope import employee_of, role_of

MANAGERS = (Role.MANAGER, Role.ADMIN)
EVERYONE = (Role.STAFF, Role.MANAGER, Role.ADMIN)


def role_required(*roles: str):
    """Allow the view to users whose role is one of `roles`."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if role_of(request.user) not in roles:
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def employee_required(view):
    """Pages about 'my' standards and training need an employee profile (a superuser may have none)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if employee_of(request.user) is None:
            return render(request, "home/no_profile.html", status=403)
        return view(request, *args, **kwargs)

    return role_required(*EVERYONE)(wrapped)
