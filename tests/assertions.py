"""Assertions shared by the model tests: a rule is checked by validation and by the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction


def assert_invalid(obj, field: str, phrase: str) -> None:
    """full_clean() rejects `obj`, with a message on `field` that contains `phrase`."""
    with pytest.raises(ValidationError) as excinfo:
        obj.full_clean()
    errors = excinfo.value.message_dict
    assert field in errors, errors
    assert any(phrase in message for message in errors[field]), errors[field]


def assert_db_rejects(obj, *evidence: str) -> None:
    """Saving `obj` without validation fails in the database, naming the constraint (or its columns)."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        obj.save()
    assert any(text in str(excinfo.value) for text in evidence), str(excinfo.value)
