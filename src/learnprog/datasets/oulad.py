"""Import the OULAD into an organization and a program, through the public API.

Data: the Open University Learning Analytics Dataset as the Open University publishes it (or
the subset shipped in ``learnprog/datasets/oulad/`` with its README). Source and licence:
Kuzilek J., Hlosta M., Zdrahal Z. "Open University Learning Analytics dataset". Scientific Data
4, 170171 (2017), doi:10.1038/sdata.2017.171, CC BY 4.0 — keep this attribution wherever the
data is copied.

How the tables map onto learnprog (each choice is the importer's, stated here and in
``docs/rules.md``):

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
* **assessments become assessments** (ID ``id_assessment``), named ``TMA 1``, ``CMA 2``,
  ``Exam 1``... in due order (an exam without a date last), due on their day, weight as given,
  pass mark 40 (the dataset's). Those with a weight above 0 are required. A module whose
  assessments all weigh 0 (GGG without its exam: the exam carries the whole grade) has every
  assessment required with equal weights, and the report says so.
* **Module domains become skill domains** with one skill per module (``Module AAA``): Social
  Sciences for AAA, BBB and GGG, STEM for CCC, DDD, EEE and FFF (the dataset paper). Each
  assessment measures its module's skill.
* **Students become learners and members**: ``Student <id_student>``,
  ``student.<id_student>@example.org``, external ID ``id_student``, location region ``region``;
  invited and joined at their first registration. No other studentInfo column is imported.
* **Registrations become enrollments** from ``date_registration`` to ``date_unregistration``
  (when given; a Withdrawn student's), found in the program's collection "Open University
  modules". A registration without a date is enrolled from the presentation's start (or its
  unregistration, when that is earlier), and the report says how many.
* **Scores become assessment attempts** (ID ``<id_assessment>:<id_student>``) submitted on
  ``date_submitted``; ``is_banked`` is kept as ``banked`` and counted.
* **studentVle rows become item events** (when the file is there): one COMPLETED event of the
  item ``id_site`` per student, site and day, at 12:00 UTC of the day (the dataset gives no time
  of day), ID ``<id_site>:<id_student>:<date>``; rows repeating a student, site and day are the
  same event (counted as duplicates). ``sum_click`` is not stored. Every event of a day falls at
  the same instant, so they make progress and lessons taken but no learning hours.

The files are read as published: ``?`` (the dataset's missing-value marker) or an empty cell is
a missing value in every column; days, weeks, weights and scores may be written as floats
(``-159.0``, as re-exports write them); ``date_unregistration``, ``vle.csv``, ``studentInfo.csv``
and ``studentVle.csv`` may be absent. A row that cannot be used (a missing score or date, a
student without a registration, a vle row of another presentation) is skipped and counted per
:class:`SkipReason` in the report. A value that breaks the format (a day that is not a whole
number, a score outside 0-100, an assessment or presentation the other files do not have) refuses
the import with a :class:`~learnprog.errors.ValidationError` naming the file, the line and the
column. Every file is read and checked before anything is stored, so a refused import stores
nothing; a failure while storing (the database going away) leaves the chunks stored so far, and
importing again finds them and stores the rest. Importing twice changes nothing: every step
finds what the first import stored.
"""

from __future__ import annotations

import enum
import importlib.resources
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from attrs import evolve, field, frozen

from learnprog.bootstrap import Learnprog
from learnprog.csvfiles import CsvRow, read_csv
from learnprog.errors import ConflictError, ValidationError
from learnprog.model.access import Actor
from learnprog.model.activity import AssessmentAttempt, EventKind, LearningEvent
from learnprog.model.catalog import Assessment, CollectionEntry, Course, CourseItem, ItemKind
from learnprog.services.history import (
    EnrollmentRecord,
    ImportOutcome,
    ImportResult,
    MemberRecord,
)
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
MODULE_CODE = re.compile(r"[A-Za-z0-9]{1,20}")
"""A module code the importer takes (the dataset's are three capital letters): it becomes part
of a course ID, a slug and a skill name, so it is checked before anything is stored."""
MISSING = "?"
"""The dataset's missing-value marker (its files write ``?`` for an unknown score, IMD band,
date or week); an empty cell is missing too."""
CLICK_TIME = timedelta(hours=12)
"""When in its day a studentVle row's event is placed: the dataset gives days, not times
(a learnprog decision: noon stays inside the day in every time zone from UTC-11 to UTC+11)."""
RACE_ATTEMPTS = 5
"""How often a step another import is changing at the same time is looked at again."""
READ_STEP = 10_000
"""Rows read between two ``"reading"`` progress calls."""

