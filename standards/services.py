"""Writes for standards: saving (with versioning on material change) and acknowledging."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from organization.models import Employee

from .models import Acknowledgement, Standard, Status


@transaction.atomic
def standard_save(*, standard: Standard, material_change: bool, user=None) -> Standard:
    """Validate and save a standard; a material change to an existing one makes a new version.

    The version only ever moves forward, by one per material change, whatever the instance
    carries (a stale form or a history revert cannot lower it). Acknowledgements keep the
    version they accepted, so after a material change every affected employee has the new
    version to acknowledge. The change is recorded in the standard's history, attributed to
    `user` when given. Raises ValidationError (by field) and saves nothing when invalid.
    """
    saved_version = None
    if not standard._state.adding:
        # Locked so that two material changes saved at once make two versions, not one.
        saved_version = (
            Standard.objects.select_for_update().values_list("version", flat=True).get(pk=standard.pk)
        )
    standard.full_clean()
    if saved_version is not None:
        standard.version = saved_version + 1 if material_change else saved_version
        if material_change:
            standard._change_reason = f"Material change: version {standard.version}"
    if user is not None:
        standard._history_user = user
    standard.save()
    return standard


def acknowledgement_text(standard: Standard) -> str:
    """The wording an employee accepts: the behaviour and, when given, how it is done."""
    return "\n\n".join(part for part in (standard.behaviour, standard.how) if part.strip())


def standard_acknowledge(
    *, standard: Standard, employee: Employee, at: datetime | None = None
) -> Acknowledgement:
    """Record that `employee` accepts the version of `standard` now in force.

    Idempotent: acknowledging the same version again returns the existing acknowledgement.
    The version and wording are read from the database, not from the instance passed in, so
    a stale page cannot acknowledge an outdated text under the new version number.
    Raises ValidationError when the standard is a draft or retired.
    """
    with transaction.atomic():
        current = Standard.objects.get(pk=standard.pk)
        if current.status != Status.ACTIVE:
            raise ValidationError(
                {
                    "standard": f"{current.code} is {current.get_status_display().lower()}: "
                    "only an active standard can be acknowledged."
                }
            )
        existing = Acknowledgement.objects.filter(
            employee=employee, standard=current, version=current.version
        ).first()
        if existing is not None:
            return existing
        acknowledgement = Acknowledgement(
            employee=employee,
            standard=current,
            version=current.version,
            behaviour_accepted=acknowledgement_text(current),
            acknowledged_at=at or timezone.now(),
        )
        acknowledgement.full_clean()
        try:
            # Two submits racing past the check above: the unique constraint keeps one.
            with transaction.atomic():
                acknowledgement.save()
        except IntegrityError:
            return Acknowledgement.objects.get(employee=employee, standard=current, version=current.version)
        return acknowledgement
