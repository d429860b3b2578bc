"""Read queries that aggregate in SQL: the members list (and, later, reports and audiences).

Each function returns one SQLAlchemy statement; the rules it applies are those of
:mod:`learnprog.model.progress`, restated in SQL, and the contract tests check that every backend
answers as the in-memory adapter (which calls the model functions) does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from learnprog.model.catalog import EntryKind
from learnprog.model.learner import MemberState
from learnprog.model.mail import MessageCategory
from learnprog.model.messaging import (
    LONG_INACTIVE_AFTER,
    RECENT_COMPLETION,
    Audience,
    AudienceFilter,
)
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
