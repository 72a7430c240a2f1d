"""CACHES from the environment: Redis whenever REDIS_URL is set, local memory otherwise, CACHE_URL
to choose; a bad URL stops start-up naming its variable. Each case starts Django in a subprocess
(settings are read once per process), as in tests/test_settings.py."""

import json

import pytest

from tests.test_settings import start_django

REDIS = "django.core.cache.backends.redis.RedisCache"
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
PRINT_CACHE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps(settings.CACHES['default']))"
)


def default_cache(tmp_path, **environment) -> dict:
    # CACHE_URL and CACHE_KEY_PREFIX empty unless given: the parent's must not leak in.
    environment = {"CACHE_URL": "", "CACHE_KEY_PREFIX": "", **environment}
    result = start_django(tmp_path, "-c", PRINT_CACHE, **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_without_redis_the_cache_is_local_memory(tmp_path):
    cache = default_cache(tmp_path)

    assert cache["BACKEND"] == LOCMEM
    assert cache["KEY_PREFIX"] == "servicedesk"


def test_with_redis_url_the_cache_is_that_redis(tmp_path):
    cache = default_cache(tmp_path, REDIS_URL="redis://cache.internal:6379/0")

    assert cache["BACKEND"] == REDIS
    assert cache["LOCATION"] == "redis://cache.internal:6379/0"
    assert cache["KEY_PREFIX"] == "servicedesk"
    # A Redis that stops answering costs seconds, not a hung request.
    assert cache["OPTIONS"] == {"socket_connect_timeout": 2, "socket_timeout": 2}


@pytest.mark.parametrize(
    ("cache_url", "backend", "location"),
    [
        ("redis://cache.internal:6379/3", REDIS, "redis://cache.internal:6379/3"),
        ("rediss://:s3cret@cache.internal:6380/1", REDIS, "rediss://:s3cret@cache.internal:6380/1"),
        ("redis:///run/redis.sock", REDIS, "unix:///run/redis.sock"),
        ("locmem://", LOCMEM, ""),
        ("locmemcache://one", LOCMEM, "one"),
        ("dummy://", "django.core.cache.backends.dummy.DummyCache", ""),
    ],
)
def test_cache_url_chooses_the_cache_even_with_redis_url_set(tmp_path, cache_url, backend, location):
    cache = default_cache(tmp_path, REDIS_URL="redis://broker.internal:6379/0", CACHE_URL=cache_url)

    assert (cache["BACKEND"], cache["LOCATION"]) == (backend, location)


def test_the_key_prefix_comes_from_cache_key_prefix_or_the_url(tmp_path):
    assert default_cache(tmp_path, CACHE_URL="locmem://", CACHE_KEY_PREFIX="sd-eu")["KEY_PREFIX"] == "sd-eu"
    from_url = default_cache(tmp_path, CACHE_URL="redis://cache.internal:6379/3?key_prefix=sd-us&timeout=60")
    assert (from_url["KEY_PREFIX"], from_url["TIMEOUT"]) == ("sd-us", 60)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"CACHE_URL": "ftp://cache.internal"},
            "CACHE_URL must be a cache URL such as redis://host:6379/1 or "
            "locmem://, got “ftp://cache.internal” (unsupported scheme “ftp”)",
        ),
        (
            {"CACHE_URL": "cache.internal:6379"},
            "CACHE_URL must be a cache URL such as redis://host:6379/1 or "
            "locmem://, got “cache.internal:6379” (unsupported scheme “cache.internal”)",
        ),
        ({"CACHE_URL": "redis://"}, "got “redis://” (no host)"),
        ({"CACHE_URL": "redis://[::1:6379/0"}, "got “redis://[::1:6379/0” (Invalid IPv6 URL)"),
        # A removed Django backend would only fail at the first request.
        ({"CACHE_URL": "memcache://memcached:11211"}, "(unsupported scheme “memcache”)"),
        # The password is not printed.
        ({"CACHE_URL": "rediss://:s3cret@"}, "got “rediss://:***@” (no host)"),
        # The default taken from REDIS_URL is named as such.
        ({"REDIS_URL": "redis://"}, "REDIS_URL must be a cache URL such as redis://host:6379/1"),
    ],
)
def test_a_bad_cache_url_stops_start_up_naming_the_variable(tmp_path, environment, message):
    result = start_django(tmp_path, "manage.py", "check", **{"CACHE_URL": "", **environment})

    assert result.returncode != 0
    assert "ImproperlyConfigured: " in result.stderr and message in result.stderr
    assert "s3cret" not in result.stderr