T = TypeVar("T")

Progress = Callable[[str, int], None]
"""Called with a step name and the records handled so far in that step: ``"reading"`` (rows
of the scores and studentVle files checked), then ``"members"``, ``"enrollments"``,
``"attempts"`` and, with a studentVle file, ``"events"``."""


class SkipReason(enum.StrEnum):
    """Why a row of the dataset was skipped (counted in :attr:`OuladReport.skipped`)."""

    NO_SCORE = "studentAssessment.csv: no score (? or empty)"
    NO_SUBMISSION_DATE = "studentAssessment.csv: no date_submitted (? or empty)"
    SCORE_WITHOUT_REGISTRATION = "studentAssessment.csv: the student has no registration"
    SCORE_OF_REJECTED_MEMBER = "studentAssessment.csv: the student's membership was rejected"
    REGISTRATION_OF_REJECTED_MEMBER = (
        "studentRegistration.csv: the student's membership was rejected"
    )
    SITE_OF_OTHER_PRESENTATION = "vle.csv: the presentation is not in courses.csv"
    CLICKS_OF_OTHER_PRESENTATION = "studentVle.csv: the presentation is not in courses.csv"
    CLICKS_ON_UNKNOWN_SITE = "studentVle.csv: id_site is not in vle.csv for the presentation"
    CLICKS_WITHOUT_DATE = "studentVle.csv: no date (? or empty)"
    CLICKS_WITHOUT_REGISTRATION = "studentVle.csv: the student has no registration"
    CLICKS_OF_REJECTED_MEMBER = "studentVle.csv: the student's membership was rejected"


def shipped_data() -> Path:
    """Return the folder of the OULAD subset shipped in the package (it holds its README)."""
    return Path(str(importlib.resources.files("learnprog.datasets") / "oulad"))


def presentation_start(code_presentation: str) -> datetime:
    """Return a presentation's documented start: 1 February (``B``) or 1 October (``J``), UTC.

    Raises:
        ValidationError: a code that is not a year and ``B`` or ``J`` (``2013J``).
    """
    year, letter = code_presentation[:4], code_presentation[4:]
    if not (year.isdigit() and year.isascii() and letter in ("B", "J") and int(year) > 0):
        raise ValidationError(
            "a presentation is a year (0001-9999) and B or J",
            field="code_presentation",
            value=code_presentation,
        )
    return datetime(int(year), 2 if letter == "B" else 10, 1, tzinfo=UTC)


def _missing(value: str) -> bool:
    """Whether a cell holds no value: empty, or the dataset's ``?``."""
    return value in ("", MISSING)


def _number(value: str, *, field: str) -> float:
    """Read a finite number (``78``, ``78.0``); re-exports write integers as floats."""
    try:
        number = float(value)
    except ValueError as exc:
        raise ValidationError("a number is required", field=field, value=value) from exc
    if not math.isfinite(number):
        raise ValidationError("a finite number is required", field=field, value=value)
    return number


def _whole(value: str, *, field: str) -> int:
    """Read a whole number written as an integer or a float (``-159`` or ``-159.0``)."""
    number = _number(value, field=field)
    if not number.is_integer():
        raise ValidationError("a whole number is required", field=field, value=value)
    return int(number)


def _day(start: datetime, value: str, *, field: str) -> datetime:
    """The relative day ``value`` of a presentation starting at ``start``, 00:00 UTC."""
    days = _whole(value, field=field)
    try:
        return start + timedelta(days=days)
    except OverflowError as exc:
        raise ValidationError("the day is out of range", field=field, value=value) from exc


