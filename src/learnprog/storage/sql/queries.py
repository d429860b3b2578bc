"""Read queries that aggregate in SQL: the members list, audiences, reports and analytics.

Each function returns one SQLAlchemy statement; the rules it applies are those of
:mod:`learnprog.model.progress`, restated in SQL, and the contract tests check that every backend
answers as the in-memory adapter (which calls the model functions) does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import attrs
import sqlalchemy as sa

from learnprog.model.analytics import AnalyticsScope
from learnprog.model.catalog import EntryKind
from learnprog.model.learner import LearnerProfile, MemberState
from learnprog.model.mail import MessageCategory
from learnprog.model.messaging import (
    LONG_INACTIVE_AFTER,
    RECENT_COMPLETION,
    Audience,
    AudienceFilter,
)
from learnprog.model.organization import ContractKind
from learnprog.model.progress import INACTIVE_AFTER, ActivityStatus, MemberOrder, MemberQuery
from learnprog.storage.sql import tables as t


def _member_aggregates(program_id: str, now: datetime) -> sa.Subquery:
    """Per learner of the program: current course enrollments, completions, last activity, risk."""
    e, p = t.enrollments.c, t.enrollment_progress.c
    current = e.current_target_id.is_not(None)
    risky = sa.and_(current, sa.or_(p.failing.is_(True), p.open_due_at < now))
    return (
        sa.select(
            e.learner_id,
            sa.func.sum(sa.case((current, 1), else_=0)).label("enrollments"),
            sa.func.sum(sa.case((sa.and_(current, p.completed_at.is_not(None)), 1), else_=0)).label(
                "completions"
            ),
            sa.func.max(p.last_activity_at).label("last_activity_at"),
            sa.func.max(sa.case((risky, 1), else_=0)).label("at_risk"),
        )
        .select_from(t.enrollments.outerjoin(t.enrollment_progress, p.enrollment_id == e.id))
        .where(e.program_id == program_id, e.kind == EntryKind.COURSE.value)
        .group_by(e.learner_id)
        .subquery("member_figures")
    )


def _filtered(query: MemberQuery, now: datetime) -> tuple[sa.Select[Any], dict[str, Any]]:
    m, lr = t.memberships.c, t.learners.c
    agg = _member_aggregates(query.program_id, now)
    enrollments = sa.func.coalesce(agg.c.enrollments, 0)
    completions = sa.func.coalesce(agg.c.completions, 0)
    at_risk = sa.func.coalesce(agg.c.at_risk, 0)
    last = agg.c.last_activity_at
    # the inactivity clock starts at the later of joining and the last activity (is_inactive)
    reference = sa.case((sa.and_(last.is_not(None), last > m.joined_at), last), else_=m.joined_at)
    inactive = sa.and_(m.state == MemberState.MEMBER.value, reference <= now - INACTIVE_AFTER)
    columns = [c.label(f"l_{c.name}") for c in t.learners.c] + [
        c.label(f"m_{c.name}") for c in t.memberships.c
    ]
    statement = (
        sa.select(
            *columns,
            enrollments.label("enrollments"),
            completions.label("completions"),
            last.label("last_activity_at"),
            at_risk.label("at_risk"),
        )
        .select_from(
            t.memberships.join(t.learners, lr.id == m.learner_id).outerjoin(
                agg, agg.c.learner_id == m.learner_id
            )
        )
        .where(m.program_id == query.program_id)
    )
    if query.state is not None:
        statement = statement.where(m.state == query.state.value)
    if query.contract_id is not None:
        statement = statement.where(m.contract_id == query.contract_id)
    if query.search is not None:
        statement = statement.where(lr.search_key.contains(query.search, autoescape=True))
    status_filters = {
        ActivityStatus.NO_ENROLLMENT: sa.and_(
            m.state == MemberState.MEMBER.value, enrollments == 0
        ),
        ActivityStatus.ENROLLED: sa.and_(enrollments > 0, completions == 0),
        ActivityStatus.COMPLETED: completions > 0,
        ActivityStatus.INACTIVE: inactive,
        ActivityStatus.AT_RISK: at_risk == 1,
    }
    if query.status is not None:
        statement = statement.where(status_filters[query.status])
    order_values: dict[MemberOrder, sa.ColumnElement[Any]] = {
        MemberOrder.NAME: lr.search_key,
        MemberOrder.EMAIL: lr.email_key,
        MemberOrder.INVITED_AT: m.invited_at,
        MemberOrder.JOINED_AT: m.joined_at,
        MemberOrder.LAST_ACTIVITY: last,
        MemberOrder.ENROLLMENTS: enrollments,
    }
    return statement, {"order": order_values[query.order]}


def _codepoint_order(column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    """Order strings by code point on every backend (PostgreSQL's default is the locale's)."""
    return sa.collate(column, "C") if dialect == "postgresql" else column


def member_page_query(query: MemberQuery, now: datetime, dialect: str) -> sa.Select[Any]:
    """Return the statement for one page of the members list, with a ``total_rows`` column.

    Missing sort values (never joined, no activity) come last in either direction; ties are
    broken by name (the folded search key) and learner ID, in the same direction.
    """
    statement, extra = _filtered(query, now)
    value = extra["order"]
    lr = t.learners.c
    if query.order in (MemberOrder.NAME, MemberOrder.EMAIL):
        value = _codepoint_order(value, dialect)
    keys = [value, _codepoint_order(lr.search_key, dialect), _codepoint_order(lr.id, dialect)]
    ordered = [k.desc() if query.descending else k.asc() for k in keys]
    return (
        statement.add_columns(sa.func.count().over().label("total_rows"))
        .order_by(sa.case((extra["order"].is_(None), 1), else_=0), *ordered)
        .limit(query.limit)
        .offset(query.offset)
    )


def member_page_count(query: MemberQuery, now: datetime) -> sa.Select[Any]:
    """Return a statement counting every row of the members list (column ``total_rows``)."""
    statement, _ = _filtered(query, now)
    return sa.select(sa.func.count().label("total_rows")).select_from(statement.subquery())


_STATE_ONLY = frozenset({Audience.INVITED_NOT_JOINED, Audience.ALL_MEMBERS})
"""Audiences decided by the membership state alone: their query skips the enrollment figures."""


def audience_query(
    organization_id: str,
    audience: Audience,
    filters: AudienceFilter,
    program_scope: Sequence[str] | None,
    now: datetime,
) -> sa.Select[Any]:
    """Return the one statement that resolves a message audience (see ``Audience.includes``).

    One row per membership of the organization that passes the filters and lies in the scope,
    with ``learner_id``, ``program_id``, ``state``, ``opted_out`` (1 when the learner opted out
    of admin messages) and ``in_audience`` (1 when the membership belongs to the audience).
    """
    m, e, p = t.memberships.c, t.enrollments.c, t.enrollment_progress.c
    current = e.current_target_id.is_not(None)
    course = e.kind == EntryKind.COURSE.value
    figures = (
        sa.select(
            e.program_id,
            e.learner_id,
            sa.func.sum(sa.case((sa.and_(current, course), 1), else_=0)).label("courses"),
            sa.func.sum(sa.case((sa.and_(current, sa.not_(course)), 1), else_=0)).label("specs"),
            sa.func.sum(
                sa.case((sa.and_(current, course, p.completed_at.is_not(None)), 1), else_=0)
            ).label("completed"),
            sa.func.max(
                sa.case(
                    (
                        sa.and_(
                            current,
                            course,
                            p.completed_at > now - RECENT_COMPLETION,
                            p.completed_at <= now,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("recent"),
            sa.func.max(sa.case((course, p.last_activity_at))).label("last_activity_at"),
        )
        .select_from(t.enrollments.outerjoin(t.enrollment_progress, p.enrollment_id == e.id))
        .where(e.organization_id == organization_id)
        .group_by(e.program_id, e.learner_id)
        .subquery("audience_figures")
    )
    f = figures.c
    courses = sa.func.coalesce(f.courses, 0)
    specs = sa.func.coalesce(f.specs, 0)
    completed = sa.func.coalesce(f.completed, 0)
    recent = sa.func.coalesce(f.recent, 0)
    last = f.last_activity_at
    reference = sa.case((sa.and_(last.is_not(None), last > m.joined_at), last), else_=m.joined_at)
    member = m.state == MemberState.MEMBER.value
    enrolled = sa.or_(courses > 0, specs > 0)
    rules: dict[Audience, sa.ColumnElement[bool]] = {
        Audience.INVITED_NOT_JOINED: m.state == MemberState.INVITED.value,
        Audience.JOINED_NOT_ENROLLED: sa.and_(member, sa.not_(enrolled)),
        Audience.ENROLLED_NOT_COMPLETED: sa.and_(member, courses > 0, completed == 0),
        Audience.INACTIVE: sa.and_(member, enrolled, reference <= now - INACTIVE_AFTER),
        Audience.LONG_TERM_INACTIVE: sa.and_(member, reference <= now - LONG_INACTIVE_AFTER),
        Audience.RECENT_COMPLETION: sa.and_(member, recent == 1),
        Audience.ALL_MEMBERS: member,
    }
    opted_out = (
        sa.select(t.email_opt_outs.c.learner_id)
        .where(
            t.email_opt_outs.c.learner_id == m.learner_id,
            t.email_opt_outs.c.category == MessageCategory.ADMIN.value,
        )
        .exists()
    )
    statement = (
        sa.select(
            m.learner_id,
            m.program_id,
            m.state,
            sa.case((opted_out, 1), else_=0).label("opted_out"),
            sa.case((rules[audience], 1), else_=0).label("in_audience"),
        )
        .select_from(
            t.memberships.outerjoin(
                figures, sa.and_(f.program_id == m.program_id, f.learner_id == m.learner_id)
            )
            if audience not in _STATE_ONLY
            else t.memberships
        )
        .where(m.organization_id == organization_id)
        .order_by(m.learner_id, m.program_id)
    )
    if program_scope is not None:
        statement = statement.where(m.program_id.in_(list(program_scope)))
    if filters.program_ids:
        statement = statement.where(m.program_id.in_(list(filters.program_ids)))
    if filters.contract_ids:
        statement = statement.where(m.contract_id.in_(list(filters.contract_ids)))
    if filters.learner_ids:
        statement = statement.where(m.learner_id.in_(list(filters.learner_ids)))
    if filters.target_ids:
        e2 = t.enrollments.alias("filter_enrollments")
        statement = statement.where(
            sa.select(e2.c.id)
            .where(
                e2.c.learner_id == m.learner_id,
                e2.c.program_id == m.program_id,
                e2.c.current_target_id.in_(list(filters.target_ids)),
            )
            .exists()
        )
    return statement


# --- reports -----------------------------------------------------------------------------------


def _learner_columns() -> list[sa.ColumnElement[Any]]:
    """The learner's columns as ``l_<name>``; the attributes as the driver gives them.

    A report row repeats its learner (one row per enrollment), and the reader rebuilds a
    learner once per run of rows: the attributes and the creation time are converted then, not
    on every row.
    """
    raw: dict[str, sa.types.TypeEngine[Any]] = {
        "attributes": sa.Text(),  # JSON text, decoded with the learner
        "created_at": sa.types.NullType(),  # the driver's value, made aware with the learner
    }
    return [
        (sa.type_coerce(c, raw[c.name]) if c.name in raw else c).label(f"l_{c.name}")
        for c in t.learners.c
        if c.name != "search_key"  # a lookup key, never shown
    ]


def _progress_columns() -> list[sa.ColumnElement[Any]]:
    return [c.label(f"p_{c.name}") for c in t.enrollment_progress.c if c.name != "enrollment_id"]


def _profile_columns() -> list[sa.ColumnElement[Any]]:
    return [t.learners.c[a.name] for a in attrs.fields(LearnerProfile)]


def enrollment_report_query(
    program_ids: Sequence[str], kind: EntryKind, dialect: str, *, values: bool = False
) -> sa.Select[Any]:
    """Current enrollments of one kind in the programs, with everything a report row shows.

    Columns: the learner (``l_``), the figures (``p_``), the enrollment, its target (course or
    specialization: ``target_name``, ``target_code``, ``target_slug``, ``target_partner``,
    ``class_start``), ``removed``, the program's slug and name, the source collection's name and
    the contract's name. With ``values``, only the report's values instead, in its column
    order (``UsageRecord.values()``, ``SpecializationRecord.values()``). Ordered by program
    slug, email key, target ID and enrollment ID.
    """
    e, m, lr, p = t.enrollments.c, t.memberships.c, t.learners.c, t.enrollment_progress.c
    pr, k, co = t.programs.c, t.contracts.c, t.collections.c
    course = kind is EntryKind.COURSE
    target = t.courses if course else t.specializations
    tc = target.c
    joins = (
        t.enrollments.join(t.learners, lr.id == e.learner_id)
        .join(t.memberships, sa.and_(m.program_id == e.program_id, m.learner_id == e.learner_id))
        .join(t.programs, pr.id == e.program_id)
        .join(t.contracts, k.id == e.contract_id)
        .join(target, tc.id == e.target_id)
        .outerjoin(t.enrollment_progress, p.enrollment_id == e.id)
        .outerjoin(t.collections, co.id == e.source_collection_id)
    )
    # Removed From Program: not an active member now (guide, "Usage Report"), so a removed
    # member invited again and not yet rejoined (INVITED) is Yes too
    removed = m.state != MemberState.MEMBER.value
    columns: list[sa.ColumnElement[Any]]
    if values:
        # no figures stored yet: EnrollmentProgress's zeros; completed: a completion time
        progress = [sa.func.coalesce(p.progress, 0), sa.func.coalesce(p.learning_seconds, 0)]
        columns = [
            lr.full_name, lr.email, lr.external_id, tc.name, *([tc.course_id] if course else []),
            tc.slug, tc.partner, e.enrolled_at, *([tc.class_start] if course else []),
            p.last_activity_at, *(progress if course else []), p.completed_at.is_not(None),
            removed, pr.slug, pr.name, co.name, p.completed_at, *([p.grade] if course else []),
            k.name, *_profile_columns(),
        ]  # fmt: skip
    else:
        if course:
            extra = [tc.course_id.label("target_code"), tc.class_start.label("class_start")]
        else:
            extra = [sa.literal("").label("target_code"), sa.null().label("class_start")]
        columns = [
            *_learner_columns(),
            *_progress_columns(),
            e.id.label("enrollment_id"),
            e.enrolled_at,
            tc.name.label("target_name"),
            tc.slug.label("target_slug"),
            tc.partner.label("target_partner"),
            *extra,
            removed.label("removed"),
            pr.slug.label("program_slug"),
            pr.name.label("program_name"),
            co.name.label("source"),
            k.name.label("contract"),
        ]
    return (
        sa.select(*columns)
        .select_from(joins)
        .where(
            e.program_id.in_(list(program_ids)),
            e.kind == kind.value,
            e.current_target_id.is_not(None),
        )
        .order_by(
            _codepoint_order(pr.slug, dialect),
            _codepoint_order(lr.email_key, dialect),
            _codepoint_order(e.target_id, dialect),
            _codepoint_order(e.id, dialect),
        )
    )


def membership_report_query(
    program_ids: Sequence[str], dialect: str, *, values: bool = False
) -> sa.Select[Any]:
    """Every membership of the programs with its current course counts and last activity.

    With ``values``, only the report's values, in its column order
    (``MembershipRecord.values()``). Ordered by program slug, email key and learner ID.
    """
    m, lr, pr, k = t.memberships.c, t.learners.c, t.programs.c, t.contracts.c
    e, p = t.enrollments.c, t.enrollment_progress.c
    current = e.current_target_id.is_not(None)
    figures = (
        sa.select(
            e.program_id,
            e.learner_id,
            sa.func.sum(sa.case((current, 1), else_=0)).label("enrolled"),
            sa.func.sum(sa.case((sa.and_(current, p.completed_at.is_not(None)), 1), else_=0)).label(
                "completed"
            ),
            sa.func.max(p.last_activity_at).label("last_activity_at"),
        )
        .select_from(t.enrollments.outerjoin(t.enrollment_progress, p.enrollment_id == e.id))
        .where(e.program_id.in_(list(program_ids)), e.kind == EntryKind.COURSE.value)
        .group_by(e.program_id, e.learner_id)
        .subquery("membership_figures")
    )
    f = figures.c
    enrolled = sa.func.coalesce(f.enrolled, 0).label("enrolled")
    completed = sa.func.coalesce(f.completed, 0).label("completed")
    columns: list[sa.ColumnElement[Any]]
    if values:
        columns = [
            lr.full_name, lr.email, lr.external_id, pr.name, pr.slug, enrolled, completed,
            m.state, m.joined_at, m.invited_at, f.last_activity_at, k.name, *_profile_columns(),
        ]  # fmt: skip
    else:
        columns = [
            *_learner_columns(),
            pr.name.label("program_name"),
            pr.slug.label("program_slug"),
            enrolled,
            completed,
            m.state,
            m.joined_at,
            m.invited_at,
            f.last_activity_at,
            k.name.label("contract"),
        ]
    return (
        sa.select(*columns)
        .select_from(
            t.memberships.join(t.learners, lr.id == m.learner_id)
            .join(t.programs, pr.id == m.program_id)
            .join(t.contracts, k.id == m.contract_id)
            .outerjoin(figures, sa.and_(f.program_id == m.program_id, f.learner_id == m.learner_id))
        )
        .where(m.program_id.in_(list(program_ids)))
        .order_by(
            _codepoint_order(pr.slug, dialect),
            _codepoint_order(lr.email_key, dialect),
            _codepoint_order(lr.id, dialect),
        )
    )


def email_figures_query(program_ids: Sequence[str]) -> sa.Select[Any]:
    """The email report's figures: one row, columns named as ``EmailReportFigures``'s fields.

    The hours are given as ``seconds``. One pass over the programs' course enrollments and
    their figures, and one over the memberships: both become rows of one ``UNION ALL``,
    grouped by learner (enrollment rows carry the course, completion, hours, 50% and current
    flags; membership rows the joined, member and removed flags, and ``listed``), then summed.
    Enrollment totals count every learner's rows; learner figures only learners with a
    membership. The distinct courses are one more count over the enrollments.
    """
    m, e, p, lr = t.memberships.c, t.enrollments.c, t.enrollment_progress.c, t.learners.c
    ids = list(program_ids)
    courses = (e.program_id.in_(ids), e.kind == EntryKind.COURSE.value)

    def flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.case((condition, 1), else_=0)

    none = sa.null()
    enrolled = (
        sa.select(
            e.learner_id.label("learner_id"),
            none.label("listed"),
            none.label("joined"),
            none.label("member"),
            none.label("removed"),
            e.target_id.label("target_id"),
            flag(p.completed_at.is_not(None)).label("done"),
            p.learning_seconds.label("seconds"),
            flag(p.progress >= 50).label("half"),
            flag(e.current_target_id.is_not(None)).label("current"),
        )
        .select_from(t.enrollments.outerjoin(t.enrollment_progress, p.enrollment_id == e.id))
        .where(*courses)
    )
    listed = sa.select(
        m.learner_id,
        sa.literal(1),
        flag(m.joined_at.is_not(None)),
        flag(m.state == MemberState.MEMBER.value),
        flag(m.state == MemberState.DELETED_MEMBER.value),
        none,
        none,
        none,
        none,
        none,
    ).where(m.program_id.in_(ids))
    u = sa.union_all(enrolled, listed).subquery("report_rows")
    people = (
        sa.select(
            u.c.learner_id,
            sa.func.max(u.c.listed).label("listed"),
            sa.func.max(u.c.joined).label("joined"),
            sa.func.max(u.c.member).label("member"),
            sa.func.max(u.c.removed).label("removed"),
            sa.func.count(u.c.target_id).label("enrollments"),
            sa.func.sum(u.c.done).label("completions"),
            sa.func.sum(u.c.seconds).label("seconds"),
            sa.func.count(sa.distinct(u.c.target_id)).label("enrolled"),
            sa.func.count(sa.distinct(sa.case((u.c.done == 1, u.c.target_id)))).label("completed"),
            sa.func.max(u.c.half).label("half"),
            sa.func.max(u.c.current).label("current"),
        )
        .group_by(u.c.learner_id)
        .subquery("report_learners")
    )
    x = people.c
    joined = sa.and_(x.listed == 1, x.joined == 1)

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sa.func.sum(flag(condition)), 0)

    def total(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sa.func.sum(column), 0)

    unique_courses = (
        sa.select(sa.func.count(sa.distinct(e.target_id))).where(*courses).scalar_subquery()
    )
    return sa.select(
        total(x.enrollments).label("total_enrollments"),
        unique_courses.label("unique_courses"),
        total(x.completions).label("course_completions"),
        total(sa.case((lr.identity_verified.is_(True), x.completions), else_=0)).label(
            "verified_completions"
        ),
        total(x.seconds).label("seconds"),
        count(joined).label("unique_learners"),
        count(sa.and_(joined, x.enrolled > 0)).label("enrolled_learners"),
        count(sa.and_(x.listed == 1, x.removed == 1)).label("removed_learners"),
        count(sa.and_(x.listed == 1, x.completed > 0)).label("unique_completers"),
        count(sa.and_(joined, x.half == 1)).label("completed_half"),
        count(sa.and_(x.listed == 1, x.member == 1, sa.func.coalesce(x.current, 0) == 0)).label(
            "joined_not_enrolled"
        ),
        count(sa.and_(joined, x.enrolled > 0, x.completed == 0)).label("enrolled_not_completed"),
        count(sa.and_(joined, x.enrolled == 1)).label("enrolled_one"),
        count(sa.and_(joined, x.completed == 1)).label("completed_one"),
        count(sa.and_(joined, x.enrolled == 2)).label("enrolled_two"),
        count(sa.and_(joined, x.completed == 2)).label("completed_two"),
        count(sa.and_(joined, x.enrolled > 2)).label("enrolled_more"),
        count(sa.and_(joined, x.completed > 2)).label("completed_more"),
    ).select_from(people.join(t.learners, lr.id == x.learner_id))


def funnel_query(program_ids: Sequence[str]) -> sa.Select[Any]:
    """The usage funnel: one row of ``invited``, ``joined``, ``enrolled`` (see ``UsageFunnel``)."""
    m, e = t.memberships.c, t.enrollments.c
    joined = m.joined_at.is_not(None)
    has_course = (
        sa.select(e.id)
        .where(
            e.program_id == m.program_id,
            e.learner_id == m.learner_id,
            e.kind == EntryKind.COURSE.value,
        )
        .exists()
    )
    return sa.select(
        sa.func.count().label("invited"),
        sa.func.coalesce(sa.func.sum(sa.case((joined, 1), else_=0)), 0).label("joined"),
        sa.func.coalesce(sa.func.sum(sa.case((sa.and_(joined, has_course), 1), else_=0)), 0).label(
            "enrolled"
        ),
    ).where(m.program_id.in_(list(program_ids)))


def activity_totals_query(program_ids: Sequence[str], since: date, now: datetime) -> sa.Select[Any]:
    """The summary's learning totals: one row (see ``ActivityTotals``).

    Columns ``enrollments``, ``recent_enrollments``, ``seconds``, ``lessons``, ``recent_seconds``
    and ``recent_lessons``; the recent columns sum the ``enrollment_days`` buckets from ``since``
    to the day of ``now``.
    """
    e, p, d = t.enrollments.c, t.enrollment_progress.c, t.enrollment_days.c
    start = datetime.combine(since, time(), tzinfo=UTC)
    in_scope = sa.and_(e.program_id.in_(list(program_ids)), e.kind == EntryKind.COURSE.value)
    days = (
        sa.select(
            sa.func.coalesce(sa.func.sum(d.learning_seconds), 0).label("recent_seconds"),
            sa.func.coalesce(sa.func.sum(d.lessons_taken), 0).label("recent_lessons"),
        )
        .select_from(t.enrollment_days.join(t.enrollments, e.id == d.enrollment_id))
        .where(in_scope, d.day >= since, d.day <= now.astimezone(UTC).date())
        .subquery("recent_days")
    )
    recent = sa.and_(e.enrolled_at >= start, e.enrolled_at <= now)
    totals = (
        sa.select(
            sa.func.count().label("enrollments"),
            sa.func.coalesce(sa.func.sum(sa.case((recent, 1), else_=0)), 0).label(
                "recent_enrollments"
            ),
            sa.func.coalesce(sa.func.sum(p.learning_seconds), 0).label("seconds"),
            sa.func.coalesce(sa.func.sum(p.lessons_taken), 0).label("lessons"),
        )
        .select_from(t.enrollments.outerjoin(t.enrollment_progress, p.enrollment_id == e.id))
        .where(in_scope)
        .subquery("totals")
    )
    return sa.select(totals, days).select_from(totals.join(days, sa.true()))


# --- analytics (guide, "Analytics Reports"; the rules are learnprog.model.analytics) ------------


def _in_range(column: sa.ColumnElement[Any], scope: AnalyticsScope) -> list[sa.ColumnElement[bool]]:
    """``column`` set and in the scope's ``[start, end)``."""
    conditions: list[sa.ColumnElement[bool]] = [column.is_not(None)]
    if scope.start is not None:
        conditions.append(column >= scope.start)
    if scope.end is not None:
        conditions.append(column < scope.end)
    return conditions


