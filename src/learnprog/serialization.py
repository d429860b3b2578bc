"""The private cattrs converter: model objects to plain data (JSON shapes) and back.

Built by :func:`make_converter` (never cattrs' global converter) and used by the SQL adapter's
row conversion and the audit log. Plain data means: str, int, float, bool, None, lists and
dicts; datetimes stay datetimes (aware UTC) unless ``json_datetimes`` asks for ISO 8601 text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import cattrs

from learnprog.model.identity import EmailAddress, ProgramSlug


def make_converter(*, json_datetimes: bool = False) -> cattrs.Converter:
    """Return a converter for learnprog's model classes.

    Args:
        json_datetimes: write datetimes as ISO 8601 strings (for JSON documents such as the
            audit log's changes) instead of leaving them as datetime objects.

    Returns:
        A new :class:`cattrs.Converter`; EmailAddress and ProgramSlug become their text,
        frozensets, tuples and subclasses of ``list`` (the skills results, such as
        ``ProficiencyBySkill``) become lists.
    """
    conv = cattrs.Converter(unstruct_collection_overrides={frozenset: list, tuple: list})
    conv.register_unstructure_hook_func(
        lambda cls: isinstance(cls, type) and issubclass(cls, list) and cls is not list,
        lambda rows: [conv.unstructure(row) for row in rows],
    )
    conv.register_unstructure_hook(EmailAddress, lambda e: e.address)
    conv.register_structure_hook(EmailAddress, lambda v, _: EmailAddress.trusted(v))
    conv.register_unstructure_hook(ProgramSlug, lambda s: s.value)
    conv.register_structure_hook(ProgramSlug, lambda v, _: ProgramSlug(v))
    if json_datetimes:
        conv.register_unstructure_hook(datetime, lambda d: d.isoformat())
        conv.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
    else:
        conv.register_unstructure_hook(datetime, lambda d: d)
        conv.register_structure_hook(datetime, lambda v, _: v)
    return conv


def to_json_value(value: Any) -> Any:
    """Return ``value`` (a model object or plain value) as JSON-ready data."""
    return _JSON.unstructure(value)


_JSON = make_converter(json_datetimes=True)