def _score(value: str) -> float:
    score = _number(value, field="score")
    if not 0 <= score <= 100:
        raise ValidationError("a score is 0-100", field="score", value=value)
    return score


def _banked(value: str) -> bool:
    if _missing(value):
        return False
    flag = _number(value, field="is_banked")
    if flag not in (0, 1):
        raise ValidationError("is_banked is 0 or 1", field="is_banked", value=value)
    return flag == 1


@frozen
class OuladReport:
    """What :func:`import_oulad` did.

    Attributes:
        courses_created: presentations added to the catalog (0 on a second import).
        courses: presentations in the data.
        items: course items (vle rows of those presentations) in the data.
        assessments: assessments in the data.
        skills_created: module skills added to the glossary.
        members: the result per student.
        enrollments: the result per registration (those of students whose membership was
            rejected are skipped, not listed).
        attempts: the ingestion of the scores.
        blank_scores: score rows without a score (``?`` or empty), skipped; the same count as
            ``skipped[SkipReason.NO_SCORE]``.
        banked_attempts: attempts carried over from an earlier presentation.
        notes: what the data cannot answer, and choices that shape the figures.
        skipped: rows skipped, by reason (only reasons that occurred); nothing is dropped
            without a count here or a rejected record in a step's result.
        events: the ingestion of the studentVle rows, or ``None`` without that file.
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
    skipped: Mapping[SkipReason, int] = field(factory=dict)
    events: IngestResult | None = None


@contextmanager
def _reading(name: str, line: int) -> Iterator[None]:
    """Turn a bad value on ``line`` of file ``name`` into a ValidationError naming both."""
    try:
        yield
    except ValidationError as exc:
        raise ValidationError(
            f"{name}: {exc.reason}", field=exc.field, line=exc.line or line, value=exc.value
        ) from exc


@contextmanager
def _rows(
    folder: Path, name: str, columns: Sequence[str], optional: Sequence[str] = ()
) -> Iterator[Iterator[CsvRow]]:
    """Open a file's rows; an error while they are read or handled names the file and line.

    A ValidationError raised inside the block (opening the file, its header, a line the csv
    module cannot read, or a bad value of the row being handled) is raised again with the
    file's name and, when it has none, the line of the row last given. The encoding is
    detected, so a UTF-8 byte-order mark (as Excel writes) is fine; quoted cells (``"AAA"``,
    as the published files write them) read as their text.
    """
    last: list[int | None] = [None]

    def tracked(rows: Iterator[CsvRow]) -> Iterator[CsvRow]:
        for row in rows:
            last[0] = row.line
            yield row

    try:
        with read_csv(folder / name, columns, optional=optional) as rows:
            yield tracked(rows)
    except ValidationError as exc:
        raise ValidationError(
            f"{name}: {exc.reason}", field=exc.field, line=exc.line or last[0], value=exc.value
        ) from exc


def _reported(on_progress: Progress | None, step: str, rows: Iterator[CsvRow]) -> Iterator[CsvRow]:
    for done, row in enumerate(rows, start=1):
        yield row
        if on_progress is not None and done % READ_STEP == 0:
            on_progress(step, done)


@frozen
class _Registration:
    line: int
    key: tuple[str, str]
    student: str
    enrolled_at: datetime
    unenrolled_at: datetime | None
    dated: bool


@frozen
class _Score:
    assessment_id: str
    student: str
    grade: float
    submitted_at: datetime
    banked: bool


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

    Every file is read and checked before anything is stored (a refused import stores
    nothing); then the catalog, the members, the enrollments, the attempts and the item events
    are stored, a chunk per unit of work.

    Args:
        lp: a learnprog instance.
        actor: an organization admin (the catalog, the curriculum and the imports need one).
        organization_id: the organization.
        program_id: the program the students join.
        contract_id: the contract they draw on (a licenses contract needs a license per
            student: 12,400 for the shipped subset, 28,785 for the published dataset).
        source: a folder with the dataset's CSV files (``courses.csv``, ``assessments.csv``,
            ``studentRegistration.csv``, ``studentAssessment.csv``; ``vle.csv``,
            ``studentInfo.csv``, ``studentVle.csv`` when there); default the shipped subset.
        on_progress: called as rows are checked and as members, enrollments, attempts and
            events are stored (:data:`Progress`).

    Returns:
        The counts, each step's per-record results, the skipped rows per reason and the notes.

    Raises:
        ValidationError: a required file is missing, or a file is malformed: the message
            names the file, ``line`` the line and ``field`` the column.
        PermissionDeniedError: not an organization admin.
    """
    folder = Path(source) if source is not None else shipped_data()
    skipped: Counter[SkipReason] = Counter()
    presentations = _presentations(folder)
    items = _items(folder, presentations, skipped)
    assessments, assessment_course, zero_modules = _assessments(folder, presentations)
    registrations = _registrations(folder, presentations)
    registered = {(r.key, r.student) for r in registrations}
    students = {r.student for r in registrations}
    regions = _regions(folder)
    scores = _scores(folder, presentations, assessment_course, students, skipped, on_progress)
    clicks = _Clicks(folder, presentations, items, registered, on_progress)
    clicks.check(skipped)  # a full pass before anything is stored

    notes: list[str] = []
    where = "subset" if source is None else "folder"
    if not clicks.present:
        notes.append(
            f"the per-click table (studentVle) is not in the {where}: there are no item events, "
            "so progress, lessons taken and learning hours are 0 and completion comes from "
            "assessments alone"
        )
    else:
        notes.append(
            "studentVle rows carry a day but no time: each student, site and day is one "
            "completed item event at 12:00 UTC, so progress and lessons taken come from them "
            "but learning hours stay 0"
        )
    notes += [
        f"module {m}: every assessment weighs 0 (its exam, not in the data, carries the "
        "grade), so all its assessments are required and weigh the same"
        for m in sorted(zero_modules)
    ]
    undated = sum(1 for r in registrations if not r.dated)
    if undated:
        notes.append(
            f"{undated} registrations have no date_registration: enrolled from the "
            "presentation's start (or their unregistration, when earlier)"
        )

    skill_ids, skills_created = _skills(lp, actor, organization_id, {m for m, _ in presentations})
    measured = {
        key: [evolve(a, skill_ids=(skill_ids[key[0]],)) for a in found]
        for key, found in assessments.items()
    }
    courses, created = _courses(lp, actor, organization_id, presentations, items, measured)
    collection_id = _collection(lp, actor, program_id, courses)

    first_seen: dict[str, datetime] = {}
    for r in registrations:
        first_seen[r.student] = min(r.enrolled_at, first_seen.get(r.student, r.enrolled_at))

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

    member_result = _retrying(
        lambda: lp.invitations.import_members(
            actor, program_id, contract_id, members(), on_progress=_step(on_progress, "members")
        )
    )
    learner_of = {
        student: r.record_id
        for student, r in zip(first_seen, member_result.records, strict=True)
        if r.record_id is not None
    }

    enrollment_records = [
        EnrollmentRecord(
            learner_of[r.student], courses[r.key], r.enrolled_at, r.unenrolled_at, collection_id
        )
        for r in registrations
        if r.student in learner_of
    ]
    skipped[SkipReason.REGISTRATION_OF_REJECTED_MEMBER] += len(registrations) - len(
        enrollment_records
    )
    skipped[SkipReason.SCORE_OF_REJECTED_MEMBER] += sum(
        1 for s in scores if s.student not in learner_of
    )

    def record(records: list[EnrollmentRecord], step: str | None) -> ImportResult:
        return _retrying(
            lambda: lp.learning.record_enrollments(
                actor, program_id, records, on_progress=_step(on_progress, step)
            )
        )

    enrollment_result = _second_look(
        record(enrollment_records, "enrollments"), enrollment_records, record
    )

    def attempts() -> Iterator[AssessmentAttempt]:
        for s in scores:
            learner = learner_of.get(s.student)
            if learner is None:
                continue
            yield AssessmentAttempt(
                f"{s.assessment_id}:{s.student}",
                learner,
                courses[assessment_course[s.assessment_id]],
                s.assessment_id,
                s.grade,
                s.submitted_at,
                s.banked,
            )

    attempt_result = _retrying(
        lambda: lp.learning.ingest(
            actor,
            organization_id,
            attempts=attempts(),
            on_progress=_step(on_progress, "attempts"),
        )
    )
    click_skips: Counter[SkipReason] = Counter()  # of the last run of the step

    def store_events() -> IngestResult:
        click_skips.clear()
        return lp.learning.ingest(
            actor,
            organization_id,
            events=clicks.events(courses, learner_of, click_skips),
            on_progress=_step(on_progress, "events"),
        )

    event_result = _retrying(store_events) if clicks.present else None
    skipped.update(click_skips)
    banked = sum(1 for s in scores if s.banked)
    if skipped[SkipReason.NO_SCORE]:
        notes.append(f"{skipped[SkipReason.NO_SCORE]} score rows have no score and were skipped")
    if banked:
        notes.append(
            f"{banked} attempts are banked (carried over from an earlier "
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
        blank_scores=skipped[SkipReason.NO_SCORE],
        banked_attempts=banked,
        notes=tuple(notes),
        skipped={reason: n for reason, n in skipped.items() if n},
        events=event_result,
    )


