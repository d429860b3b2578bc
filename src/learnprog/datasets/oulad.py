"""Import the OULAD subset into an organization and a program, through the public API.

Data: a subset of the Open University Learning Analytics Dataset, shipped in
``learnprog/datasets/oulad/`` with its README. Source and licence: Kuzilek J., Hlosta M.,
Zdrahal Z. "Open University Learning Analytics dataset". Scientific Data 4, 170171 (2017),
doi:10.1038/sdata.2017.171, CC BY 4.0 — keep this attribution wherever the data is copied.

How the tables map onto learnprog (each choice is the importer's, stated here):

* **Presentations become courses.** ``AAA`` presented in ``2013J`` is the course ``AAA-2013J``
  (slug ``aaa-2013j``), partner "The Open University". The dataset gives days relative to each
  presentation's start, not the start itself; the dataset paper names ``B`` presentations
  February starts and ``J`` presentations October starts, so the class starts on
  :func:`presentation_start` (1 February or 1 October of the year, 00:00 UTC) and ends
  ``module_presentation_length`` days later. Every relative day ``d`` is that start plus ``d``
  days, at 00:00 UTC.
* **vle rows become course items** (ID ``id_site``): ``quiz``, ``externalquiz`` and
  ``questionnaire`` are quizzes, everything else readings. The lesson is ``Week N`` from
  ``week_from``, or ``Module resources`` when the row has no week.
* **assessments become assessments** (ID ``id_assessment``), named ``TMA 1``, ``CMA 2``... in
  due order, due on their day, weight as given, pass mark 40 (the dataset's). Those with a
  weight above 0 are required. A module whose assessments all weigh 0 (GGG: its exam, not in
  the subset, carries the whole grade) has every assessment required with equal weights, and
  the report says so.
* **Module domains become skill domains** with one skill per module (``Module AAA``): Social
  Sciences for AAA, BBB and GGG, STEM for DDD, EEE and FFF (the dataset paper). Each
  assessment measures its module's skill.
* **Students become learners and members**: ``Student <id_student>``,
  ``student.<id_student>@example.org``, external ID ``id_student``, location region ``region``;
  invited and joined at their first registration. No other studentInfo column is imported.
* **Registrations become enrollments** from ``date_registration`` to ``date_unregistration``
  (when given), found in the program's collection "Open University modules".
* **Scores become assessment attempts** (ID ``<id_assessment>:<id_student>``) submitted on
  ``date_submitted``; blank scores are skipped and counted; ``is_banked`` is kept as
  ``banked`` and counted.

Where the data has no answer the report says so rather than inventing figures: the per-click
table is not in the subset, so there are no item events — progress, lessons taken and learning
hours stay 0, and completion comes from assessments alone. Importing twice changes nothing:
every step finds what the first import stored.
"""

from __future__ import annotations

import importlib.resources
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from attrs import frozen

from learnprog.bootstrap import Learnprog
from learnprog.csvfiles import CsvRow, read_csv
from learnprog.errors import ValidationError
from learnprog.model.access import Actor
from learnprog.model.activity import AssessmentAttempt
from learnprog.model.catalog import Assessment, CollectionEntry, Course, CourseItem, ItemKind
from learnprog.services.history import EnrollmentRecord, ImportResult, MemberRecord
from learnprog.services.learning import IngestResult

PARTNER = "The Open University"
PASS_MARK = 40.0
"""The dataset's pass mark for every assessment (its README: "the pass mark is 40")."""
COLLECTION = "Open University modules"
EMAIL_DOMAIN = "example.org"
DOMAINS = {
    "AAA": "Social Sciences",
    "BBB": "Social Sciences",
    "GGG": "Social Sciences",
    "CCC": "STEM",
    "DDD": "STEM",
    "EEE": "STEM",
    "FFF": "STEM",
}
"""Module domains, from the dataset paper (Kuzilek et al. 2017, Table 1)."""
QUIZ_TYPES = frozenset({"quiz", "externalquiz", "questionnaire"})

Progress = Callable[[str, int], None]
"""Called with a step name (``"members"``, ``"enrollments"``, ``"attempts"``) and the records
handled so far in that step."""


def shipped_data() -> Path:
    """Return the folder of the OULAD subset shipped in the package (it holds its README)."""
    return Path(str(importlib.resources.files("learnprog.datasets") / "oulad"))


def presentation_start(code_presentation: str) -> datetime:
    """Return a presentation's documented start: 1 February (``B``) or 1 October (``J``), UTC.

    Raises:
        ValidationError: a code that is not a year and ``B`` or ``J`` (``2013J``).
    """
    year, letter = code_presentation[:4], code_presentation[4:]
    if not (year.isdigit() and letter in ("B", "J")):
        raise ValidationError(
            "a presentation is a year and B or J",
            field="code_presentation",
            value=code_presentation,
        )
    return datetime(int(year), 2 if letter == "B" else 10, 1, tzinfo=UTC)


