"""A per-client rate limit for public pages, kept in Django's cache.

The count for a client starts at its first request and lives for one window: at most `limit`
requests per `window` seconds from that first one. `cache.add` + `cache.incr` are atomic on
Redis and Memcached, so concurrent requests are counted right.

The default cache (LocMemCache) is per process: fine in development and tests, but with
several gunicorn workers or machines each process would count on its own and a client would
get `limit` requests per process. Production must therefore configure a shared cache
(`CACHES` on Redis, e.g. django.core.cache.backends.redis.RedisCache on REDIS_URL).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    """The client's address. Behind `FEEDBACK_TRUSTED_PROXIES` reverse proxies, each of which
    appends the address it saw to X-Forwarded-For, the client is that many entries from the
    right; entries further left are whatever the client chose to send, so they are ignored."""
    proxies = getattr(settings, "FEEDBACK_TRUSTED_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
        if addresses:
            return addresses[-min(proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def rate_limit_allows(request, *, scope: str, limit: int, window_seconds: int) -> bool:
    """Count this request against the client's allowance for `scope`; False once it is spent."""
    key = f"ratelimit:{scope}:{client_ip(request)}"
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # the entry expired between add() and incr(): a new window starts
        cache.add(key, 1, timeout=window_seconds)
        count = 1
    return count <= limit
