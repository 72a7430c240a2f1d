"""The API's pagination: page numbers for the small configuration lists
(REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]) and keyset cursors for the evidence lists, whose
tables grow without bound."""

from __future__ import annotations

import json
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Sequence
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class PageNumbers(PageNumberPagination):
    """DRF's pages, where `?page=` with no number is refused like any other page that is not
    one (404 "Invalid page."), as the schema's `page: integer` says, instead of page 1."""

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) == "":
            raise NotFound(self.invalid_page_message.format(page_number="", message="no page number"))
        return super().get_page_number(request, paginator)


def keyset_after(fields: Sequence[str], position: Sequence, *, descending: bool):
    """The filter of the rows that follow `position` (the values of `fields` of one row) in the
    order of `fields`, newest first when `descending`: a comparison of the whole key as one row
    value, which PostgreSQL answers as a range of an index that starts with the same columns
    (other databases get the equivalent OR of comparisons)."""
    key = Tuple(*(F(name) for name in fields))
    return TupleLessThan(key, tuple(position)) if descending else TupleGreaterThan(key, tuple(position))


def keyset_page(
    queryset: QuerySet,
    fields: Sequence[str],
    position: Sequence | None,
    *,
    descending: bool,
    backwards: bool,
    size: int,
) -> tuple[list, bool, bool]:
    """The `size` rows that follow `position` (the first ones without it) in the order of
    `fields`, or with `backwards` the `size` rows before it, still in that order, read as one
    range of `size` + 1 rows. Returns (rows, a page after them, a page before them): from a
    position there is a page on the side it came from; on the far side only if a row was left."""
    # Going back reads the rows before the position in the opposite order, then turns them round.
    newest_first = descending != backwards
    if position is not None:
        queryset = queryset.filter(keyset_after(fields, position, descending=newest_first))
    prefix = "-" if newest_first else ""
    rows = list(queryset.order_by(*(prefix + name for name in fields))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    from_position = position is not None
    return rows, (from_position if backwards else more), (more if backwards else from_position)


class Keyset(BasePagination):
    """Pages that continue after the last row shown (`?cursor=`), never an OFFSET or a COUNT(*).

    The view names its order in `keyset_ordering`: model fields, all in one direction, the last
    one unique (usually the pk), the first ones those of an index, so that a page is one index
    range scan of `page_size + 1` rows however deep it lies. The cursor holds the values of the
    row it continues from and the direction (`n` next, `p` previous), as URL-safe base64 JSON;
    one that cannot be read answers 404 "Invalid cursor." like a page past the last. The answer is
    `{"next", "previous", "results"}`: there is no total, which would read every row."""

    cursor_query_param = "cursor"
    invalid_cursor_message = "Invalid cursor."

    def __init__(self):
        self.page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
        self.next_values = self.previous_values = None

    # --- the page ---------------------------------------------------------------------------------

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.request = request
        fields, descending = self.ordering(view)
        model_fields = [queryset.model._meta.get_field(name) for name in fields]
        position, backwards = self.decode_cursor(request, model_fields)
        rows, after, before = keyset_page(
            queryset, fields, position, descending=descending, backwards=backwards, size=self.page_size
        )
        values = [[getattr(row, field.attname) for field in model_fields] for row in rows]
        self.next_values = values[-1] if rows and after else None
        self.previous_values = values[0] if rows and before else None
        return rows

    @staticmethod
    def ordering(view) -> tuple[Sequence[str], bool]:
        ordering = view.keyset_ordering
        descending = {name.startswith("-") for name in ordering}
        if len(descending) != 1:
            raise ValueError(f"{type(view).__name__}.keyset_ordering must run in one direction.")
        return [name.removeprefix("-") for name in ordering], descending.pop()

    # --- the cursor -------------------------------------------------------------------------------

    def decode_cursor(self, request, model_fields) -> tuple[tuple | None, bool]:
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None, False
        try:
            decoded = json.loads(urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)))
            if not isinstance(decoded, list) or len(decoded) != len(model_fields) + 1:
                raise ValueError("not a cursor")
            direction, *values = decoded
            if direction not in ("n", "p"):
                raise ValueError("no direction")
            position = tuple(
                _position_value(field, value) for field, value in zip(model_fields, values, strict=True)
            )
        except (ValueError, TypeError, ValidationError):  # binascii and JSON errors are ValueErrors
            raise NotFound(self.invalid_cursor_message) from None
        return position, direction == "p"

    @staticmethod
    def encode_cursor(direction: str, values: list) -> str:
        plain = [value.isoformat() if isinstance(value, date | datetime) else value for value in values]
        text = json.dumps([direction, *plain], separators=(",", ":"))
        return urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")

    def link(self, direction: str, values) -> str | None:
        if values is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, self.encode_cursor(direction, values))

    def get_next_link(self) -> str | None:
        return self.link("n", self.next_values)

    def get_previous_link(self) -> str | None:
        return self.link("p", self.previous_values)

    # --- the answer -------------------------------------------------------------------------------

    def get_paginated_response(self, data) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {**link, "description": "The next page (older rows); null on the last."},
                "previous": {**link, "description": "The page before; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: copy it from `next` or `previous`.",
                "schema": {"type": "string"},
            }
        ]


BIGINT = 2**63


def _position_value(field, value):
    """A cursor's value for `field`, as the database can compare it; ValueError for anything a
    client may have made up that the column could not hold."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("not a value")
    if isinstance(value, int) and not -BIGINT <= value < BIGINT:
        raise ValueError("out of range")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL")
    converted = field.to_python(value)
    if isinstance(converted, datetime) and converted.tzinfo is None:
        raise ValueError("a time without its offset")
    return converted
