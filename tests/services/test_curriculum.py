"""CurriculumService and the program banner: guide, "Managing Curriculum" and "Settings"."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import learnprog
from learnprog.errors import (
    ConflictError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from learnprog.model import (
    AuditEntry,
    Collection,
    CollectionEntry,
    EntryKind,
    OrgAdminActor,
    SystemActor,
)
from learnprog.services.course_import import CourseRowResult
from learnprog.storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.factories import png

SYSTEM = SystemActor()


class World:
    """Acme with one program, three courses of one partner and a specialization of two."""

    def __init__(self, lp: learnprog.Learnprog) -> None:
        self.lp = lp
        org = lp.organizations.create_organization(
            SYSTEM,
            "Acme",
            email_domains=["acme.example"],
            admin_name="Ana",
            admin_email="ana@acme.example",
        )
        self.org = org
        admin = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
        assert isinstance(admin, OrgAdminActor)
        self.admin = admin
        self.program = lp.programs.create_program(
            admin,
            org.id,
            "Data Academy",
            slug="data-academy",
            tagline="Learn with data",
            course_enrollment_limit=3,
        )
        self.courses = [
            lp.programs.add_course(
                admin,
                org.id,
                course_id=f"C{n}",
                slug=f"course-{n}",
                name=f"Course {n}",
                partner="U",
            )
            for n in range(3)
        ]
        self.spec = lp.programs.add_specialization(
            admin,
            org.id,
            slug="data-spec",
            name="Data Spec",
            course_ids=[c.id for c in self.courses[:2]],
        )

    @property
    def cur(self) -> learnprog.CurriculumService:
        return self.lp.curriculum

    def course(self, n: int) -> CollectionEntry:
        return CollectionEntry.course(self.courses[n].id)

    def collections(self) -> Sequence[Collection]:
        return self.cur.list_collections(self.admin, self.program.id)

    def audit(self, action: str) -> list[AuditEntry]:
        entries = self.lp.audit.entries(self.admin, self.org.id, limit=1000)
        return [e for e in entries if e.action == action]


@pytest.fixture
def w(lp: learnprog.Learnprog) -> World:
    return World(lp)


def _names(collections: Sequence[Collection]) -> list[str]:
    return [c.name for c in collections]


# --- collections --------------------------------------------------------------------------------


def test_new_collections_go_at_the_end_and_are_audited(w: World) -> None:
    for name in ("Sustainability", "Leadership", "Data"):
        w.cur.create_collection(w.admin, w.program.id, name, description=f"All about {name}")
    listed = w.collections()
    assert _names(listed) == ["Sustainability", "Leadership", "Data"]
    assert [c.position for c in listed] == [0, 1, 2]
    assert listed[0].description == "All about Sustainability"
    created = w.audit("collection.create")
    assert len(created) == 3
    assert {e.program_id for e in created} == {w.program.id}
    assert {e.object_type for e in created} == {"collection"}
    assert created[-1].changes["name"] == [None, "Sustainability"]


def test_a_collection_needs_a_name(w: World) -> None:
    with pytest.raises(ValidationError, match="field 'name'"):
        w.cur.create_collection(w.admin, w.program.id, "  ")
    assert w.collections() == []


def test_rename_and_describe_a_collection(w: World) -> None:
    coll = w.cur.create_collection(w.admin, w.program.id, "Draft", description="old")
    renamed = w.cur.update_collection(w.admin, coll.id, name="Sustainability")
    assert (renamed.name, renamed.description) == ("Sustainability", "old")
    cleared = w.cur.update_collection(w.admin, coll.id, description=None)
    assert cleared.description is None
    assert w.collections() == [cleared]
    changes = [e.changes for e in w.audit("collection.update")]
    assert changes == [{"description": ["old", None]}, {"name": ["Draft", "Sustainability"]}]


def test_deleting_a_collection_closes_the_gap(w: World) -> None:
    a, b, c = (w.cur.create_collection(w.admin, w.program.id, n) for n in "ABC")
    w.cur.add_entries(w.admin, w.program.id, [b.id], [w.course(0)])
    deleted = w.cur.delete_collection(w.admin, b.id)
    assert deleted.entries == (w.course(0),)
    listed = w.collections()
    assert [(x.id, x.position) for x in listed] == [(a.id, 0), (c.id, 1)]
    assert [e.object_id for e in w.audit("collection.delete")] == [b.id]
    assert [e.changes["position"] for e in w.audit("curriculum.reorder")] == [[2, 1]]
    with pytest.raises(NotFoundError):
        w.cur.delete_collection(w.admin, b.id)
    assert w.lp.programs.list_courses(w.admin, w.org.id)[0].id == w.courses[0].id  # catalog kept


def test_reorder_collections(w: World) -> None:
    a, b, c = (w.cur.create_collection(w.admin, w.program.id, n) for n in "ABC")
    ordered = w.cur.reorder_collections(w.admin, w.program.id, [c.id, a.id, b.id])
    assert _names(ordered) == ["C", "A", "B"]
    assert _names(w.collections()) == ["C", "A", "B"]
    assert [x.position for x in w.collections()] == [0, 1, 2]
    assert len(w.audit("curriculum.reorder")) == 3
    for bad in ([c.id, a.id], [c.id, a.id, b.id, b.id], [c.id, a.id, "nope"]):
        with pytest.raises(ValidationError, match="field 'collection_ids'"):
            w.cur.reorder_collections(w.admin, w.program.id, bad)
    assert _names(w.collections()) == ["C", "A", "B"]


# --- entries ------------------------------------------------------------------------------------


def test_add_a_course_to_several_collections_at_once(w: World) -> None:
    a, _, c = (w.cur.create_collection(w.admin, w.program.id, n) for n in "ABC")
    spec = CollectionEntry.specialization(w.spec.id)
    changed = w.cur.add_entries(w.admin, w.program.id, [c.id, a.id], [w.course(2), spec])
    assert [x.id for x in changed] == [c.id, a.id]
    listed = {x.name: x.entries for x in w.collections()}
    assert listed == {"A": (w.course(2), spec), "B": (), "C": (w.course(2), spec)}
    assert len(w.audit("collection.add")) == 2


def test_an_entry_already_in_a_collection_is_a_conflict_and_nothing_changes(w: World) -> None:
    a, b = (w.cur.create_collection(w.admin, w.program.id, n) for n in "AB")
    w.cur.add_entries(w.admin, w.program.id, [b.id], [w.course(0)])
    with pytest.raises(ConflictError, match="already"):
        w.cur.add_entries(w.admin, w.program.id, [a.id, b.id], [w.course(0)])
    assert [x.entries for x in w.collections()] == [(), (w.course(0),)]
    assert len(w.audit("collection.add")) == 1


def test_add_entries_names_what_is_missing(w: World) -> None:
    coll = w.cur.create_collection(w.admin, w.program.id, "A")
    other = w.lp.programs.create_program(w.admin, w.org.id, "Other", slug="other")
    foreign = w.cur.create_collection(w.admin, other.id, "Elsewhere")
    with pytest.raises(NotFoundError, match="course 'nope'"):
        w.cur.add_entries(w.admin, w.program.id, [coll.id], [CollectionEntry.course("nope")])
    with pytest.raises(NotFoundError, match="specialization"):
        w.cur.add_entries(
            w.admin, w.program.id, [coll.id], [CollectionEntry.specialization(w.courses[0].id)]
        )
    with pytest.raises(NotFoundError, match="collection"):
        w.cur.add_entries(w.admin, w.program.id, [foreign.id], [w.course(0)])
    with pytest.raises(ValidationError, match="field 'collection_ids'"):
        w.cur.add_entries(w.admin, w.program.id, [], [w.course(0)])
    with pytest.raises(ValidationError, match="field 'entries'"):
        w.cur.add_entries(w.admin, w.program.id, [coll.id], [w.course(0), w.course(0)])
    with pytest.raises(ValidationError, match="field 'entries'"):
        w.cur.add_entries(w.admin, w.program.id, [coll.id], [w.courses[0].id])  # type: ignore[list-item]
    assert w.cur.list_collections(w.admin, w.program.id)[0].entries == ()


def test_a_course_of_another_organization_cannot_be_added(w: World) -> None:
    other = w.lp.organizations.create_organization(
        SYSTEM,
        "Globex",
        email_domains=["globex.example"],
        admin_name="Bia",
        admin_email="bia@globex.example",
    )
    bia = w.lp.organizations.resolve_actor(SYSTEM, other.id, "bia@globex.example")
    theirs = w.lp.programs.add_course(bia, other.id, course_id="G1", slug="g-one", name="G")
    coll = w.cur.create_collection(w.admin, w.program.id, "A")
    with pytest.raises(NotFoundError):
        w.cur.add_entries(w.admin, w.program.id, [coll.id], [CollectionEntry.course(theirs.id)])


def test_move_a_course_between_collections(w: World) -> None:
    a, b = (w.cur.create_collection(w.admin, w.program.id, n) for n in "AB")
    w.cur.add_entries(w.admin, w.program.id, [a.id], [w.course(0), w.course(1), w.course(2)])
    w.cur.add_entries(w.admin, w.program.id, [b.id], [w.course(2)])
    source, target = w.cur.move_entry(
        w.admin, w.course(1), from_collection_id=a.id, to_collection_id=b.id, position=0
    )
    assert source.entries == (w.course(0), w.course(2))
    assert target.entries == (w.course(1), w.course(2))
    assert [x.entries for x in w.collections()] == [source.entries, target.entries]
    assert {e.object_id for e in w.audit("collection.move")} == {a.id, b.id}
    with pytest.raises(ConflictError):  # course 2 is in B already
        w.cur.move_entry(w.admin, w.course(2), from_collection_id=a.id, to_collection_id=b.id)
    with pytest.raises(NotFoundError):  # course 1 is not in A any more
        w.cur.move_entry(w.admin, w.course(1), from_collection_id=a.id, to_collection_id=b.id)
    with pytest.raises(ValidationError, match="field 'to_collection_id'"):
        w.cur.move_entry(w.admin, w.course(0), from_collection_id=a.id, to_collection_id=a.id)
    assert [x.entries for x in w.collections()] == [source.entries, target.entries]


def test_move_stays_within_one_program(w: World) -> None:
    a = w.cur.create_collection(w.admin, w.program.id, "A")
    w.cur.add_entries(w.admin, w.program.id, [a.id], [w.course(0)])
    other = w.lp.programs.create_program(w.admin, w.org.id, "Other", slug="other")
    elsewhere = w.cur.create_collection(w.admin, other.id, "Elsewhere")
    with pytest.raises(ValidationError, match="different programs"):
        w.cur.move_entry(
            w.admin, w.course(0), from_collection_id=a.id, to_collection_id=elsewhere.id
        )


def test_copy_a_course_between_collections(w: World) -> None:
    a, b = (w.cur.create_collection(w.admin, w.program.id, n) for n in "AB")
    w.cur.add_entries(w.admin, w.program.id, [a.id], [w.course(0)])
    copied = w.cur.copy_entry(w.admin, w.course(0), from_collection_id=a.id, to_collection_id=b.id)
    assert copied.entries == (w.course(0),)
    assert [x.entries for x in w.collections()] == [(w.course(0),), (w.course(0),)]
    with pytest.raises(ConflictError):
        w.cur.copy_entry(w.admin, w.course(0), from_collection_id=a.id, to_collection_id=b.id)
    with pytest.raises(NotFoundError):
        w.cur.copy_entry(w.admin, w.course(1), from_collection_id=a.id, to_collection_id=b.id)
    assert [e.object_id for e in w.audit("collection.copy")] == [b.id]


def test_remove_a_course_from_a_collection(w: World) -> None:
    a = w.cur.create_collection(w.admin, w.program.id, "A")
    w.cur.add_entries(w.admin, w.program.id, [a.id], [w.course(0), w.course(1), w.course(2)])
    after = w.cur.remove_entry(w.admin, a.id, w.course(1))
    assert after.entries == (w.course(0), w.course(2))
    assert w.collections()[0].entries == (w.course(0), w.course(2))
    with pytest.raises(NotFoundError):
        w.cur.remove_entry(w.admin, a.id, w.course(1))
    [entry] = w.audit("collection.remove")
    assert len(entry.changes["entries"][0]) == 3
    assert len(entry.changes["entries"][1]) == 2


def test_reorder_the_entries_of_a_collection(w: World) -> None:
    a = w.cur.create_collection(w.admin, w.program.id, "A")
    spec = CollectionEntry.specialization(w.spec.id)
    w.cur.add_entries(w.admin, w.program.id, [a.id], [w.course(0), spec, w.course(2)])
    after = w.cur.reorder_entries(w.admin, a.id, [w.course(2), w.course(0), spec])
    assert w.collections()[0].entries == after.entries == (w.course(2), w.course(0), spec)
    with pytest.raises(ValidationError, match="field 'entries'"):
        w.cur.reorder_entries(w.admin, a.id, [w.course(2), w.course(0)])
    assert len(w.audit("collection.reorder")) == 1


def test_a_removed_program_refuses_curriculum_changes(w: World) -> None:
    a = w.cur.create_collection(w.admin, w.program.id, "A")
    w.cur.add_entries(w.admin, w.program.id, [a.id], [w.course(0)])
    w.lp.invitations.remove_program(w.admin, w.program.id, confirm="data-academy")
    refused: list[Callable[[], object]] = [
        lambda: w.cur.create_collection(w.admin, w.program.id, "B"),
        lambda: w.cur.update_collection(w.admin, a.id, name="B"),
        lambda: w.cur.delete_collection(w.admin, a.id),
        lambda: w.cur.add_entries(w.admin, w.program.id, [a.id], [w.course(1)]),
        lambda: w.cur.remove_entry(w.admin, a.id, w.course(0)),
        lambda: w.cur.reorder_entries(w.admin, a.id, [w.course(0)]),
        lambda: w.cur.reorder_collections(w.admin, w.program.id, [a.id]),
    ]
    for call in refused:
        with pytest.raises(ValidationError, match="removed"):
            call()
    assert w.collections()[0].entries == (w.course(0),)  # still readable, unchanged
    assert w.cur.preview_program(w.admin, w.program.id).collections[0].name == "A"


# --- preview ------------------------------------------------------------------------------------


def test_preview_shows_what_learners_see(w: World) -> None:
    w.lp.programs.update_banner(w.admin, w.program.id, "https://cdn.acme.example/b.png")
    start, more = (w.cur.create_collection(w.admin, w.program.id, n) for n in ("Start", "More"))
    spec = CollectionEntry.specialization(w.spec.id)
    w.cur.add_entries(w.admin, w.program.id, [start.id], [w.course(1), spec])
    w.cur.add_entries(w.admin, w.program.id, [more.id], [w.course(1)])
    w.cur.reorder_collections(w.admin, w.program.id, [more.id, start.id])
    preview = w.cur.preview_program(w.admin, w.program.id)
    assert (preview.name, preview.tagline, preview.banner_url) == (
        "Data Academy",
        "Learn with data",
        "https://cdn.acme.example/b.png",
    )
    assert preview.course_enrollment_limit == 3
    assert [c.name for c in preview.collections] == ["More", "Start"]
    assert [(e.kind, e.target_id, e.name, e.slug) for e in preview.collections[1].entries] == [
        (EntryKind.COURSE, w.courses[1].id, "Course 1", "course-1"),
        (EntryKind.SPECIALIZATION, w.spec.id, "Data Spec", "data-spec"),
    ]
    assert preview.collections[0].entries == preview.collections[1].entries[:1]


def test_preview_of_an_empty_curriculum(w: World) -> None:
    preview = w.cur.preview_program(w.admin, w.program.id)
    assert preview.collections == ()
    assert preview.banner_url is None


# --- banner -------------------------------------------------------------------------------------

URL = "https://cdn.acme.example/banner.png"


def test_a_960_by_300_banner_has_no_warning(w: World, tmp_path: Path) -> None:
    path = tmp_path / "banner.png"
    path.write_bytes(png(960, 300))
    for image in (png(960, 300), path, str(path), io.BytesIO(png(960, 300))):
        result = w.lp.programs.update_banner(w.admin, w.program.id, URL, image=image)
        assert result.warnings == ()
        assert result.program.banner_url == URL
    assert w.lp.programs.get_program(w.admin, w.program.id).banner_url == URL


def test_another_size_is_stored_with_a_warning(w: World) -> None:
    result = w.lp.programs.update_banner(w.admin, w.program.id, URL, image=png(1200, 400))
    assert result.program.banner_url == URL
    assert len(result.warnings) == 1
    assert "1200x400" in result.warnings[0]
    assert "960x300" in result.warnings[0]
    assert w.lp.programs.get_program(w.admin, w.program.id).banner_url == URL
    [entry] = [
        e
        for e in w.lp.audit.entries(w.admin, w.org.id, program_id=w.program.id)
        if e.action == "program.update"
    ]
    assert entry.changes["banner_url"] == [None, URL]


def test_an_unreadable_image_is_refused_and_nothing_changes(w: World, tmp_path: Path) -> None:
    for image in (b"not an image", tmp_path / "missing.png", png(960, 300)[:20]):
        with pytest.raises(ValidationError, match="field 'image'"):
            w.lp.programs.update_banner(w.admin, w.program.id, URL, image=image)
    with pytest.raises(ValidationError, match="field 'image'"):
        w.lp.programs.update_banner(w.admin, w.program.id, None, image=png(960, 300))
    assert w.lp.programs.get_program(w.admin, w.program.id).banner_url is None


def test_the_banner_is_cleared_with_none(w: World) -> None:
    w.lp.programs.update_banner(w.admin, w.program.id, URL)
    result = w.lp.programs.update_banner(w.admin, w.program.id, None)
    assert result.program.banner_url is None


# --- catalog import -----------------------------------------------------------------------------

CATALOG = (
    "Course ID,Course Slug,Course,University,Class Start Time,Class End Time\n"
    "daG-a-01EeijKBISCWxf6g,ai-for-everyone,AI For Everyone,deeplearning.ai,"
    "2020-01-06T08:00:00.000Z,2020-03-06T08:00:00Z\n"
    "X2,python-basics,Python Basics,,,\n"
)


def _import(w: World, data: str | bytes, **kwargs: int) -> list[CourseRowResult]:
    raw = data.encode() if isinstance(data, str) else data
    with w.cur.import_courses(w.admin, w.org.id, raw, **kwargs) as run:  # type: ignore[arg-type]
        return list(run)


def test_import_creates_courses_with_their_report_fields(w: World) -> None:
    results = _import(w, CATALOG)
    assert [(r.line, r.outcome) for r in results] == [(2, "created"), (3, "created")]
    courses = {c.course_id: c for c in w.lp.programs.list_courses(w.admin, w.org.id)}
    ai = courses["daG-a-01EeijKBISCWxf6g"]
    assert (ai.slug, ai.name, ai.partner) == (
        "ai-for-everyone",
        "AI For Everyone",
        "deeplearning.ai",
    )
    assert ai.class_start is not None
    assert ai.class_start.isoformat() == "2020-01-06T08:00:00+00:00"
    assert ai.class_end is not None
    assert ai.class_end.isoformat() == "2020-03-06T08:00:00+00:00"
    assert courses["X2"].partner is None
    assert courses["X2"].class_start is None
    assert results[0].record_id == ai.id
    added = [
        e for e in w.lp.audit.entries(w.admin, w.org.id, limit=100) if e.action == "course.add"
    ]
    assert {e.object_id for e in added} >= {ai.id, courses["X2"].id}


def test_importing_twice_changes_nothing(w: World) -> None:
    first = _import(w, CATALOG)
    audit_before = len(w.lp.audit.entries(w.admin, w.org.id, limit=1000))
    catalog_before = w.lp.programs.list_courses(w.admin, w.org.id)
    second = _import(w, CATALOG)
    assert [r.outcome for r in second] == ["already_in_catalog", "already_in_catalog"]
    assert [r.record_id for r in second] == [r.record_id for r in first]
    assert w.lp.programs.list_courses(w.admin, w.org.id) == catalog_before
    assert len(w.lp.audit.entries(w.admin, w.org.id, limit=1000)) == audit_before


def test_import_names_the_line_and_column_of_each_rejected_row(w: World) -> None:
    data = (
        # semicolons, no University column
        "Course ID;Course Slug;Course;Class Start Time;Class End Time\n"
        "A1;a-one;One;;\n"
        ";no-id;No ID;;\n"
        "A3;Not A Slug!;Bad slug;;\n"
        "A4;a-four;Naive;2020-01-06T08:00:00;\n"
        "A5;a-five;Backwards;2020-02-01T00:00:00Z;2020-01-01T00:00:00Z\n"
        "A6;course-0;Slug of C0;;\n"
        "A7;a-one;Slug of line 2;;\n"
        "A1;a-one;One again;;\n"
        "A9;a-nine;Not a time;tomorrow;\n"
        "A10;a-ten;;;\n"
    )
    results = {r.line: r for r in _import(w, data, chunk_size=3)}
    assert results[2].outcome == "created"
    rejected = {n: r.reason for n, r in results.items() if r.outcome == "rejected"}
    assert sorted(rejected) == [3, 4, 5, 6, 7, 8, 10, 11]
    assert (rejected[3] or "").startswith("Course ID:")
    assert (rejected[4] or "").startswith("Course Slug:")
    assert "UTC offset" in (rejected[5] or "")
    assert (rejected[5] or "").startswith("Class Start Time:")
    assert (rejected[6] or "").startswith("Class End Time:")
    assert "C0" in (rejected[7] or "")
    assert "line 2" in (rejected[8] or "")
    assert (rejected[10] or "").startswith("Class Start Time:")
    assert (rejected[11] or "").startswith("Course:")
    assert (results[9].outcome, results[9].duplicate_of) == ("duplicate", 2)
    ids = {c.course_id for c in w.lp.programs.list_courses(w.admin, w.org.id)}
    assert ids == {"C0", "C1", "C2", "A1"}


def test_import_totals_progress_and_dry_run(w: World) -> None:
    seen: list[int] = []
    run = w.cur.import_courses(
        w.admin, w.org.id, CATALOG.encode(), dry_run=True, progress=seen.append
    )
    totals = run.run()
    assert (totals.lines, totals.created) == (2, 2)
    assert seen == [2]
    assert len(w.lp.programs.list_courses(w.admin, w.org.id)) == 3  # nothing stored


def test_import_refuses_a_file_without_the_required_columns(w: World) -> None:
    with pytest.raises(ValidationError, match="Course Slug") as caught:
        w.cur.import_courses(w.admin, w.org.id, b"Course ID,Course\nA,B\n")
    assert caught.value.line == 1


def test_each_chunk_of_an_import_is_stored_whole_or_not_at_all() -> None:
    store = InMemoryStore()
    calls = {"n": 0}

    def failing_second_chunk() -> InMemoryUnitOfWork:
        uow = store.unit_of_work()
        add_many = uow.audit.add_many

        def audit_add_many(entries: Sequence[AuditEntry]) -> None:
            if any(e.action == "course.add" for e in entries):
                calls["n"] += 1
                if calls["n"] == 2:
                    raise StorageError("disk full")
            add_many(entries)

        uow.audit.add_many = audit_add_many  # type: ignore[method-assign]
        return uow

    lp = learnprog.connect(uow_factory=failing_second_chunk)
    w = World(lp)
    data = "Course ID,Course Slug,Course\n" + "".join(f"N{n},n-{n},N {n}\n" for n in range(4))
    run = w.cur.import_courses(w.admin, w.org.id, data.encode(), chunk_size=2)
    done: list[CourseRowResult] = []
    with pytest.raises(StorageError), run:
        done.extend(run)
    assert [r.line for r in done] == [2, 3]
    stored = sorted(c.course_id for c in lp.programs.list_courses(w.admin, w.org.id))
    assert stored == ["C0", "C1", "C2", "N0", "N1"]  # the second chunk left nothing behind


def test_specializations_from_a_file(lp: learnprog.Learnprog) -> None:
    w = World(lp)
    admin, org_id = w.admin, w.org.id
    for code, slug in (("S1", "s-one"), ("S2", "s-two"), ("S3", "s-three")):
        lp.programs.add_course(admin, org_id, course_id=code, slug=slug, name=code, partner="Uni")
    lp.programs.add_course(admin, org_id, course_id="X9", slug="x-nine", name="X", partner="Other")
    text = (
        (
            "Specialization Slug;Specialization;Course IDs\n"
            "data-track;Data Track;S1; S2\n"
            "mixed;Mixed;S1;X9\n"
            "ghost;Ghost;C9\n"
            "data-track;Again;S3\n"
        )
        .replace("S1; S2", '"S1; S2"')
        .replace("S1;X9", '"S1;X9"')
    )
    results = lp.programs.import_specializations(admin, org_id, text.encode())
    assert [(r.line, r.outcome) for r in results] == [
        (2, "created"),
        (3, "rejected"),
        (4, "rejected"),
        (5, "already_in_catalog"),
    ]
    assert "same partner" in str(results[1].reason)
    assert str(results[2].reason).startswith("Course IDs")
    spec = next(
        x for x in lp.programs.list_specializations(admin, org_id) if x.slug == "data-track"
    )
    assert (spec.name, len(spec.course_ids)) == ("Data Track", 2)
    again = lp.programs.import_specializations(admin, org_id, text.encode())
    assert next(r.outcome for r in again) == "already_in_catalog"


def test_the_banner_checks_rights_before_reading_the_image(
    lp: learnprog.Learnprog, tmp_path: Path
) -> None:
    w = World(lp)
    stranger = lp.organizations.register_learner(
        learnprog.SystemActor(), w.org.id, "Sam", "sam@acme.example"
    )
    learner = learnprog.LearnerActor(w.org.id, stranger.id)
    for probe in (tmp_path / "missing.png", tmp_path):
        with pytest.raises(learnprog.PermissionDeniedError):
            lp.programs.update_banner(
                learner, w.program.id, "https://cdn.example/b.png", image=probe
            )
