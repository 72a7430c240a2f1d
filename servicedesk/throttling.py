"""API throttling: every API view is limited per user, and requests without credentials per address.

Throttles count in Django's default cache, which the settings make Redis whenever REDIS_URL (or
CACHE_URL) names it, so a limit holds across every process and host. Rates are read from
`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` on each request (DRF's own classes read them once,
at import), so the environment, and a test, set them.

    user     requests per signed-in user or token (DRF's UserRateThrottle, after the permissions)
    anon     requests without credentials, per client address (see `AnonymousAddressThrottle`)

Over the limit the answer is 429 with a Retry-After header and {"detail": "..."}. This module is
imported while DRF defines its views (it is named in DEFAULT_AUTHENTICATION_CLASSES): it must not
import rest_framework.views itself.
"""

from __future__ import annotations

from rest_framework import exceptions, throttling
from rest_framework.authentication import BaseAuthentication
from rest_framework.settings import api_settings

from measurement.ratelimit import client_ip


class _RatesFromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    """Per user (or token owner): DRF's own, with the rate read per request."""


class AnonymousThrottle(_RatesFromSettings, throttling.AnonRateThrottle):
    """Per client address, for requests known to carry no credentials (see below)."""

    def get_cache_key(self, request, view):
        # Not request.user, as DRF's does: this runs while the user is being worked out. The
        # address is the feedback form's: X-Forwarded-For counts only behind
        # FEEDBACK_TRUSTED_PROXIES proxies, so a client cannot pick a new address per request.
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class AnonymousAddressThrottle(BaseAuthentication):
    """Throttles requests that carry no credentials, per client address.

    DRF checks throttles after the permissions, so an anonymous request to a protected view is
    answered 401 before any throttle sees it. Listed last among the authentication classes,
    this one is reached exactly when no credentials were given, before the permissions; it
    authenticates nobody.
    """

    def authenticate(self, request):
        throttle = AnonymousThrottle()
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(throttle.wait())
        return None

    def authenticate_header(self, request):
        return None