def _retrying(step: Callable[[], T]) -> T:
    """Run a storing step again when another import stored the same records at that moment.

    A step that meets them raises :class:`ConflictError` (a unique key); run again, it finds
    them stored.

    Each step is idempotent (a record stored before is reported existing or a duplicate), so
    running it again is safe; its result is the last run's. After :data:`RACE_ATTEMPTS` runs
    the conflict is raised.
    """
    for _ in range(RACE_ATTEMPTS - 1):
        try:
            return step()
        except ConflictError:
            continue
    return step()


def _second_look(
    result: ImportResult,
    records: list[EnrollmentRecord],
    record: Callable[[list[EnrollmentRecord], str | None], ImportResult],
) -> ImportResult:
    """Record the rejected enrollments once more; keep what that finds for each.

    An enrollment another import stored at the same moment is rejected (a duplicate key, or
    "enrolled in it already" read before the other committed); looked at again, it is found
    EXISTING. One rejected for a reason in the data is rejected again, with the same reason.
    """
    again = [r.index for r in result.records if r.outcome is ImportOutcome.REJECTED]
    if not again:
        return result
    second = record([records[i] for i in again], None)
    merged = list(result.records)
    for index, found in zip(again, second.records, strict=True):
        merged[index] = evolve(found, index=index)
    return ImportResult(tuple(merged))