def learner_activity_query(scope: AnalyticsScope) -> sa.Select[Any]:
    """Course enrollments made and completed per UTC day: ``day``, ``enrollments``, ``completions``.

    One row per day with either, by day; weeks and months are summed from the days (at most one
    row per day, whatever the number of enrollments). Timestamps are stored as naive UTC, so
    ``date()`` gives the UTC day on every backend.
    """
    e, p = t.enrollments.c, t.enrollment_progress.c
    base = [e.program_id.in_(list(scope.program_ids)), e.kind == EntryKind.COURSE.value]
    if scope.contract_ids is not None:
        base.append(e.contract_id.in_(list(scope.contract_ids)))
    # inline constants, not bound parameters: a UNION of untyped parameters is text on PostgreSQL
    one, zero = sa.literal_column("1", sa.Integer()), sa.literal_column("0", sa.Integer())
    made = sa.select(
        sa.func.date(e.enrolled_at, type_=sa.Date()).label("day"),
        one.label("enrolled"),
        zero.label("completed"),
    ).where(*base, *_in_range(e.enrolled_at, scope))
    done = (
        sa.select(
            sa.func.date(p.completed_at, type_=sa.Date()).label("day"),
            zero.label("enrolled"),
            one.label("completed"),
        )
        .select_from(t.enrollments.join(t.enrollment_progress, p.enrollment_id == e.id))
        .where(*base, *_in_range(p.completed_at, scope))
    )
    events = sa.union_all(made, done).subquery("activity_events")
    return (
        sa.select(
            events.c.day,
            sa.func.sum(events.c.enrolled).label("enrollments"),
            sa.func.sum(events.c.completed).label("completions"),
        )
        .group_by(events.c.day)
        .order_by(events.c.day)
    )


