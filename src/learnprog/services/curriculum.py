"""CurriculumService: a program's collections of courses and specializations, and its preview.

Sources: guide, "Managing Curriculum" (the Curriculum page lists the program's collections; "+
Collection" with a name and description; "+ Courses" into one or more collections; move, copy
and delete courses from collection to collection; drag to reorder courses and collections) and
"Your Admin Home Page" (SETTINGS: "reorder the curriculum"; PREVIEW PROGRAM: "what your learners
will see when they join the program").

Rules:

- Organization admins and the program's admins change and read its curriculum; a removed
  program (``removed_at`` set) refuses every change.
- A course or specialization is at most once in a collection (ConflictError) and may be in
  several collections of the program. Entries name catalog records of the program's
  organization (by record ID, see :class:`~learnprog.model.CollectionEntry`).
- Positions stay dense: the program's collections are 0..n-1, a collection's entries are in
  tuple order. Deleting a collection or moving an entry closes the gap.
- Every change is one audit entry per collection changed (object type ``collection``):
  ``collection.create``, ``collection.update``, ``collection.delete``, ``collection.add``,
  ``collection.move``, ``collection.copy``, ``collection.remove``, ``collection.reorder``
  (entries) and ``curriculum.reorder`` (a collection's position).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TypeVar

from attrs import frozen

from learnprog.csvfiles import CsvSource, read_csv
from learnprog.errors import NotFoundError, ValidationError
from learnprog.model._rules import record_id, str_items, whole_number
from learnprog.model.access import Actor
from learnprog.model.catalog import Collection, CollectionEntry, EntryKind
from learnprog.model.organization import Program
from learnprog.services._base import UNSET, Service, _Unset
from learnprog.services.course_import import COLUMNS, OPTIONAL_COLUMNS, CourseImport
from learnprog.storage.ports import UnitOfWork

_T = TypeVar("_T")


@frozen
class PreviewEntry:
    """One course or specialization as the preview shows it.

    Attributes:
        kind: course or specialization.
        target_id: its catalog record ID.
        name: its name.
        slug: its slug (the Course Slug or Specialization Slug).
        course_id: a course's Course ID (the guide's catalog code); ``None`` for a
            specialization.
    """

    kind: EntryKind
    target_id: str
    name: str
    slug: str
    course_id: str | None = None


@frozen
class PreviewCollection:
    """One collection of the preview, with its entries in order.

    Attributes:
        id: the collection's record ID.
        name: collection name.
        description: its description, or None.
        entries: its courses and specializations, in order.
    """

    id: str
    name: str
    description: str | None
    entries: tuple[PreviewEntry, ...]


@frozen
class ProgramPreview:
    """What a program's learners see when they join it (guide, "PREVIEW PROGRAM").

    The same for every learner: the program's settings and its curriculum. What one learner may
    still enroll in is :meth:`LearningService.program_for_learner
    <learnprog.services.learning.LearningService.program_for_learner>`.

    Attributes:
        program_id: the program.
        name: program name.
        tagline: the tagline, or None.
        banner_url: the banner image URL, or None.
        course_enrollment_limit: current course enrollments allowed per learner, or None for
            no limit.
        collections: the collections in order, each with its entries in order.
    """

    program_id: str
    name: str
    tagline: str | None
    banner_url: str | None
    course_enrollment_limit: int | None
    collections: tuple[PreviewCollection, ...]


class CurriculumService(Service):
    """A program's curriculum (collections), the catalog import, and the program preview."""

    # --- collections ------------------------------------------------------------------------

    def create_collection(
        self, actor: Actor, program_id: str, name: str, *, description: str | None = None
    ) -> Collection:
        """Create an empty collection at the end of a program's curriculum (guide, "+ Collection").

        Args:
            actor: an admin of the program (or an organization admin).
            program_id: the program.
            name: the COLLECTION NAME, one line of 1-200 characters.
            description: the DESCRIPTION, or None.

        Returns:
            The new collection, positioned after the program's other collections.

        Raises:
            NotFoundError: no such program.
            PermissionDeniedError: not an admin of the program.
            ValidationError: a blank name, or the program was removed.
        """
        with self._changing(program_id) as uow:
            program = self._program(uow, actor, program_id, "change the curriculum")
            position = len(uow.collections.list_for_program(program.id))
            collection = Collection.create(
                program.id, name, description=description, position=position
            )
            uow.collections.add(collection)
            self._audit_created(
                uow,
                actor,
                "collection.create",
                collection,
                organization_id=program.organization_id,
                program_id=program.id,
            )
            uow.commit()
        return collection

    def update_collection(
        self,
        actor: Actor,
        collection_id: str,
        *,
        name: str | _Unset = UNSET,
        description: str | _Unset | None = UNSET,
    ) -> Collection:
        """Rename a collection or change its description (None clears the description).

        Raises:
            NotFoundError: no such collection.
            PermissionDeniedError: not an admin of its program.
            ValidationError: a blank name, or the program was removed.
        """
        given = {
            k: v
            for k, v in {"name": name, "description": description}.items()
            if not isinstance(v, _Unset)
        }
        with self._changing(self._program_of(collection_id)) as uow:
            program, before = self._collection(uow, actor, collection_id)
            after = before.with_details(**given)
            self._save(uow, actor, "collection.update", program, before, after)
            uow.commit()
        return after

    def delete_collection(self, actor: Actor, collection_id: str) -> Collection:
        """Delete a collection (its courses stay in the catalog and in other collections).

        The later collections move up one place, so positions stay 0..n-1.

        Returns:
            The collection as it was before deletion.

        Raises:
            NotFoundError: no such collection.
            PermissionDeniedError: not an admin of its program.
            ValidationError: the program was removed.
        """
        with self._changing(self._program_of(collection_id)) as uow:
            program, collection = self._collection(uow, actor, collection_id)
            uow.collections.remove(collection.id)
            self._audit(
                uow,
                actor,
                action="collection.delete",
                organization_id=program.organization_id,
                object_type="collection",
                object_id=collection.id,
                before=collection,
                after=None,
                program_id=program.id,
            )
            self._renumber(uow, actor, program, uow.collections.list_for_program(program.id))
            uow.commit()
        return collection

    def list_collections(self, actor: Actor, program_id: str) -> Sequence[Collection]:
        """Return a program's collections in order, each with its entries in order.

        Raises:
            NotFoundError: no such program.
            PermissionDeniedError: not an admin of the program.
        """
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "read the curriculum", change=False)
            return uow.collections.list_for_program(program.id)

    def reorder_collections(
        self, actor: Actor, program_id: str, collection_ids: Sequence[str]
    ) -> Sequence[Collection]:
        """Put a program's collections in a new order (guide, "drag to rearrange ... ordering").

        Args:
            actor: an admin of the program.
            program_id: the program.
            collection_ids: every collection of the program, each once, in the new order.

        Returns:
            The collections in their new order (positions 0..n-1).

        Raises:
            NotFoundError: no such program.
            PermissionDeniedError: not an admin of the program.
            ValidationError: ``collection_ids`` is not exactly the program's collections, or
                the program was removed.
        """
        wanted = str_items(collection_ids, field="collection_ids", max_length=255)
        with self._changing(program_id) as uow:
            program = self._program(uow, actor, program_id, "change the curriculum")
            current = {c.id: c for c in uow.collections.list_for_program(program.id)}
            if len(set(wanted)) != len(wanted) or set(wanted) != set(current):
                raise ValidationError(
                    "give every collection of the program exactly once, in the new order",
                    field="collection_ids",
                )
            ordered = self._renumber(uow, actor, program, [current[i] for i in wanted])
            uow.commit()
        return ordered

    # --- entries ----------------------------------------------------------------------------

    def add_entries(
        self,
        actor: Actor,
        program_id: str,
        collection_ids: Sequence[str],
        entries: Sequence[CollectionEntry],
    ) -> Sequence[Collection]:
        """Add courses or specializations to one or more collections (guide, "+ Courses").

        Each entry goes at the end of each collection, in the order given. All or nothing: an
        entry already in one of the collections changes nothing anywhere.

        Args:
            actor: an admin of the program.
            program_id: the program.
            collection_ids: the collections of the program to add to (at least one).
            entries: the catalog courses and specializations (at least one), e.g.
                ``[CollectionEntry.course(course.id)]``.

        Returns:
            The changed collections, in the order of ``collection_ids``.

        Raises:
            NotFoundError: no such program, a collection not in it, or a course or
                specialization not in the organization's catalog.
            PermissionDeniedError: not an admin of the program.
            ConflictError: an entry is in one of the collections already.
            ValidationError: an empty or repeating list, or the program was removed.
        """
        ids = _distinct(
            str_items(collection_ids, field="collection_ids", max_length=255), "collection_ids"
        )
        items = _distinct(tuple(_entry(e, "entries") for e in _sequence(entries)), "entries")
        with self._changing(program_id) as uow:
            program = self._program(uow, actor, program_id, "change the curriculum")
            collections = [self._in_program(uow, program, i) for i in ids]
            for entry in items:
                self._check_target(uow, program, entry)
            changed = []
            for before in collections:
                after = before
                for entry in items:
                    after = after.adding(entry)
                self._save(uow, actor, "collection.add", program, before, after)
                changed.append(after)
            uow.commit()
        return changed

    def move_entry(
        self,
        actor: Actor,
        entry: CollectionEntry,
        *,
        from_collection_id: str,
        to_collection_id: str,
        position: int | None = None,
    ) -> tuple[Collection, Collection]:
        """Move a course or specialization from one collection to another of the same program.

        Args:
            actor: an admin of the program.
            entry: the course or specialization.
            from_collection_id: the collection it is in.
            to_collection_id: the collection it goes to.
            position: its place there, from 0; default the end.

        Returns:
            (the source collection, the target collection), as stored now.

        Raises:
            NotFoundError: a collection does not exist, or the entry is not in the source.
            PermissionDeniedError: not an admin of the program.
            ConflictError: the entry is in the target collection already.
            ValidationError: the same collection twice, collections of two programs, a
                position past the end, or the program was removed.
        """
        item = _entry(entry, "entry")
        with self._changing(self._program_of(from_collection_id, "from_collection_id")) as uow:
            program, source, target = self._pair(uow, actor, from_collection_id, to_collection_id)
            new_source = source.without(item)
            new_target = target.adding(item, position)
            self._save(uow, actor, "collection.move", program, source, new_source)
            self._save(uow, actor, "collection.move", program, target, new_target)
            uow.commit()
        return new_source, new_target

    def copy_entry(
        self,
        actor: Actor,
        entry: CollectionEntry,
        *,
        from_collection_id: str,
        to_collection_id: str,
        position: int | None = None,
    ) -> Collection:
        """Copy a course or specialization from one collection into another of the same program.

        Args:
            actor: an admin of the program.
            entry: the course or specialization (it stays in the source too).
            from_collection_id: the collection it is in.
            to_collection_id: the collection it is copied to.
            position: its place there, from 0; default the end.

        Returns:
            The target collection as stored now.

        Raises:
            NotFoundError: a collection does not exist, or the entry is not in the source.
            PermissionDeniedError: not an admin of the program.
            ConflictError: the entry is in the target collection already.
            ValidationError: the same collection twice, collections of two programs, a
                position past the end, or the program was removed.
        """
        item = _entry(entry, "entry")
        with self._changing(self._program_of(from_collection_id, "from_collection_id")) as uow:
            program, source, target = self._pair(uow, actor, from_collection_id, to_collection_id)
            if item not in source.entries:
                raise NotFoundError(
                    "collection entry", (source.id, item.kind.value, item.target_id)
                )
            after = target.adding(item, position)
            self._save(uow, actor, "collection.copy", program, target, after)
            uow.commit()
        return after

    def remove_entry(self, actor: Actor, collection_id: str, entry: CollectionEntry) -> Collection:
        """Delete a course or specialization from a collection (not from the catalog).

        Returns:
            The collection as stored now; the later entries moved up.

        Raises:
            NotFoundError: no such collection, or the entry is not in it.
            PermissionDeniedError: not an admin of its program.
            ValidationError: the program was removed.
        """
        item = _entry(entry, "entry")
        with self._changing(self._program_of(collection_id)) as uow:
            program, before = self._collection(uow, actor, collection_id)
            after = before.without(item)
            self._save(uow, actor, "collection.remove", program, before, after)
            uow.commit()
        return after

    def reorder_entries(
        self, actor: Actor, collection_id: str, entries: Sequence[CollectionEntry]
    ) -> Collection:
        """Put a collection's courses and specializations in a new order.

        Args:
            actor: an admin of the program.
            collection_id: the collection.
            entries: every entry of the collection, each once, in the new order.

        Raises:
            NotFoundError: no such collection.
            PermissionDeniedError: not an admin of its program.
            ValidationError: ``entries`` is not exactly the collection's entries, or the
                program was removed.
        """
        items = tuple(_entry(e, "entries") for e in _sequence(entries))
        with self._changing(self._program_of(collection_id)) as uow:
            program, before = self._collection(uow, actor, collection_id)
            after = before.reordered(items)
            self._save(uow, actor, "collection.reorder", program, before, after)
            uow.commit()
        return after

    # --- catalog import ---------------------------------------------------------------------

    def import_courses(
        self,
        actor: Actor,
        organization_id: str,
        source: CsvSource,
        *,
        encoding: str | None = None,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
        chunk_size: int = 500,
    ) -> CourseImport:
        """Add courses to the organization's catalog from a CSV file.

        Columns by the usage report's names: ``Course ID``, ``Course Slug``, ``Course``
        (required), ``University``, ``Class Start Time``, ``Class End Time`` (optional; ISO
        8601 with ``Z`` or an offset). See :mod:`learnprog.services.course_import` for the
        per-line outcomes. Lines are stored in chunks, each all or nothing; a Course ID already
        in the catalog changes nothing, so importing a file twice changes nothing.

        Args:
            actor: an organization admin.
            organization_id: the catalog's organization.
            source: a path, the file's bytes, or a binary file object.
            encoding: the file's encoding, when known; default decided from the bytes.
            dry_run: report what would happen and change nothing.
            progress: called with the number of lines done after each chunk.
            chunk_size: lines per unit of work (1-1000).

        Returns:
            A :class:`~learnprog.services.course_import.CourseImport`: iterate it (or call
            ``run()``) for each line's result; ``totals`` counts them.

        Raises:
            PermissionDeniedError: not an organization admin.
            NotFoundError: no such organization.
            ValidationError: a file that cannot be opened or decoded, or lacks a required
                column (one error naming every missing column).
        """
        whole_number(chunk_size, field="chunk_size", minimum=1, maximum=1000, allow_none=False)
        if not isinstance(dry_run, bool):
            raise ValidationError("true or false is required", field="dry_run")
        with self._as_org_admin(actor, organization_id, "add courses to the catalog") as (_, org):
            pass
        stack = ExitStack()
        try:
            rows = stack.enter_context(
                read_csv(source, COLUMNS, encoding=encoding, optional=OPTIONAL_COLUMNS)
            )
        except BaseException:
            stack.close()
            raise
        return CourseImport(
            stack=stack,
            rows=rows,
            actor=actor,
            organization_id=org.id,
            uow_factory=self._context.uow_factory,
            now=self._now,
            dry_run=dry_run,
            chunk_size=chunk_size,
            progress=progress,
        )

    # --- preview ----------------------------------------------------------------------------

    def preview_program(self, actor: Actor, program_id: str) -> ProgramPreview:
        """Return what the program's learners see when they join it (guide, "PREVIEW PROGRAM").

        Raises:
            NotFoundError: no such program.
            PermissionDeniedError: not an admin of the program.
        """
        with self._uow() as uow:
            program = self._program(uow, actor, program_id, "preview the program", change=False)
            return program_preview(uow, program)

    # --- helpers ----------------------------------------------------------------------------

    @contextmanager
    def _changing(self, program_id: str) -> Iterator[UnitOfWork]:
        """Open a unit of work that holds the program first, for a change of its curriculum.

        A change reads the program's collections and writes them back (their entries, their
        positions); two at once would each write over the other's change (two courses added
        to one collection at once kept one, two collections created at once took one
        position). Held first, the program makes them take turns, and the second reads what
        the first committed (:meth:`~learnprog.storage.ports.ProgramRepository.lock`).
        """
        with self._uow() as uow:
            if isinstance(program_id, str):  # a bad ID is refused by the first read below
                uow.programs.lock(program_id)
            yield uow

    def _program_of(self, collection_id: str, field: str = "collection_id") -> str:
        """The ID of the collection's program (a collection never changes program).

        Raises:
            NotFoundError: no such collection.
            ValidationError: a malformed ID.
        """
        with self._uow() as uow:
            return uow.collections.get(record_id(collection_id, field=field)).program_id

    def _program(
        self, uow: UnitOfWork, actor: Actor, program_id: str, what: str, *, change: bool = True
    ) -> Program:
        program = super()._program(uow, actor, program_id, what)
        if change and program.is_removed:
            raise ValidationError("the program has been removed", field="program_id")
        return program

    def _collection(
        self, uow: UnitOfWork, actor: Actor, collection_id: str
    ) -> tuple[Program, Collection]:
        collection = uow.collections.get(record_id(collection_id, field="collection_id"))
        program = self._program(uow, actor, collection.program_id, "change the curriculum")
        return program, collection

    def _pair(
        self, uow: UnitOfWork, actor: Actor, from_id: str, to_id: str
    ) -> tuple[Program, Collection, Collection]:
        if record_id(from_id, field="from_collection_id") == record_id(
            to_id, field="to_collection_id"
        ):
            raise ValidationError(
                "the source and target are the same collection", field="to_collection_id"
            )
        program, source = self._collection(uow, actor, from_id)
        target = uow.collections.get(to_id)
        if target.program_id != program.id:
            raise ValidationError(
                "the collections are in different programs", field="to_collection_id"
            )
        return program, source, target

    @staticmethod
    def _in_program(uow: UnitOfWork, program: Program, collection_id: str) -> Collection:
        collection = uow.collections.get(collection_id)
        if collection.program_id != program.id:
            raise NotFoundError("collection", collection_id)
        return collection

    @staticmethod
    def _check_target(uow: UnitOfWork, program: Program, entry: CollectionEntry) -> None:
        if entry.kind is EntryKind.COURSE:
            owner = uow.courses.get(entry.target_id).organization_id
        else:
            owner = uow.specializations.get(entry.target_id).organization_id
        if owner != program.organization_id:  # another organization's catalog
            raise NotFoundError(entry.kind.value, entry.target_id)

    def _save(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: str,
        program: Program,
        before: Collection,
        after: Collection,
    ) -> None:
        """Store a changed collection and put the change on the audit log."""
        uow.collections.update(after)
        self._audit_change(
            uow,
            actor,
            action,
            before,
            after,
            object_type="collection",
            program_id=program.id,
            organization_id=program.organization_id,
        )

    def _renumber(
        self, uow: UnitOfWork, actor: Actor, program: Program, ordered: Sequence[Collection]
    ) -> list[Collection]:
        """Give ``ordered`` the positions 0..n-1, storing and auditing those that moved."""
        result = []
        for position, before in enumerate(ordered):
            after = before.at(position)
            if after != before:
                self._save(uow, actor, "curriculum.reorder", program, before, after)
            result.append(after)
        return result


