"""Scheduled emails: one email per person per run, listing all their items, never the same item twice.

Every scheduled job (training refreshers, acknowledgement reminders, overdue consequences) gathers
its items per recipient and hands them to `notices_send`, which

1. takes a database lock for the job's kind, so that two overlapping runs (beat firing twice, a
   redelivered task) never both claim an item: the second waits, then sees what the first recorded;
2. drops the items already noticed (a `Notice` row for recipient, kind and key), records a notice
   for each remaining item and renders one email per recipient, all in one transaction;
3. sends the emails once that transaction has committed (`transaction.on_commit`).

Delivery is therefore **at most once**: "never twice for the same thing" is the promise. An email
whose sending raises is logged and its notices are deleted again, so the next run retries those
items; only a crash between the commit and the send loses a reminder (the item's next state — due
becoming overdue, say — has a new key and is sent then).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Notice

logger = logging.getLogger(__name__)

# First key of the PostgreSQL advisory locks that serialise periodic jobs (the two-key form, a key space apart from the
# one-key locks other code uses); the second key is derived from the job's kind.
NOTICE_LOCK_NAMESPACE = 0x4E07
# Keys per IN (...) list when looking up notices already sent.
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class NoticeItem:
    """One thing to tell a person about: its notice key and what the email template shows for it."""

    key: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class NoticeResult:
    """What one run did: emails prepared (sent after commit), items in them, items skipped."""

    emails: int = 0
    items: int = 0
    already_sent: int = 0
    no_email_address: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "emails": self.emails,
            "items": self.items,
            "already_sent": self.already_sent,
            "no_email_address": self.no_email_address,
        }


def serialise_runs(kind: str) -> None:
    """Serialise runs of one kind of periodic job until the end of the transaction.

    PostgreSQL: a transaction-level advisory lock. SQLite: settings open every transaction with
    BEGIN IMMEDIATE, which already holds the database's write lock from the start.
    """
    if connection.vendor != "postgresql":
        return
    checksum = zlib.crc32(kind.encode())
    signed = checksum - (1 << 32) if checksum >= 1 << 31 else checksum
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [NOTICE_LOCK_NAMESPACE, signed])


def _noticed(kind: str, keys: set[str]) -> set[tuple[int, str]]:
    """(recipient id, key) pairs of `kind` already noticed, among `keys`."""
    found: set[tuple[int, str]] = set()
    ordered = sorted(keys)
    for offset in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[offset : offset + LOOKUP_CHUNK]
        found.update(Notice.objects.filter(kind=kind, key__in=chunk).values_list("recipient_id", "key"))
    return found


def _render(template: str, context: Mapping[str, Any]) -> tuple[str, str]:
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    body = render_to_string(f"emails/{template}.txt", context)
    # A header must be one line, whatever the template's line breaks.
    return " ".join(subject.split()), body


def notices_send(
    *,
    kind: str,
    batches: Mapping[Any, Sequence[NoticeItem]],
    template: str,
    context: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> NoticeResult:
    """Email each recipient, in one message, the items of theirs not noticed yet.

    Inputs: ``kind`` (the job, also the lock and the notices' kind); ``batches`` maps a user to their
    items (several items may share a key for one user: they count once); ``template`` names
    ``templates/emails/<template>.txt`` and ``<template>_subject.txt``, rendered with ``recipient``,
    ``items`` (the items' contexts) and ``context``; ``now`` stamps the notices.
    Output: a `NoticeResult`. The emails leave after the surrounding transaction commits; users
    without an email address get nothing and nothing is recorded for them, so that they are told
    once they have one.
    """
    now = now or timezone.now()
    result = NoticeResult()
    wanted: dict[Any, list[NoticeItem]] = {}
    for user, items in batches.items():
        unique = list({item.key: item for item in items}.values())
        if not unique:
            continue
        if not user.email:
            result.no_email_address += len(unique)
            continue
        wanted[user] = unique
    if not wanted:
        return result

    outbox: list[tuple[EmailMessage, Any, list[str]]] = []
    with transaction.atomic():
        serialise_runs(kind)
        noticed = _noticed(kind, {item.key for items in wanted.values() for item in items})
        notices = []
        for user, items in wanted.items():
            fresh = [item for item in items if (user.pk, item.key) not in noticed]
            result.already_sent += len(items) - len(fresh)
            if not fresh:
                continue
            notices += [Notice(recipient=user, kind=kind, key=item.key, sent_at=now) for item in fresh]
            subject, body = _render(
                template, {**(context or {}), "recipient": user, "items": [item.context for item in fresh]}
            )
            message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
            outbox.append((message, user, [item.key for item in fresh]))
            result.emails += 1
            result.items += len(fresh)
        # The lock makes conflicts impossible between runs; ignore_conflicts only guards against a
        # database without one (neither PostgreSQL nor SQLite).
        Notice.objects.bulk_create(notices, batch_size=LOOKUP_CHUNK, ignore_conflicts=True)
        transaction.on_commit(lambda: _deliver(kind, outbox))
    return result


def _deliver(kind: str, outbox: list[tuple[EmailMessage, Any, list[str]]]) -> None:
    """Send each prepared email over one connection; an email that cannot be sent is logged and its
    notices are withdrawn, so the next run tries those items again."""
    mail = get_connection()
    try:
        mail.open()
    except Exception:
        logger.exception(
            "Could not reach the mail server for %s; %d email(s) will be retried", kind, len(outbox)
        )
        for _message, user, keys in outbox:
            _withdraw(kind, user, keys)
        return
    try:
        for message, user, keys in outbox:
            message.connection = mail
            try:
                message.send()
            except Exception:
                logger.exception(
                    "Could not email %s (%s); their %d item(s) will be retried", user, kind, len(keys)
                )
                _withdraw(kind, user, keys)
    finally:
        mail.close()


def _withdraw(kind: str, user, keys: list[str]) -> None:
    Notice.objects.filter(recipient=user, kind=kind, key__in=keys).delete()