def _day(start: datetime, value: str, *, field: str) -> datetime:
    try:
        return start + timedelta(days=int(value))
    except (ValueError, OverflowError) as exc:
        raise ValidationError(
            "a whole number of days is required", field=field, value=value
        ) from exc


@frozen
class OuladReport:
    """What :func:`import_oulad` did.

    Attributes:
        courses_created: presentations added to the catalog (0 on a second import).
        courses: presentations in the data.
        items: course items (vle rows) in the data.
        assessments: assessments in the data.
        skills_created: module skills added to the glossary.
        members: the result per student.
        enrollments: the result per registration.
        attempts: the ingestion of the scores.
        blank_scores: score rows without a score, skipped.
        banked_attempts: attempts carried over from an earlier presentation.
        notes: what the data cannot answer, and choices that shape the figures.
    """

    courses_created: int
    courses: int
    items: int
    assessments: int
    skills_created: int
    members: ImportResult
    enrollments: ImportResult
    attempts: IngestResult
    blank_scores: int
    banked_attempts: int
    notes: tuple[str, ...]


def _rows(folder: Path, name: str, columns: list[str]) -> Iterator[CsvRow]:
    """Yield a file's rows; callers handle each inside :func:`_reading`.

    The encoding is detected, so a UTF-8 byte-order mark (as Excel writes) is fine; a bad value
    names the file and line through :func:`_reading`.
    """
    with read_csv(folder / name, columns) as rows:
        yield from rows


@contextmanager
def _reading(name: str, row: CsvRow) -> Iterator[None]:
    """Turn a bad value in ``row`` of file ``name`` into a ValidationError naming both."""
    try:
        yield
    except ValidationError as exc:
        raise ValidationError(
            f"{name}: {exc.reason}", field=exc.field, line=row.line, value=exc.value
        ) from exc
    except KeyError as exc:
        raise ValidationError(
            f"{name}: {exc.args[0]!r} is not in the dataset's other files", line=row.line
        ) from exc
    except (ValueError, OverflowError) as exc:
        raise ValidationError(f"{name}: {exc}", line=row.line) from exc