def _step(on_progress: Progress | None, name: str | None) -> Callable[[int], None] | None:
    if on_progress is None or name is None:
        return None
    report = on_progress
    return lambda done: report(name, done)


def _presentations(folder: Path) -> dict[tuple[str, str], tuple[datetime, int]]:
    presentations: dict[tuple[str, str], tuple[datetime, int]] = {}
    name = "courses.csv"
    columns = ["code_module", "code_presentation", "module_presentation_length"]
    with _rows(folder, name, columns) as rows:
        for row in rows:
            v = row.values
            if not MODULE_CODE.fullmatch(v["code_module"]):
                raise ValidationError(
                    "a module code is 1-20 ASCII letters and digits (AAA)",
                    field="code_module",
                    value=v["code_module"],
                )
            start = presentation_start(v["code_presentation"])
            length = _whole(v["module_presentation_length"], field="module_presentation_length")
            if length < 0:
                raise ValidationError(
                    "a length in days is 0 or more", field="module_presentation_length"
                )
            _day(start, str(length), field="module_presentation_length")  # the class end
            presentations[(v["code_module"], v["code_presentation"])] = (start, length)
    return presentations


def _presentation(
    presentations: Mapping[tuple[str, str], tuple[datetime, int]], values: Mapping[str, str]
) -> tuple[str, str]:
    key = (values["code_module"], values["code_presentation"])
    if key not in presentations:
        raise ValidationError(
            f"presentation {key[0]} {key[1]} is not in courses.csv",
            field="code_presentation",
            value=key[1],
        )
    return key


