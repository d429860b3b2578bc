"""Analytics for organization admins: learner activity, learner feedback and utilization.

Source: guide, "Analytics Reports" ("Program admins do not have access to Analytics"; "Learner
Activity shows your organization's the enrollment and completion trends"; "Learner Feedback shows
your learners' feedback on the courses they are taking"; "Utilization shows the overall status on
your licenses. A member occupies a license, which becomes 'utilized' once they enroll in their
first course. Note: the number of members is capped at the number of purchased licenses").

Every figure set is computed over an :class:`AnalyticsScope`: the organization's programs (all,
or those asked for), optionally some of its contracts, and optionally a date range (aware
datetimes, start included, end excluded). The in-memory adapter calls the functions here; SQL
adapters restate them as aggregate queries, and the contract tests hold both to the same
hand-worked answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from attrs import frozen

from learnprog.errors import ValidationError
from learnprog.frames import (
    Column,
    ColumnKind,
    Table,
    Tabular,
    axes,
    columns_of,
    day_values,
    label,
    record_row,
    to_frame,
)
from learnprog.model._rules import str_items, utc
from learnprog.model.activity import Enrollment, Feedback
from learnprog.model.catalog import EntryKind
from learnprog.model.learner import Membership, MemberState
from learnprog.model.organization import Contract, ContractKind
from learnprog.model.progress import EnrollmentProgress

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes

Period = Literal["week", "month"]
"""A Learner Activity row's period: an ISO week or a calendar month (UTC)."""


