"""Learner profiles: the report profile fields and free-form attributes.

One learner at a time, or from a CSV file (guide, "Add learner attributes"; the usage and
membership reports' profile columns).

The bulk file is keyed by ``Email`` or ``External ID`` (at least one of the two columns; a row
uses its Email when it has one). The profile columns carry the reports' names; any other column
becomes a free-form attribute. An empty cell changes nothing. Each line gets a
:class:`ProfileRowResult`, as bulk invitations do: ``updated``, ``unchanged``, ``not_found``,
``ambiguous`` (an External ID shared by several learners) or ``rejected`` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from attrs import evolve, fields, frozen

from learnprog.csvfiles import CsvRow
from learnprog.errors import ValidationError
from learnprog.model.identity import email_key
from learnprog.model.learner import Learner, LearnerProfile

PROFILE_COLUMNS: Mapping[str, str] = {
    "Manager Name": "manager_name",
    "Manager Email": "manager_email",
    "Job Title": "job_title",
    "Job Type": "job_type",
    "Business Unit": "business_unit",
    "Business Unit 2": "business_unit_2",
    "Location City": "location_city",
    "Location Country": "location_country",
    "Location Region": "location_region",
}
"""Report column -> LearnerProfile field, in the guide's order."""

KEY_COLUMNS = ("Email", "External ID")

UPDATED = "updated"
UNCHANGED = "unchanged"
NOT_FOUND = "not_found"
AMBIGUOUS = "ambiguous"
REJECTED = "rejected"


@frozen
class ProfileRowResult:
    """What happened to one line of a profile file.

    Attributes:
        line: the line the record starts on (the header is line 1).
        outcome: updated, unchanged, not_found, ambiguous or rejected.
        key: the Email or External ID the line was matched by.
        learner_id: the learner updated (or left unchanged), or None.
        reason: why the line was not applied, or None.
        changed: the fields and attributes that changed.
    """

    line: int
    outcome: str
    key: str
    learner_id: str | None = None
    reason: str | None = None
    changed: tuple[str, ...] = ()


def apply_changes(
    learner: Learner,
    *,
    profile: Mapping[str, str | None] | None = None,
    attributes: Mapping[str, str | None] | None = None,
    line: int | None = None,
) -> Learner:
    """Return ``learner`` with profile fields and attributes changed.

    Args:
        learner: the learner.
        profile: LearnerProfile field name -> new value; ``None`` clears the field.
        attributes: attribute name -> new value; ``None`` or ``""`` removes the attribute.
        line: the CSV line, named in errors.

    Raises:
        ValidationError: an unknown profile field, or a value that is not one line of text.
    """
    names = {a.name for a in fields(LearnerProfile)}
    current = {name: getattr(learner.profile, name) for name in names}
    for key, value in (profile or {}).items():
        if key not in names:
            raise ValidationError("not a profile field", field=key, line=line)
        current[key] = value
    try:
        new_profile = LearnerProfile.from_fields(current)
    except ValidationError as exc:
        raise ValidationError(exc.reason, field=exc.field, line=line, value=exc.value) from exc
    merged = dict(learner.attributes)
    for key, value in (attributes or {}).items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    updated = evolve(learner, profile=new_profile, attributes={})
    try:
        return updated.with_attributes(merged)
    except ValidationError as exc:
        raise ValidationError(exc.reason, field=exc.field, line=line, value=exc.value) from exc


def row_changes(row: CsvRow) -> tuple[dict[str, str], dict[str, str]]:
    """Return a profile file line's (profile changes, attribute changes); empty cells skipped."""
    profile = {PROFILE_COLUMNS[c]: v for c, v in row.values.items() if c in PROFILE_COLUMNS and v}
    attributes = {name: value for name, value in row.extra.items() if name and value}
    return profile, attributes


def changed_names(before: Learner, after: Learner) -> tuple[str, ...]:
    """Name the profile fields and attributes that differ between two versions."""
    names = [
        a.name
        for a in fields(LearnerProfile)
        if getattr(before.profile, a.name) != getattr(after.profile, a.name)
    ]
    keys = sorted(set(before.attributes) | set(after.attributes))
    names += [
        f"attributes.{k}" for k in keys if before.attributes.get(k) != after.attributes.get(k)
    ]
    return tuple(names)


def row_key(row: CsvRow) -> tuple[str, str] | None:
    """Return ("email", key) or ("external_id", value) for a line, or None when it has neither."""
    if row.values.get("Email"):
        return "email", email_key(row.values["Email"])
    if row.values.get("External ID"):
        return "external_id", row.values["External ID"]
    return None