def _items(
    folder: Path,
    presentations: dict[tuple[str, str], tuple[datetime, int]],
    skipped: Counter[SkipReason],
) -> dict[tuple[str, str], list[CourseItem]]:
    items: dict[tuple[str, str], list[CourseItem]] = defaultdict(list)
    name = "vle.csv"
    if not (folder / name).exists():
        return items
    columns = ["id_site", "code_module", "code_presentation", "activity_type"]
    with _rows(folder, name, columns, optional=["week_from"]) as rows:
        for row in rows:
            v = row.values
            key = (v["code_module"], v["code_presentation"])
            if key not in presentations:
                skipped[SkipReason.SITE_OF_OTHER_PRESENTATION] += 1
                continue
            kind = ItemKind.QUIZ if v["activity_type"] in QUIZ_TYPES else ItemKind.READING
            week = v["week_from"]
            lesson = (
                "Module resources" if _missing(week) else f"Week {_whole(week, field='week_from')}"
            )
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
    folder: Path, presentations: dict[tuple[str, str], tuple[datetime, int]]
) -> tuple[dict[tuple[str, str], list[Assessment]], dict[str, tuple[str, str]], set[str]]:
    """Read the assessments, without their skills (added once the skills are stored)."""
    found: dict[tuple[str, str], list[tuple[str, str, datetime | None, float, int]]] = defaultdict(
        list
    )
    course_of: dict[str, tuple[str, str]] = {}
    name = "assessments.csv"
    columns = [
        "code_module",
        "code_presentation",
        "id_assessment",
        "assessment_type",
        "date",
        "weight",
    ]
    with _rows(folder, name, columns) as rows:
        for row in rows:
            v = row.values
            key = _presentation(presentations, v)
            start = presentations[key][0]
            due = None if _missing(v["date"]) else _day(start, v["date"], field="date")
            weight = _number(v["weight"], field="weight")
            if weight < 0:
                raise ValidationError("a weight is 0 or more", field="weight", value=v["weight"])
            if not v["assessment_type"]:
                raise ValidationError("an assessment type is required", field="assessment_type")
            if v["id_assessment"] in course_of:
                raise ValidationError(
                    "the assessment is listed twice",
                    field="id_assessment",
                    value=v["id_assessment"],
                )
            course_of[v["id_assessment"]] = key
            found[key].append((v["id_assessment"], v["assessment_type"], due, weight, row.line))
    result: dict[tuple[str, str], list[Assessment]] = {}
    zero_modules: set[str] = set()
    never = datetime.max.replace(tzinfo=UTC)
    for key, listed in found.items():
        listed.sort(key=lambda a: (a[2] or never, a[0]))
        all_zero = all(a[3] == 0 for a in listed)
        if all_zero:
            zero_modules.add(key[0])
        numbers: Counter[str] = Counter()
        made = []
        for assessment_id, kind, due, weight, line in listed:
            numbers[kind] += 1
            with _reading(name, line):
                made.append(
                    Assessment.create(
                        f"{kind} {numbers[kind]}",
                        id=assessment_id,
                        weight=weight,
                        required=all_zero or weight > 0,
                        due_at=due,
                        pass_mark=PASS_MARK,
                    )
                )
        result[key] = made
    return result, course_of, zero_modules


def _registrations(
    folder: Path, presentations: dict[tuple[str, str], tuple[datetime, int]]
) -> list[_Registration]:
    found: list[_Registration] = []
    name = "studentRegistration.csv"
    columns = ["code_module", "code_presentation", "id_student", "date_registration"]
    with _rows(folder, name, columns, optional=["date_unregistration"]) as rows:
        for row in rows:
            v = row.values
            key = _presentation(presentations, v)
            start = presentations[key][0]
            if not v["id_student"]:
                raise ValidationError("a student ID is required", field="id_student")
            end = v["date_unregistration"]
            unenrolled = None if _missing(end) else _day(start, end, field="date_unregistration")
            dated = not _missing(v["date_registration"])
            if dated:
                enrolled = _day(start, v["date_registration"], field="date_registration")
            else:
                enrolled = start if unenrolled is None else min(start, unenrolled)
            found.append(_Registration(row.line, key, v["id_student"], enrolled, unenrolled, dated))
    return found


