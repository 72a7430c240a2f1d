"""A per-client rate limit for public pages, kept in Django's default cache.

The count for a client starts at its first request and lives for one window: at most `limit`
requests per `window` seconds from that first one. `cache.add` + `cache.incr` are atomic on
Redis (SET NX with an expiry, then INCR), so concurrent requests in any number of processes are
counted once each.

The limit holds in total only if every process counts in the same cache: the settings make the
default cache Redis whenever REDIS_URL is set (or whatever CACHE_URL names). The development
default, local memory, counts per process.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def client_ip(request) -> str:
    """The client's address. Behind `FEEDBACK_TRUSTED_PROXIES` reverse proxies, each of which
    appends the address it saw to X-Forwarded-For, the client is that many entries from the
    right; entries further left are whatever the client chose to send, so they are ignored,
    and so is an entry that is not an address at all."""
    proxies = getattr(settings, "FEEDBACK_TRUSTED_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
        if addresses and _is_address(candidate := addresses[-min(proxies, len(addresses))]):
            return candidate
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _count(key: str, window_seconds: int) -> int:
    """Add one to the count under `key`, which expires `window_seconds` after its first request."""
    for _attempt in range(3):
        cache.add(key, 0, timeout=window_seconds)
        try:
            count = cache.incr(key)
        except ValueError:  # the entry expired between add() and incr(): a new window starts
            continue
        if count == 1:
            # Redis' incr() checks that the key exists, then increments: a key expiring in
            # between comes back without an expiry and would never reset. The first count
            # of a window therefore sets it again.
            cache.touch(key, timeout=window_seconds)
        return count
    return 1


def rate_limit_allows(request, *, scope: str, limit: int, window_seconds: int) -> bool:
    """Count this request against the client's allowance for `scope`; False once it is spent.

    If the cache cannot be reached the request is allowed and the failure logged: refusing
    every customer would be worse than counting none for a while."""
    key = f"ratelimit:{scope}:{client_ip(request)}"
    try:
        count = _count(key, window_seconds)
    except Exception:
        logger.exception("Rate limit %s not applied: the cache could not be reached", scope)
        return True
    return count <= limit
