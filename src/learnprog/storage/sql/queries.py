"""Read queries that aggregate in SQL: the members list (and, later, reports and audiences).

Each function returns one SQLAlchemy statement; the rules it applies are those of
:mod:`learnprog.model.progress`, restated in SQL, and the contract tests check that every backend
answers as the in-memory adapter (which calls the model functions) does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from learnprog.model.catalog import EntryKind
from learnprog.model.learner import MemberState
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