def _regions(folder: Path) -> dict[str, str]:
    regions: dict[str, str] = {}
    name = "studentInfo.csv"
    if not (folder / name).exists():
        return regions
    with _rows(folder, name, ["id_student"], optional=["region"]) as rows:
        for row in rows:
            region = row.values["region"]
            if not _missing(region):
                regions.setdefault(row.values["id_student"], region)
    return regions


def _scores(
    folder: Path,
    presentations: dict[tuple[str, str], tuple[datetime, int]],
    assessment_course: dict[str, tuple[str, str]],
    students: set[str],
    skipped: Counter[SkipReason],
    on_progress: Progress | None,
) -> list[_Score]:
    found: list[_Score] = []
    name = "studentAssessment.csv"
    columns = ["id_assessment", "id_student", "date_submitted", "score"]
    # (presentation, date_submitted as written) -> the time: a few hundred days repeat over
    # every score of a presentation, each read and checked once (its first row raises)
    times: dict[tuple[tuple[str, str], str], datetime] = {}
    with _rows(folder, name, columns, optional=["is_banked"]) as rows:
        for row in _reported(on_progress, "reading", rows):
            v = row.values
            key = assessment_course.get(v["id_assessment"])
            if key is None:
                raise ValidationError(
                    "the assessment is not in assessments.csv",
                    field="id_assessment",
                    value=v["id_assessment"],
                )
            banked = _banked(v["is_banked"])
            if _missing(v["score"]):
                skipped[SkipReason.NO_SCORE] += 1
                continue
            grade = _score(v["score"])
            if _missing(v["date_submitted"]):
                skipped[SkipReason.NO_SUBMISSION_DATE] += 1
                continue
            at = times.get((key, v["date_submitted"]))
            if at is None:
                at = _day(presentations[key][0], v["date_submitted"], field="date_submitted")
                times[(key, v["date_submitted"])] = at
            if v["id_student"] not in students:
                skipped[SkipReason.SCORE_WITHOUT_REGISTRATION] += 1
                continue
            found.append(_Score(v["id_assessment"], v["id_student"], grade, at, banked))
    return found


class _Clicks:
    """The studentVle file, read twice as a stream: once to check it, once to store it."""

    NAME = "studentVle.csv"
    COLUMNS = ("code_module", "code_presentation", "id_student", "id_site", "date")

    def __init__(
        self,
        folder: Path,
        presentations: dict[tuple[str, str], tuple[datetime, int]],
        items: dict[tuple[str, str], list[CourseItem]],
        registered: set[tuple[tuple[str, str], str]],
        on_progress: Progress | None,
    ) -> None:
        self.path = folder / self.NAME
        self.present = self.path.exists()
        self.folder = folder
        self.presentations = presentations
        self.sites = {key: {i.id for i in found} for key, found in items.items()}
        self.registered = registered
        self.on_progress = on_progress

    def _usable(
        self, skipped: Counter[SkipReason] | None
    ) -> Iterator[tuple[tuple[str, str], str, str, datetime, int]]:
        """Yield each usable row's presentation, student, site, time and day; count the rest."""
        progress = self.on_progress if skipped is not None else None
        with _rows(self.folder, self.NAME, self.COLUMNS, optional=["sum_click"]) as rows:
            for row in _reported(progress, "reading", rows):
                v = row.values
                key = (v["code_module"], v["code_presentation"])
                reason: SkipReason | None = None
                if key not in self.presentations:
                    reason = SkipReason.CLICKS_OF_OTHER_PRESENTATION
                elif v["id_site"] not in self.sites.get(key, ()):
                    reason = SkipReason.CLICKS_ON_UNKNOWN_SITE
                elif _missing(v["date"]):
                    reason = SkipReason.CLICKS_WITHOUT_DATE
                if reason is None:
                    day = _whole(v["date"], field="date")
                    at = _day(self.presentations[key][0], v["date"], field="date") + CLICK_TIME
                    if not _missing(v["sum_click"]):
                        _whole(v["sum_click"], field="sum_click")
                    if (key, v["id_student"]) not in self.registered:
                        reason = SkipReason.CLICKS_WITHOUT_REGISTRATION
                if reason is not None:
                    if skipped is not None:
                        skipped[reason] += 1
                    continue
                yield key, v["id_student"], v["id_site"], at, day

    def check(self, skipped: Counter[SkipReason]) -> None:
        """Read the whole file, counting what will be skipped; a bad value raises."""
        if self.present:
            for _ in self._usable(skipped):
                pass

    def events(
        self,
        courses: Mapping[tuple[str, str], str],
        learner_of: Mapping[str, str],
        skipped: Counter[SkipReason],
    ) -> Iterator[LearningEvent]:
        """The file's events, read again (the counts of :meth:`check` stand)."""
        for key, student, site, at, day in self._usable(None):
            learner = learner_of.get(student)
            if learner is None:
                skipped[SkipReason.CLICKS_OF_REJECTED_MEMBER] += 1
                continue
            yield LearningEvent(
                f"{site}:{student}:{day}", learner, courses[key], site, EventKind.COMPLETED, at
            )