def _sequence(values: object) -> tuple[object, ...]:
    if isinstance(values, str | bytes | CollectionEntry) or not isinstance(values, Sequence):
        raise ValidationError("a list of collection entries is required", field="entries")
    return tuple(values)


def _entry(value: object, field: str) -> CollectionEntry:
    if not isinstance(value, CollectionEntry):
        raise ValidationError(
            "a CollectionEntry is required (CollectionEntry.course(id) or "
            f"CollectionEntry.specialization(id)), not {type(value).__name__}",
            field=field,
            value=value,
        )
    return value


def _distinct(values: tuple[_T, ...], field: str) -> tuple[_T, ...]:
    if not values:
        raise ValidationError("at least one is required", field=field)
    if len(set(values)) != len(values):
        raise ValidationError("an item repeats", field=field)
    return values


def program_preview(uow: UnitOfWork, program: Program) -> ProgramPreview:
    """Build the preview of ``program`` from storage (no permission check: callers do it)."""
    collections = uow.collections.list_for_program(program.id)
    shown: dict[CollectionEntry, PreviewEntry] = {}
    for collection in collections:
        for entry in collection.entries:
            if entry not in shown:
                shown[entry] = _preview_entry(uow, entry)
    return ProgramPreview(
        program.id,
        program.name,
        program.tagline,
        program.banner_url,
        program.course_enrollment_limit,
        tuple(
            PreviewCollection(c.id, c.name, c.description, tuple(shown[e] for e in c.entries))
            for c in collections
        ),
    )


def _preview_entry(uow: UnitOfWork, entry: CollectionEntry) -> PreviewEntry:
    if entry.kind is EntryKind.COURSE:
        course = uow.courses.get(entry.target_id)
        return PreviewEntry(entry.kind, course.id, course.name, course.slug, course.course_id)
    spec = uow.specializations.get(entry.target_id)
    return PreviewEntry(entry.kind, spec.id, spec.name, spec.slug)