def learner_feedback_query(scope: AnalyticsScope) -> sa.Select[Any]:
    """The Learner Feedback figures in one row.

    Columns ``stars_1`` .. ``stars_5``, ``recommendations`` (ratings with a likelihood to
    recommend) and ``recommend_sum``.
    """
    fb, m = t.feedback.c, t.memberships.c
    statement = sa.select(
        *[
            sa.func.coalesce(sa.func.sum(sa.case((fb.rating == n, 1), else_=0)), 0).label(
                f"stars_{n}"
            )
            for n in range(1, 6)
        ],
        sa.func.count(fb.recommend).label("recommendations"),
        sa.func.coalesce(sa.func.sum(fb.recommend), 0).label("recommend_sum"),
    ).where(fb.program_id.in_(list(scope.program_ids)), *_in_range(fb.at, scope))
    if scope.contract_ids is None:
        return statement.select_from(t.feedback)
    return statement.select_from(
        t.feedback.join(
            t.memberships, sa.and_(m.program_id == fb.program_id, m.learner_id == fb.learner_id)
        )
    ).where(m.contract_id.in_(list(scope.contract_ids)))


def utilization_query(scope: AnalyticsScope) -> sa.Select[Any]:
    """The Utilization figures: one row per licenses contract in scope.

    Columns ``id``, ``name``, ``quantity``, ``members`` (current MEMBER memberships of the
    covered programs on it) and ``enrolled`` (those with a course enrollment through their
    program); the caps are applied by ``ContractUtilization.capped``.
    """
    k, m, e = t.contracts.c, t.memberships.c, t.enrollments.c
    programs = list(scope.program_ids)
    enrolled = (
        sa.select(e.program_id, e.learner_id)
        .where(e.program_id.in_(programs), e.kind == EntryKind.COURSE.value)
        .distinct()
        .subquery("enrolled_members")
    )
    n = enrolled.c
    members = (
        sa.select(
            m.contract_id,
            sa.func.count().label("members"),
            sa.func.count(n.learner_id).label("enrolled"),
        )
        .select_from(
            t.memberships.outerjoin(
                enrolled,
                sa.and_(n.program_id == m.program_id, n.learner_id == m.learner_id),
            )
        )
        .where(m.program_id.in_(programs), m.state == MemberState.MEMBER.value)
        .group_by(m.contract_id)
        .subquery("license_members")
    )
    statement = (
        sa.select(
            k.id,
            k.name,
            k.quantity,
            sa.func.coalesce(members.c.members, 0).label("members"),
            sa.func.coalesce(members.c.enrolled, 0).label("enrolled"),
        )
        .select_from(t.contracts.outerjoin(members, members.c.contract_id == k.id))
        .where(k.organization_id == scope.organization_id, k.kind == ContractKind.LICENSES.value)
    )
    if scope.contract_ids is not None:
        statement = statement.where(k.id.in_(list(scope.contract_ids)))
    if scope.start is not None:
        statement = statement.where(k.ends_at > scope.start)
    if scope.end is not None:
        statement = statement.where(k.starts_at < scope.end)
    return statement


def course_learners_query(
    course_id: str, program_ids: Sequence[str], dialect: str
) -> sa.Select[Any]:
    """Current enrollments in one course through the programs, with their learners (``l_``).

    Ordered by email key and learner ID.
    """
    e, lr = t.enrollments.c, t.learners.c
    return (
        sa.select(*_learner_columns(), t.enrollments)
        .select_from(t.enrollments.join(t.learners, lr.id == e.learner_id))
        .where(
            e.target_id == course_id,
            e.kind == EntryKind.COURSE.value,
            e.current_target_id.is_not(None),
            e.program_id.in_(list(program_ids)),
        )
        .order_by(_codepoint_order(lr.email_key, dialect), _codepoint_order(lr.id, dialect))
    )