def _skills(
    lp: Learnprog, actor: Actor, organization_id: str, modules: set[str]
) -> tuple[dict[str, str], int]:
    existing = {(s.domain, s.name): s.id for s in lp.programs.list_skills(actor, organization_id)}
    skill_ids: dict[str, str] = {}
    created = 0
    for module in sorted(modules):
        key = (DOMAINS.get(module, "Other"), f"Module {module}")
        if key not in existing:
            try:
                skill = lp.programs.add_skill(
                    actor,
                    organization_id,
                    domain=key[0],
                    name=key[1],
                    definition=f"What the Open University module {module} teaches and assesses.",
                )
            except ConflictError:  # another import added it since we looked: use theirs
                existing = {
                    (s.domain, s.name): s.id
                    for s in lp.programs.list_skills(actor, organization_id)
                }
            else:
                existing[key] = skill.id
                created += 1
        skill_ids[module] = existing[key]
    return skill_ids, created


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
            try:
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
            except ConflictError:  # another import added it since we looked: use theirs
                existing = {
                    c.course_id: c for c in lp.programs.list_courses(actor, organization_id)
                }
                if course_id not in existing:  # a conflict of another kind (the slug)
                    raise
                course = existing[course_id]
            else:
                created += 1
        ids[(module, presentation)] = course.id
    return ids, created


def _collection(
    lp: Learnprog, actor: Actor, program_id: str, courses: dict[tuple[str, str], str]
) -> str:
    """Find or make the collection "Open University modules" and add the missing courses.

    When several imports run at once: an entry another import added in the meantime is not
    added again; of two collections of that name that an import sees, it keeps the first (by
    position, then ID) and deletes its own if that is the other. The collection's name is not
    unique in storage, so two imports that each make it before seeing the other's can still
    leave two (each with every course); the enrollments name the one their import used.
    """
    made: str | None = None
    for _ in range(RACE_ATTEMPTS):
        found = sorted(
            (c for c in lp.curriculum.list_collections(actor, program_id) if c.name == COLLECTION),
            key=lambda c: (c.position, c.id),
        )
        if not found:
            made = lp.curriculum.create_collection(
                actor,
                program_id,
                COLLECTION,
                description="The Open University's modules (OULAD), a course per presentation.",
            ).id
            continue
        collection = found[0]
        if made is not None and made != collection.id:
            lp.curriculum.delete_collection(actor, made)  # another import's came first
            made = None
        held = {e.target_id for e in collection.entries}
        missing = [
            CollectionEntry.course(cid) for _, cid in sorted(courses.items()) if cid not in held
        ]
        if not missing:
            return collection.id
        try:
            lp.curriculum.add_entries(actor, program_id, [collection.id], missing)
        except ConflictError:  # another import added some of them since we looked
            continue
        return collection.id
    raise ConflictError(
        f"the collection {COLLECTION!r} kept changing under other imports: import again",
        kind="collection",
        key=COLLECTION,
    )
