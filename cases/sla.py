"""Which SLA policy applies to a case, and when its deadlines fall.

The most specific active policy of the case's severity applies: location and touchpoint, then
location, then touchpoint, then the severity's general policy. A case with no policy has no deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from .models import SlaPolicy


@dataclass(frozen=True)
class Deadlines:
    policy: SlaPolicy | None
    acknowledge_due_at: datetime | None
    resolve_due_at: datetime | None


def policy_for(*, severity: str, location_id: int, touchpoint_id: int | None) -> SlaPolicy | None:
    """The most specific active policy for a case (one query)."""
    candidates = SlaPolicy.objects.filter(
        Q(location_id=location_id) | Q(location__isnull=True),
        Q(touchpoint_id=touchpoint_id) | Q(touchpoint__isnull=True),
        severity=severity,
        active=True,
    )

    def specificity(policy: SlaPolicy) -> tuple[int, int]:
        return (policy.location_id is not None, policy.touchpoint_id is not None)

    return max(candidates, key=specificity, default=None)


def add_opening_hours(start: datetime, hours: float, *, location_id: int) -> datetime:
    """`start` plus `hours` of the location's clock."""
    return start + timedelta(hours=hours)


def deadlines_for(
    *, severity: str, location_id: int, touchpoint_id: int | None, opened_at: datetime
) -> Deadlines:
    policy = policy_for(severity=severity, location_id=location_id, touchpoint_id=touchpoint_id)
    if policy is None:
        return Deadlines(None, None, None)
    return Deadlines(
        policy,
        add_opening_hours(opened_at, policy.acknowledge_within_hours, location_id=location_id),
        add_opening_hours(opened_at, 24 * policy.resolve_within_days, location_id=location_id),
    )
