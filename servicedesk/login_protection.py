"""Login protection: the hooks django-axes calls (the client's address, the lockout answer).

Failed sign-ins are counted by django-axes in the database (see the settings' "Authentication /
login protection" section). When a user is locked out from an address, the browser gets a page
that says what happened and when to try again; the API token endpoint gets the same as JSON.
Both answer 429 Too Many Requests with Retry-After: the client should wait, its credentials are
not what is refused.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from measurement.ratelimit import client_ip

LOCKOUT_TEMPLATE = "registration/locked_out.html"


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address by the rule of the public rate limit (FEEDBACK_TRUSTED_PROXIES),
    or None when there is none: django-axes keeps it in an IP-address column."""
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None


def locked_until(request: HttpRequest, credentials: Mapping | None = None) -> datetime:
    """When the lockout of this request's user and address ends: the cool-off after their last
    counted failure (attempts during a lockout are not counted, so this time does not move)."""
    username = get_client_username(request, dict(credentials) if credentials else None)
    address = getattr(request, "axes_ip_address", None) or client_address(request)
    last = AccessAttempt.objects.filter(username=username, ip_address=address).aggregate(
        last=Max("attempt_time")
    )["last"]
    cool_off = get_cool_off(request) or timedelta(0)
    return (last or timezone.now()) + cool_off


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Mapping | None = None
) -> HttpResponse:
    """The answer to a locked-out sign-in: a page for a browser, JSON for the API (both 429)."""
    until = locked_until(request, credentials)
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
    minutes = math.ceil(seconds / 60)
    limit = get_failure_limit(request, credentials)
    if _wants_json(request):
        response = JsonResponse(
            {
                "detail": (
                    f"Too many failed sign-ins ({limit}) for this user from this address. "
                    f"Try again after {until.isoformat(timespec='seconds')}, or ask an administrator "
                    "to unlock the account."
                ),
                "locked_until": until.isoformat(timespec="seconds"),
                "retry_after": seconds,
            },
            status=429,
        )
    else:
        context = {
            "locked_until": timezone.localtime(until),
            "minutes": minutes,
            "failure_limit": limit,
            "login_url": reverse("login"),
        }
        response = render(request, LOCKOUT_TEMPLATE, context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def _wants_json(request: HttpRequest) -> bool:
    if request.path.startswith(reverse("api:token")):
        return True
    return request.headers.get("x-requested-with") == "XMLHttpRequest" or (
        "application/json" in request.headers.get("accept", "")
    )