def import_oulad(
    lp: Learnprog,
    actor: Actor,
    organization_id: str,
    program_id: str,
    contract_id: str,
    *,
    source: str | Path | None = None,
    on_progress: Progress | None = None,
) -> OuladReport:
    """Load the OULAD tables into an organization and program (see the module for the mapping).

    Args:
        lp: a learnprog instance.
        actor: an organization admin (the catalog, the curriculum and the imports need one).
        organization_id: the organization.
        program_id: the program the students join.
        contract_id: the contract they draw on (a licenses contract needs a license per
            student, 12,400 for the shipped subset).
        source: a folder with the dataset's CSV files; default the shipped subset.
        on_progress: called as members, enrollments and attempts are stored.

    Returns:
        The counts, each step's per-record results and the notes.

    Raises:
        ValidationError: a file is missing or malformed (the file, line and column named).
        PermissionDeniedError: not an organization admin.
    """
    folder = Path(source) if source is not None else shipped_data()
    presentations: dict[tuple[str, str], tuple[datetime, int]] = {}
    for row in _rows(
        folder, "courses.csv", ["code_module", "code_presentation", "module_presentation_length"]
    ):
        with _reading("courses.csv", row):
            v = row.values
            start = presentation_start(v["code_presentation"])
            length = int(v["module_presentation_length"])
            presentations[(v["code_module"], v["code_presentation"])] = (start, length)
    notes = [
        "the per-click table (studentVle) is not in the subset: there are no item events, so "
        "progress, lessons taken and learning hours are 0 and completion comes from "
        "assessments alone"
    ]

    skill_ids, skills_created = _skills(lp, actor, organization_id, {m for m, _ in presentations})
    items = _items(folder, presentations)
    assessments, assessment_course, zero_modules = _assessments(folder, presentations, skill_ids)
    notes += [
        f"module {m}: every assessment weighs 0 (its exam, not in the subset, carries the "
        "grade), so all its assessments are required and weigh the same"
        for m in sorted(zero_modules)
    ]
    courses, created = _courses(lp, actor, organization_id, presentations, items, assessments)
    collection_id = _collection(lp, actor, program_id, courses)

    registrations = list(
        _rows(
            folder,
            "studentRegistration.csv",
            [
                "code_module",
                "code_presentation",
                "id_student",
                "date_registration",
                "date_unregistration",
            ],
        )
    )
    first_seen: dict[str, datetime] = {}
    for row in registrations:
        with _reading("studentRegistration.csv", row):
            v = row.values
            start = presentations[(v["code_module"], v["code_presentation"])][0]
            at = _day(start, v["date_registration"], field="date_registration")
            if v["date_unregistration"]:
                _day(start, v["date_unregistration"], field="date_unregistration")
            student = v["id_student"]
            first_seen[student] = min(at, first_seen.get(student, at))
    regions: dict[str, str] = {}
    for row in _rows(folder, "studentInfo.csv", ["id_student", "region"]):
        regions.setdefault(row.values["id_student"], row.values["region"])

    def members() -> Iterator[MemberRecord]:
        for student, joined in first_seen.items():
            yield MemberRecord(
                f"Student {student}",
                f"student.{student}@{EMAIL_DOMAIN}",
                joined,
                external_id=student,
                joined_at=joined,
                profile={"location_region": regions.get(student) or None},
            )

    member_result = lp.invitations.import_members(
        actor, program_id, contract_id, members(), on_progress=_step(on_progress, "members")
    )
    learner_of = {
        student: r.record_id
        for student, r in zip(first_seen, member_result.records, strict=True)
        if r.record_id is not None
    }

    def enrollments() -> Iterator[EnrollmentRecord]:
        for row in registrations:
            v = row.values
            start = presentations[(v["code_module"], v["code_presentation"])][0]
            learner = learner_of.get(v["id_student"])
            if learner is None:
                continue
            end = v["date_unregistration"]
            yield EnrollmentRecord(
                learner,
                courses[(v["code_module"], v["code_presentation"])],
                _day(start, v["date_registration"], field="date_registration"),
                _day(start, end, field="date_unregistration") if end else None,
                collection_id,
            )

    enrollment_result = lp.learning.record_enrollments(
        actor, program_id, enrollments(), on_progress=_step(on_progress, "enrollments")
    )

    counts: Counter[str] = Counter()

    def attempts() -> Iterator[AssessmentAttempt]:
        for row in _rows(
            folder,
            "studentAssessment.csv",
            ["id_assessment", "id_student", "date_submitted", "is_banked", "score"],
        ):
            v = row.values
            if not v["score"].strip():
                counts["blank"] += 1
                continue
            with _reading("studentAssessment.csv", row):
                key = assessment_course[v["id_assessment"]]
                learner = learner_of.get(v["id_student"])
                if learner is None:
                    counts["unknown student"] += 1
                    continue
                banked = v["is_banked"] == "1"
                attempt = AssessmentAttempt(
                    f"{v['id_assessment']}:{v['id_student']}",
                    learner,
                    courses[key],
                    v["id_assessment"],
                    float(v["score"]),
                    _day(presentations[key][0], v["date_submitted"], field="date_submitted"),
                    banked,
                )
            counts["banked"] += banked
            yield attempt

    attempt_result = lp.learning.ingest(
        actor, organization_id, attempts=attempts(), on_progress=_step(on_progress, "attempts")
    )
    if counts["blank"]:
        notes.append(f"{counts['blank']} score rows have no score and were skipped")
    if counts["banked"]:
        notes.append(
            f"{counts['banked']} attempts are banked (carried over from an earlier "
            "presentation); an attempt dated before its registration counts toward nothing"
        )
    return OuladReport(
        courses_created=created,
        courses=len(presentations),
        items=sum(len(v) for v in items.values()),
        assessments=sum(len(v) for v in assessments.values()),
        skills_created=skills_created,
        members=member_result,
        enrollments=enrollment_result,
        attempts=attempt_result,
        blank_scores=counts["blank"],
        banked_attempts=counts["banked"],
        notes=tuple(notes),
    )


def _step(on_progress: Progress | None, name: str) -> Callable[[int], None] | None:
    if on_progress is None:
        return None
    report = on_progress
    return lambda done: report(name, done)


def _skills(
    lp: Learnprog, actor: Actor, organization_id: str, modules: set[str]
) -> tuple[dict[str, str], int]:
    existing = {(s.domain, s.name): s.id for s in lp.programs.list_skills(actor, organization_id)}
    skill_ids: dict[str, str] = {}
    created = 0
    for module in sorted(modules):
        key = (DOMAINS.get(module, "Other"), f"Module {module}")
        if key not in existing:
            skill = lp.programs.add_skill(
                actor,
                organization_id,
                domain=key[0],
                name=key[1],
                definition=f"What the Open University module {module} teaches and assesses.",
            )
            existing[key] = skill.id
            created += 1
        skill_ids[module] = existing[key]
    return skill_ids, created


