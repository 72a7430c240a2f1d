"""Settings read from the environment: safe development defaults, production refuses bad config.

Start-up behaviour is tested in a subprocess with a clean copy of the environment (settings are
read once per process); DATABASE_URL is kept from the parent so that CI checks its own engine.
"""

import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent
# Everything the settings read, except the database, which the subprocess inherits.
SETTINGS_PREFIXES = ("CELERY_", "EMAIL_", "SECURE_", "CACHE_", "LOGIN_", "API_RATE_", "FEEDBACK_", "INTAKE_")
SETTINGS_NAMES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "REDIS_URL",
    "HOUSEKEEPING_INTERVAL_MINUTES",
    "TIME_ZONE",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "SERVICEDESK_VAR_DIR",
    "DEFAULT_FROM_EMAIL",
    "LOG_LEVEL",
    "DJANGO_SETTINGS_MODULE",
}
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "", "ALLOWED_HOSTS": "servicedesk.example.com"}


def start_django(tmp_path: Path, *args: str, **environment: str) -> subprocess.CompletedProcess:
    """Run `python <args>` in the project with a clean environment plus `environment`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_NAMES and not name.startswith(SETTINGS_PREFIXES)
    }
    env.update(
        DJANGO_SETTINGS_MODULE="servicedesk.settings",
        SERVICEDESK_VAR_DIR=str(tmp_path / "var"),
        PYTHONIOENCODING="utf-8",
    )
    env.update(environment)
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def production_secret_key() -> str:
    return secrets.token_urlsafe(50)  # 67 characters: passes Django's W009


@pytest.mark.parametrize(
    ("environment", "missing"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY, ALLOWED_HOSTS"),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "servicedesk.example.com"}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": "x" * 60}, "ALLOWED_HOSTS"),
        ({"DEBUG": "0", "SECRET_KEY": "", "ALLOWED_HOSTS": ""}, "SECRET_KEY, ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without_its_secrets(tmp_path, environment, missing):
    result = start_django(tmp_path, "manage.py", "check", **environment)

    assert result.returncode != 0
    message = f"ImproperlyConfigured: DEBUG is off, so these environment variables are required: {missing}\n"
    assert message in result.stderr


def test_production_settings_pass_the_deploy_checks_without_a_warning(tmp_path):
    result = start_django(
        tmp_path,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **{**PRODUCTION, "SECRET_KEY": production_secret_key()},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_development_defaults_start_without_any_configuration(tmp_path):
    result = start_django(tmp_path, "manage.py", "check", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_filesystem_broker_folders_exist_before_celery_starts(tmp_path):
    result = start_django(
        tmp_path,
        "-c",
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS]))",
    )

    assert result.returncode == 0, result.stderr
    broker_url, options = json.loads(result.stdout.splitlines()[-1])
    assert broker_url == "filesystem://"
    # Worker and beat on one machine must read the folder they write to.
    assert options["data_folder_in"] == options["data_folder_out"]
    for key in ("data_folder_in", "processed_folder", "control_folder"):
        folder = Path(options[key])
        assert folder.is_dir(), key
        assert folder.is_relative_to(tmp_path / "var"), key


@pytest.mark.parametrize("minutes", ["0", "-5"])
def test_a_housekeeping_interval_below_one_minute_stops_start_up(tmp_path, minutes):
    result = start_django(tmp_path, "manage.py", "check", HOUSEKEEPING_INTERVAL_MINUTES=minutes)

    assert result.returncode != 0
    message = f"HOUSEKEEPING_INTERVAL_MINUTES must be a whole number of minutes ≥ 1, got {minutes}"
    assert message in result.stderr


def test_the_housekeeping_interval_comes_from_the_environment(tmp_path):
    result = start_django(
        tmp_path,
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "entry = settings.CELERY_BEAT_SCHEDULE['training-sync-assignments']; "
        "print(entry['schedule'].total_seconds(), entry['options']['expires'])",
        HOUSEKEEPING_INTERVAL_MINUTES="1",
    )

    assert result.returncode == 0, result.stderr
    schedule, expires = map(float, result.stdout.split())
    assert schedule == 60
    assert 0 < expires < schedule


def test_every_beat_entry_expires_before_its_next_run():
    assert settings.CELERY_BEAT_SCHEDULE
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        expires = entry.get("options", {}).get("expires")
        assert expires, f"{name} has no expires: missed runs would pile up behind a stopped worker"
        if isinstance(entry["schedule"], timedelta):
            assert 0 < expires <= entry["schedule"].total_seconds(), name


def test_every_beat_entry_names_a_registered_task():
    from servicedesk.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_a_number_setting_that_is_not_a_number_stops_start_up_naming_it(tmp_path):
    result = start_django(tmp_path, "manage.py", "check", HOUSEKEEPING_INTERVAL_MINUTES="soon")

    assert result.returncode != 0
    assert "HOUSEKEEPING_INTERVAL_MINUTES must be a whole number" in result.stderr