def _ids(values: object, field: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(dict.fromkeys(str_items(values, field=field, max_length=255)))


@frozen
class AnalyticsFilter:
    """The Analytics dashboard's filters (guide, "Analytics Reports": "You can use the filters").

    Attributes:
        program_ids: only these programs (``None``: every program of the organization).
        contract_ids: only these contracts (``None``: every contract).
        start: the first instant counted (aware; ``None``: no lower bound).
        end: the first instant no longer counted (aware, after ``start``; ``None``: no upper
            bound).
    """

    program_ids: tuple[str, ...] | None = None
    contract_ids: tuple[str, ...] | None = None
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def create(
        cls,
        *,
        program_ids: Iterable[str] | None = None,
        contract_ids: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> AnalyticsFilter:
        """Validate and make the filters.

        Raises:
            ValidationError: a bare string instead of a collection of IDs, a naive datetime,
                or an end not after the start.
        """
        clean_start = None if start is None else utc(start, field="start")
        clean_end = None if end is None else utc(end, field="end")
        if clean_start is not None and clean_end is not None and clean_end <= clean_start:
            raise ValidationError("the end must come after the start", field="end")
        return cls(
            _ids(program_ids, "program_ids"),
            _ids(contract_ids, "contract_ids"),
            clean_start,
            clean_end,
        )


@frozen
class AnalyticsScope:
    """What one analytics figure set covers, resolved from the filters by the service.

    Attributes:
        organization_id: the organization.
        program_ids: the programs covered (resolved: never ``None``).
        contract_ids: the contracts covered, or ``None`` for every contract.
        start: the first instant counted, or ``None``.
        end: the first instant no longer counted, or ``None``.
    """

    organization_id: str
    program_ids: tuple[str, ...]
    contract_ids: tuple[str, ...] | None = None
    start: datetime | None = None
    end: datetime | None = None

    def in_range(self, at: datetime | None) -> bool:
        """True when ``at`` is set and lies in ``[start, end)``."""
        return (
            at is not None
            and (self.start is None or self.start <= at)
            and (self.end is None or at < self.end)
        )

    def covers_contract(self, contract_id: str) -> bool:
        """True when the contract filter lets ``contract_id`` through."""
        return self.contract_ids is None or contract_id in self.contract_ids


# --- learner activity --------------------------------------------------------------------------


@frozen
class ActivityDay:
    """Course enrollments made and completed on one UTC day (what storage aggregates)."""

    day: date
    enrollments: int
    completions: int


@frozen
class ActivityPeriod:
    """Course enrollments made and completed in one week or month.

    Attributes:
        start: the period's first UTC day: a Monday for a week (ISO 8601), the 1st for a month.
        enrollments: course enrollments made in the period.
        completions: course enrollments completed in the period.
    """

    start: date
    enrollments: int
    completions: int

    @property
    def iso_week(self) -> str:
        """The ISO 8601 week of ``start`` (``"2026-W10"``); meaningful for weekly rows."""
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"


@frozen
class LearnerActivity(Tabular):
    """The Learner Activity report: enrollment and completion trends (guide, "Analytics Reports").

    Population: course enrollments (not specializations) made through the covered programs,
    current or ended, removed members' included, drawn from the covered contracts. An enrollment
    counts in the period of its ``enrolled_at``; a completion in the period of its figures'
    ``completed_at``; each only when that instant lies in the date range. Weeks are ISO weeks
    (Monday to Sunday) and months calendar months, both in UTC. The rows run, without gaps (an
    empty period is a row of zeros), from the first period with an enrollment or completion to
    the last, oldest first.

    Attributes:
        weeks: one row per ISO week.
        months: one row per calendar month.
        enrollments: enrollments counted in all.
        completions: completions counted in all.
    """

    weeks: tuple[ActivityPeriod, ...]
    months: tuple[ActivityPeriod, ...]
    enrollments: int
    completions: int

    def periods(self, by: Period = "week") -> tuple[ActivityPeriod, ...]:
        """The weekly (``"week"``) or monthly (``"month"``) rows.

        Raises:
            ValidationError: ``by`` is neither ``"week"`` nor ``"month"`` (field ``by``).
        """
        if by == "week":
            return self.weeks
        if by == "month":
            return self.months
        raise ValidationError("a period is 'week' or 'month'", field="by", value=by)

    def _table(self, by: Period = "week") -> Table:
        columns = columns_of(ActivityPeriod)
        return columns, [record_row(p, columns) for p in self.periods(by)]

    def to_pandas(self, by: Period = "week") -> pandas.DataFrame:
        """Return the weekly or monthly rows as a ``pandas.DataFrame``, oldest first.

        Columns: ``start`` (the period's first UTC day, ``datetime64``: a Monday for a week,
        the 1st for a month), ``enrollments`` and ``completions`` (``int64``).

        Args:
            by: ``"week"`` (ISO weeks) or ``"month"`` (calendar months).

        Raises:
            ValidationError: another ``by``.
            MissingExtraError: pandas is not installed (``pip install 'learnprog[notebook]'``).
        """
        return to_frame(*self._table(by))

    def plot(self, by: Period = "week", ax: Axes | None = None) -> Axes:
        """Draw the enrollment and completion trends (guide, "Analytics Reports": Learner Activity).

        Two lines over the periods' first days, oldest first: course enrollments made and
        course enrollments completed in each week or month.

        Args:
            by: ``"week"`` or ``"month"``.
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes: ``ax.lines`` are the enrollments, then the completions.

        Raises:
            ValidationError: another ``by``.
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        rows = self.periods(by)
        ax = axes(ax)
        days = day_values([p.start for p in rows])
        ax.plot(days, [p.enrollments for p in rows], marker=".", label="Enrollments")
        ax.plot(days, [p.completions for p in rows], marker=".", label="Completions")
        ax.set_ylabel(f"course enrollments per {by}")
        ax.set_title("Learner activity")
        ax.set_ylim(bottom=0)
        ax.legend()
        ax.figure.autofmt_xdate()
        return ax


def week_start(day: date) -> date:
    """The Monday that starts ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _series(
    days: Iterable[ActivityDay], bucket: Callable[[date], date], step: Callable[[date], date]
) -> tuple[ActivityPeriod, ...]:
    totals: dict[date, list[int]] = {}
    for d in days:
        counts = totals.setdefault(bucket(d.day), [0, 0])
        counts[0] += d.enrollments
        counts[1] += d.completions
    if not totals:
        return ()
    rows = []
    current, last = min(totals), max(totals)
    while current <= last:
        enrolled, completed = totals.get(current, (0, 0))
        rows.append(ActivityPeriod(current, enrolled, completed))
        current = step(current)
    return tuple(rows)


def learner_activity(days: Iterable[ActivityDay]) -> LearnerActivity:
    """Sum daily counts into weekly and monthly rows (see :class:`LearnerActivity`)."""
    kept = [d for d in days if d.enrollments or d.completions]
    return LearnerActivity(
        weeks=_series(kept, week_start, lambda d: d + timedelta(days=7)),
        months=_series(kept, lambda d: d.replace(day=1), _next_month),
        enrollments=sum(d.enrollments for d in kept),
        completions=sum(d.completions for d in kept),
    )


def activity_days(
    enrollments: Iterable[Enrollment],
    figures: Mapping[str, EnrollmentProgress],
    scope: AnalyticsScope,
) -> list[ActivityDay]:
    """Count the scope's course enrollments and completions per UTC day (plain Python).

    Args:
        enrollments: the enrollments made through the covered programs (any kind, any state).
        figures: their derived figures, by enrollment ID.
        scope: the programs, contracts and date range.

    Returns:
        One row per day with an enrollment or completion, by day.
    """
    counts: dict[date, list[int]] = {}
    for e in enrollments:
        if (
            e.kind is not EntryKind.COURSE
            or e.program_id not in scope.program_ids
            or not scope.covers_contract(e.contract_id)
        ):
            continue
        if scope.in_range(e.enrolled_at):
            counts.setdefault(e.enrolled_at.date(), [0, 0])[0] += 1
        done = figures.get(e.id, EnrollmentProgress(e.id)).completed_at
        if done is not None and scope.in_range(done):
            counts.setdefault(done.date(), [0, 0])[1] += 1
    return [ActivityDay(day, c[0], c[1]) for day, c in sorted(counts.items())]


# --- learner feedback --------------------------------------------------------------------------


_STARS = (Column("stars", ColumnKind.INTEGER), Column("ratings", ColumnKind.INTEGER))


@frozen
class LearnerFeedback(Tabular):
    """The Learner Feedback report: ratings and the likelihood to recommend.

    Guide, "Analytics Reports": "how satisfied your learners are with the learning content and
    how likely they are to recommend the program to others".

    Population: the course ratings (:class:`~learnprog.model.activity.Feedback`, one per
    learner, course and program, the latest kept) given in the covered programs, whose time lies
    in the date range, by learners whose membership of that program draws on a covered contract.

    Attributes:
        ratings: the number of ratings.
        distribution: the number of ratings of 1, 2, 3, 4 and 5 stars, in that order.
        average_rating: the mean rating, 1-5, or ``None`` without ratings.
        recommendations: the number of ratings that give a likelihood to recommend.
        average_recommend: the mean likelihood to recommend, 0-10, over those, or ``None``.
    """

    ratings: int
    distribution: tuple[int, int, int, int, int]
    average_rating: float | None
    recommendations: int
    average_recommend: float | None

    def _table(self) -> Table:
        return _STARS, [(stars, n) for stars, n in enumerate(self.distribution, start=1)]

    def to_pandas(self) -> pandas.DataFrame:
        """Return the star distribution as a ``pandas.DataFrame``: five rows, 1 to 5 stars.

        Columns: ``stars`` (1-5) and ``ratings`` (how many ratings gave that many stars), both
        ``int64``. The averages are the attributes.

        Raises:
            MissingExtraError: pandas is not installed (``pip install 'learnprog[notebook]'``).
        """
        return to_frame(*self._table())

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the ratings per star, 1 to 5 (guide, "Analytics Reports": Learner Feedback).

        Args:
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes: five bars (``ax.patches``), 1 to 5 stars; the title gives the average.

        Raises:
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        ax = axes(ax, size=(6.0, 3.0))
        stars = [f"{n} ★" for n in range(1, 6)]
        bars = ax.bar(stars, list(self.distribution), color="#dd8452")
        ax.bar_label(bars, padding=2)
        ax.set_ylabel("ratings")
        average = (
            "no ratings"
            if self.average_rating is None
            else (f"average {self.average_rating:.1f} / 5 over {self.ratings:,} ratings")
        )
        ax.set_title(f"Learner feedback: {average}")
        ax.margins(y=0.15)
        return ax

    @classmethod
    def from_sums(
        cls,
        distribution: tuple[int, int, int, int, int],
        recommendations: int,
        recommend_sum: int,
    ) -> LearnerFeedback:
        """Make the report from the star counts and the recommendation count and sum."""
        count = sum(distribution)
        stars = sum(n * (i + 1) for i, n in enumerate(distribution))
        return cls(
            count,
            distribution,
            stars / count if count else None,
            recommendations,
            recommend_sum / recommendations if recommendations else None,
        )


def learner_feedback(
    feedback: Iterable[Feedback],
    contract_of: Mapping[tuple[str, str], str],
    scope: AnalyticsScope,
) -> LearnerFeedback:
    """Compute the Learner Feedback report (see :class:`LearnerFeedback`).

    Args:
        feedback: the ratings given in the covered programs.
        contract_of: each membership's contract, by ``(program_id, learner_id)``.
        scope: the programs, contracts and date range.
    """
    stars = [0, 0, 0, 0, 0]
    recommendations = recommend_sum = 0
    for f in feedback:
        contract = contract_of.get((f.program_id, f.learner_id))
        if (
            f.program_id not in scope.program_ids
            or not scope.in_range(f.at)
            or (scope.contract_ids is not None and contract not in scope.contract_ids)
        ):
            continue
        stars[f.rating - 1] += 1
        if f.recommend is not None:
            recommendations += 1
            recommend_sum += f.recommend
    return LearnerFeedback.from_sums(
        (stars[0], stars[1], stars[2], stars[3], stars[4]), recommendations, recommend_sum
    )


# --- utilization -------------------------------------------------------------------------------


@frozen
class ContractUtilization:
    """One licenses contract's line of the Utilization report.

    Attributes:
        contract_id: the contract.
        name: its name.
        purchased: the licenses bought (its quantity).
        occupied: current MEMBER memberships of the covered programs on it, capped at
            ``purchased`` (guide: "the number of members is capped at the number of purchased
            licenses").
        utilized: of those, the members with at least one course enrollment (current or ended)
            made through their membership's program, capped at ``occupied``.
    """

    contract_id: str
    name: str
    purchased: int
    occupied: int
    utilized: int

    @classmethod
    def capped(
        cls, contract_id: str, name: str, purchased: int, members: int, enrolled: int
    ) -> ContractUtilization:
        """Make the line from raw member counts, applying the caps."""
        occupied = min(members, purchased)
        return cls(contract_id, name, purchased, occupied, min(enrolled, occupied))


@frozen
class Utilization(Tabular):
    """The Utilization report: "the overall status on your licenses" (guide, "Analytics Reports").

    Population: the organization's **licenses** contracts (enrollments and unlimited contracts
    sell no licenses) that the contract filter lets through and, with a date range, whose term
    ``[starts_at, ends_at)`` overlaps it. A member occupies a license: each current MEMBER
    membership of a covered program counts once on its contract (a learner in two programs on one
    contract holds two licenses, as :meth:`Contract.take` counts them). An occupied license is
    utilized once its member has enrolled in a first course through that program (current or
    ended enrollments). Caps apply per contract (:class:`ContractUtilization`), then add up.

    Attributes:
        licenses_purchased: the licenses bought on the covered contracts.
        occupied: licenses occupied.
        utilized: licenses utilized.
        contracts: one line per covered contract, by name then ID.
    """

    licenses_purchased: int
    occupied: int
    utilized: int
    contracts: tuple[ContractUtilization, ...]

    @classmethod
    def of(cls, lines: Iterable[ContractUtilization]) -> Utilization:
        """Add up the contract lines (sorted by name, then ID)."""
        ordered = tuple(sorted(lines, key=lambda c: (c.name, c.contract_id)))
        return cls(
            sum(c.purchased for c in ordered),
            sum(c.occupied for c in ordered),
            sum(c.utilized for c in ordered),
            ordered,
        )

    def _table(self) -> Table:
        columns = columns_of(ContractUtilization)
        return columns, [record_row(c, columns) for c in self.contracts]

    def to_pandas(self) -> pandas.DataFrame:
        """Return the contract lines as a ``pandas.DataFrame``, by name then ID.

        Columns: ``contract_id`` and ``name`` (``string``), ``purchased``, ``occupied`` and
        ``utilized`` (``int64`` licenses). The totals are the attributes (and the sums).

        Raises:
            MissingExtraError: pandas is not installed (``pip install 'learnprog[notebook]'``).
        """
        return to_frame(*self._table())

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw each contract's licenses: purchased, occupied and utilized, side by side.

        Source: guide, "Analytics Reports" (Utilization: "A member occupies a license, which
        becomes 'utilized' once they enroll in their first course").

        Args:
            ax: the matplotlib Axes to draw on; ``None`` makes a new figure.

        Returns:
            The Axes: three bar containers (``ax.containers``: purchased, occupied, utilized),
            one bar per contract, in :attr:`contracts` order.

        Raises:
            MissingExtraError: matplotlib is not installed (``pip install
                'learnprog[notebook]'``).
        """
        ax = axes(ax, size=(7.0, 1.5 + 0.6 * max(len(self.contracts), 1)))
        names = [label(c.name) for c in self.contracts]
        height = 0.27
        for offset, (series, values, color) in enumerate(
            (
                ("Purchased", [c.purchased for c in self.contracts], "#8c8c8c"),
                ("Occupied", [c.occupied for c in self.contracts], "#4c72b0"),
                ("Utilized", [c.utilized for c in self.contracts], "#55a868"),
            )
        ):
            ax.barh(
                [i + (offset - 1) * height for i in range(len(names))],
                values,
                height=height,
                label=series,
                color=color,
            )
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_xlabel("licenses")
        rate = self.utilized_rate
        shown = "no licenses" if rate is None else f"{rate:.0f}% of licenses utilized"
        ax.set_title(f"Utilization: {shown}")
        ax.legend()
        return ax

    @property
    def occupied_rate(self) -> float | None:
        """Occupied licenses as percent 0-100 of those purchased, ``None`` without any."""
        bought = self.licenses_purchased
        return None if not bought else 100.0 * self.occupied / bought

    @property
    def utilized_rate(self) -> float | None:
        """Utilized licenses as percent 0-100 of those purchased, ``None`` without any."""
        bought = self.licenses_purchased
        return None if not bought else 100.0 * self.utilized / bought


def contract_in_scope(contract: Contract, scope: AnalyticsScope) -> bool:
    """True for a licenses contract the filters let through (see :class:`Utilization`)."""
    return (
        contract.kind is ContractKind.LICENSES
        and contract.organization_id == scope.organization_id
        and scope.covers_contract(contract.id)
        and (scope.start is None or contract.ends_at > scope.start)
        and (scope.end is None or contract.starts_at < scope.end)
    )


def utilization(
    contracts: Iterable[Contract],
    memberships: Iterable[Membership],
    enrollments: Iterable[Enrollment],
    scope: AnalyticsScope,
) -> Utilization:
    """Compute the Utilization report (see :class:`Utilization`).

    Args:
        contracts: the organization's contracts.
        memberships: the memberships of the covered programs.
        enrollments: the enrollments made through the covered programs.
        scope: the programs, contracts and date range.
    """
    enrolled = {(e.program_id, e.learner_id) for e in enrollments if e.kind is EntryKind.COURSE}
    members: dict[str, int] = {}
    using: dict[str, int] = {}
    for m in memberships:
        if m.state is MemberState.MEMBER and m.program_id in scope.program_ids:
            members[m.contract_id] = members.get(m.contract_id, 0) + 1
            if (m.program_id, m.learner_id) in enrolled:
                using[m.contract_id] = using.get(m.contract_id, 0) + 1
    return Utilization.of(
        ContractUtilization.capped(
            c.id, c.name, c.quantity or 0, members.get(c.id, 0), using.get(c.id, 0)
        )
        for c in contracts
        if contract_in_scope(c, scope)
    )