def _items(
    folder: Path, presentations: dict[tuple[str, str], tuple[datetime, int]]
) -> dict[tuple[str, str], list[CourseItem]]:
    items: dict[tuple[str, str], list[CourseItem]] = defaultdict(list)
    rows = _rows(
        folder,
        "vle.csv",
        ["id_site", "code_module", "code_presentation", "activity_type", "week_from"],
    )
    for row in rows:
        v = row.values
        key = (v["code_module"], v["code_presentation"])
        if key not in presentations:
            continue
        kind = ItemKind.QUIZ if v["activity_type"] in QUIZ_TYPES else ItemKind.READING
        lesson = f"Week {v['week_from']}" if v["week_from"] else "Module resources"
        with _reading("vle.csv", row):
            items[key].append(
                CourseItem.create(
                    f"{v['activity_type']} {v['id_site']}",
                    kind=kind,
                    lesson=lesson,
                    id=v["id_site"],
                    position=len(items[key]),
                )
            )
    return items


def _assessments(
    folder: Path,
    presentations: dict[tuple[str, str], tuple[datetime, int]],
    skill_ids: dict[str, str],
) -> tuple[dict[tuple[str, str], list[Assessment]], dict[str, tuple[str, str]], set[str]]:
    rows: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    columns = [
        "code_module",
        "code_presentation",
        "id_assessment",
        "assessment_type",
        "date",
        "weight",
    ]
    for row in _rows(folder, "assessments.csv", columns):
        with _reading("assessments.csv", row):
            key = (row.values["code_module"], row.values["code_presentation"])
            presentations[key]  # a KeyError names an unknown presentation
            if row.values["date"]:
                int(row.values["date"])
            weight = float(row.values["weight"])
            if not math.isfinite(weight) or weight < 0:
                raise ValidationError("a weight is a finite number, 0 or more", field="weight")
            rows[key].append(row.values)
    result: dict[tuple[str, str], list[Assessment]] = {}
    course_of: dict[str, tuple[str, str]] = {}
    zero_modules: set[str] = set()
    for key, found in rows.items():
        start = presentations[key][0]
        found.sort(key=lambda v: (int(v["date"] or 0), v["id_assessment"]))
        all_zero = all(float(v["weight"]) == 0 for v in found)
        if all_zero:
            zero_modules.add(key[0])
        numbers: Counter[str] = Counter()
        made = []
        for v in found:
            numbers[v["assessment_type"]] += 1
            weight = float(v["weight"])
            made.append(
                Assessment.create(
                    f"{v['assessment_type']} {numbers[v['assessment_type']]}",
                    id=v["id_assessment"],
                    weight=weight,
                    required=all_zero or weight > 0,
                    due_at=_day(start, v["date"], field="date") if v["date"] else None,
                    pass_mark=PASS_MARK,
                    skill_ids=[skill_ids[key[0]]],
                )
            )
            course_of[v["id_assessment"]] = key
        result[key] = made
    return result, course_of, zero_modules


def _courses(
    lp: Learnprog,
    actor: Actor,
    organization_id: str,
    presentations: dict[tuple[str, str], tuple[datetime, int]],
    items: dict[tuple[str, str], list[CourseItem]],
    assessments: dict[tuple[str, str], list[Assessment]],
) -> tuple[dict[tuple[str, str], str], int]:
    existing: dict[str, Course] = {
        c.course_id: c for c in lp.programs.list_courses(actor, organization_id)
    }
    ids: dict[tuple[str, str], str] = {}
    created = 0
    for (module, presentation), (start, length) in sorted(presentations.items()):
        course_id = f"{module}-{presentation}"
        course = existing.get(course_id)
        if course is None:
            course = lp.programs.add_course(
                actor,
                organization_id,
                course_id=course_id,
                slug=course_id.lower(),
                name=f"Module {module} ({presentation})",
                partner=PARTNER,
                class_start=start,
                class_end=start + timedelta(days=length),
                items=items.get((module, presentation), []),
                assessments=assessments.get((module, presentation), []),
            )
            created += 1
        ids[(module, presentation)] = course.id
    return ids, created


def _collection(
    lp: Learnprog, actor: Actor, program_id: str, courses: dict[tuple[str, str], str]
) -> str:
    found = [c for c in lp.curriculum.list_collections(actor, program_id) if c.name == COLLECTION]
    collection = (
        found[0]
        if found
        else lp.curriculum.create_collection(
            actor,
            program_id,
            COLLECTION,
            description="The OULAD subset's Open University modules, a course per presentation.",
        )
    )
    held = {e.target_id for e in collection.entries}
    missing = [
        CollectionEntry.course(cid) for key, cid in sorted(courses.items()) if cid not in held
    ]
    if missing:
        lp.curriculum.add_entries(actor, program_id, [collection.id], missing)
    return collection.id
