"""Reports and analytics results as pandas frames, Jupyter tables and matplotlib plots.

Every result is built through the services (on memory and SQLite: on SQLite a report's values
come straight from SQL rows, times as SQLite's text), then converted. Plots are drawn with the
Agg backend and read back from the Axes.
"""

from __future__ import annotations

import html.parser
import io
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

import learnprog
from learnprog.errors import ValidationError
from learnprog.frames import Column, ColumnKind, to_frame
from learnprog.model import Assessment, AssessmentAttempt, CollectionEntry
from learnprog.model.skills import Band, Level
from learnprog.reports.tables import MEMBERSHIP, SPECIALIZATION, USAGE
from learnprog.services.skills import read_reference_group
from tests.conftest import START
from tests.examples.conftest import example_env
from tests.services.test_reports import Reported
from tests.services.test_skills import HOUR, REFERENCE, Skilled
from tests.services.world import SYSTEM

TIME = "datetime64[us, UTC]"
DAY = "datetime64[us]"


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {str(name): str(dtype) for name, dtype in frame.dtypes.items()}


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


# --- reports -----------------------------------------------------------------------------------

PROFILE = dict.fromkeys(
    (
        "Manager Name",
        "Manager Email",
        "Job Title",
        "Job Type",
        "Business Unit",
        "Business Unit 2",
        "Location City",
        "Location Country",
        "Location Region",
    ),
    "string",
)
LEARNER = {"Name": "string", "Email": "string", "External Id": "string"}


def test_the_usage_report_becomes_a_frame_with_a_dtype_per_column(
    lp: learnprog.Learnprog,
) -> None:
    w = Reported(lp)
    frame = lp.reports.usage_report(w.admin, w.org.id).to_pandas()
    assert dtypes(frame) == {
        **LEARNER,
        "Course": "string",
        "Course ID": "string",
        "Course Slug": "string",
        "University": "string",
        "Enrollment Time": TIME,
        "Class Start Time": TIME,
        "Last Course Activity Time": TIME,
        "Overall Progress": "float64",
        "Estimated Learning Hours": "float64",
        "Completed": "bool",
        "Removed From Program": "bool",
        "Program Slug": "string",
        "Program Name": "string",
        "Enrollment Source": "string",
        "Completion Time": TIME,
        "Course Grades": "float64",
        "Contract": "string",
        **PROFILE,
    }
    assert list(frame.columns) == list(USAGE.headers)
    (row,) = frame.to_dict("records")
    # text as written: the CSV's formula protection (a leading ') is not in the frame
    assert (row["Name"], row["External Id"]) == ('=HYPERLINK("x")', "-00123")
    assert row["Enrollment Time"] == w.enrollment.enrolled_at
    assert row["Class Start Time"] == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    done = START + timedelta(hours=1, minutes=30, microseconds=782_999)
    assert row["Completion Time"] == done  # microseconds kept (the CSV shows milliseconds)
    assert row["Last Course Activity Time"] == done
    assert (row["Overall Progress"], row["Course Grades"]) == (100.0, 88.25)
    assert row["Estimated Learning Hours"] == 0.5  # 30 minutes, stored as seconds
    assert row["Completed"] is True or row["Completed"] == True  # noqa: E712  (numpy bool)
    assert not row["Removed From Program"]
    assert pd.isna(row["Enrollment Source"])
    assert pd.isna(row["Manager Name"])


def test_the_membership_report_has_counts_and_the_state_as_a_category(
    lp: learnprog.Learnprog,
) -> None:
    w = Reported(lp)
    w.invite("cy@acme.example", "Cy", send_email=False)  # invited: no join date
    frame = lp.reports.membership_report(w.admin, w.org.id).to_pandas()
    assert dtypes(frame) == {
        **LEARNER,
        "Program Name": "string",
        "Program Slug": "string",
        "# Enrolled Courses": "int64",
        "# Completed Courses": "int64",
        "Member State": "category",
        "Join Date": TIME,
        "Invitation Date": TIME,
        "Last Activity Time": TIME,
        "Contract(s)": "string",
        **PROFILE,
    }
    assert list(frame.columns) == list(MEMBERSHIP.headers)
    states = frame["Member State"].cat
    assert list(states.categories) == ["INVITED", "MEMBER", "DELETED_MEMBER"]
    by_email = frame.set_index("Email")
    assert by_email.loc["lia@acme.example", "Member State"] == "MEMBER"
    assert by_email.loc["cy@acme.example", "Member State"] == "INVITED"
    assert by_email.loc["lia@acme.example", "# Enrolled Courses"] == 1
    assert by_email.loc["lia@acme.example", "# Completed Courses"] == 1
    assert by_email["Join Date"].isna().to_dict() == {
        "lia@acme.example": False,
        "cy@acme.example": True,
    }
    assert by_email.loc["cy@acme.example", "Invitation Date"] == START


def test_an_empty_report_keeps_its_columns_and_dtypes(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    frame = lp.reports.specialization_report(w.admin, w.org.id).to_pandas()
    assert frame.shape == (0, len(SPECIALIZATION.headers))
    assert dtypes(frame)["Enrollment Time"] == TIME
    assert dtypes(frame)["Completed"] == "bool"
    assert dtypes(frame)["Specialization"] == "string"


def test_a_member_email_list_becomes_a_frame(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    emails = lp.reports.member_emails(w.admin, w.program.id, "completed_at_least_one")
    frame = emails.to_pandas()
    assert dtypes(frame) == {"Email": "string"}
    assert list(frame["Email"]) == ["lia@acme.example"]


def test_a_category_value_outside_its_categories_is_refused() -> None:
    column = Column("Member State", ColumnKind.CATEGORY, categories=("MEMBER",))
    with pytest.raises(ValidationError, match=r"row 1: 'GONE' is not one of MEMBER") as caught:
        to_frame([column], [("MEMBER",), ("GONE",)])
    assert caught.value.field == "Member State"


# --- analytics ---------------------------------------------------------------------------------


def test_the_summary_funnel_and_email_figures_become_one_row_frames(
    lp: learnprog.Learnprog,
) -> None:
    w = Reported(lp)
    summary = lp.reports.summary(w.admin, w.org.id).to_pandas()
    assert dtypes(summary) == {
        "enrollments": "int64",
        "enrollments_change": "int64",
        "learning_hours": "float64",
        "learning_hours_change": "float64",
        "lessons_taken": "int64",
        "lessons_taken_change": "int64",
        "average_rating": "float64",
        "ratings": "int64",
        "since": DAY,
        "computed_at": TIME,
    }
    (row,) = summary.to_dict("records")
    assert (row["enrollments"], row["learning_hours"], row["ratings"]) == (1, 0.5, 0)
    assert pd.isna(row["average_rating"])  # no ratings
    assert row["since"] == pd.Timestamp(START.date() - timedelta(days=27))
    assert row["computed_at"] == START

    w.invite("cy@acme.example", "Cy", send_email=False)
    funnel = lp.reports.funnel(w.admin, w.org.id).to_pandas()
    assert dtypes(funnel) == {
        "invitations_sent": "int64",
        "joined": "int64",
        "enrolled": "int64",
        "join_rate": "float64",
        "enroll_rate": "float64",
        "computed_at": TIME,
    }
    (row,) = funnel.to_dict("records")
    assert (row["invitations_sent"], row["joined"], row["enrolled"]) == (2, 1, 1)
    assert (row["join_rate"], row["enroll_rate"]) == (50.0, 100.0)

    figures = lp.reports.email_report(w.admin, w.org.id).figures.to_pandas()
    assert len(figures.columns) == 19
    assert dtypes(figures)["estimated_hours"] == "float64"
    assert dtypes(figures)["computed_at"] == TIME
    assert {
        t for n, t in dtypes(figures).items() if n not in ("estimated_hours", "computed_at")
    } == {"int64"}
    assert figures.loc[0, "course_completions"] == 1


def test_learner_activity_becomes_weekly_or_monthly_rows(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)  # Lia enrolled and completed on Monday 2026-03-02
    activity = lp.reports.learner_activity(w.admin, w.org.id)
    weeks = activity.to_pandas()
    assert dtypes(weeks) == {"start": DAY, "enrollments": "int64", "completions": "int64"}
    assert weeks.to_dict("records") == [
        {"start": pd.Timestamp("2026-03-02"), "enrollments": 1, "completions": 1}
    ]
    months = activity.to_pandas(by="month")
    assert list(months["start"]) == [pd.Timestamp("2026-03-01")]
    with pytest.raises(ValidationError, match="'week' or 'month'") as caught:
        activity.to_pandas(by="day")  # type: ignore[arg-type]
    assert caught.value.field == "by"


def test_feedback_becomes_its_star_distribution(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    lp.learning.rate_course(w.lia, w.program.id, w.course.id, rating=4, recommend=8)
    frame = lp.reports.learner_feedback(w.admin, w.org.id).to_pandas()
    assert dtypes(frame) == {"stars": "int64", "ratings": "int64"}
    assert frame.to_dict("list") == {"stars": [1, 2, 3, 4, 5], "ratings": [0, 0, 0, 1, 0]}


def test_utilization_becomes_one_row_per_contract(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    w.invite("cy@acme.example", "Cy", send_email=False)
    w.accept("cy@acme.example")
    frame = lp.reports.utilization(w.admin, w.org.id).to_pandas()
    assert dtypes(frame) == {
        "contract_id": "string",
        "name": "string",
        "purchased": "int64",
        "occupied": "int64",
        "utilized": "int64",
    }
    assert frame.to_dict("records") == [
        {"contract_id": w.contract.id, "name": "Year 1", "purchased": 5, "occupied": 2,
         "utilized": 1}
    ]  # fmt: skip


# --- skills analytics --------------------------------------------------------------------------


def scored(lp: learnprog.Learnprog) -> Skilled:
    """Lia and Bo each reach ADVANCED in SQL (Bo a day later), with learning events."""
    w = Skilled(lp)
    lia, bo = w.people
    w.events(lia, [0, 30, 60, 150, 180])
    w.attempts(lia, [100, 100, 100], start=1)
    w.events(bo, [0, 120, 140])
    w.attempts(bo, [100, 100, 100], start=30)
    lp.skills.score(w.admin, w.org.id)
    return w


def test_skills_analytics_become_frames_with_levels_as_categories(
    lp: learnprog.Learnprog,
) -> None:
    w = scored(lp)
    levels = ["beginner", "intermediate", "advanced"]

    board = lp.skills.leaderboard(w.admin, w.org.id).to_pandas()
    assert dtypes(board) == {
        "domain": "string",
        "skill": "string",
        "name": "string",
        "email": "string",
        "level": "category",
        "score": "float64",
    }
    assert list(board["level"].cat.categories) == levels
    assert board["level"].cat.ordered  # beginner < intermediate < advanced
    assert list(board["level"]) == ["advanced", "advanced"]
    assert set(board["name"]) == {"Lia", "Bo"}
    hidden = lp.skills.leaderboard(w.admin, w.org.id, hide_contact=True).to_pandas()
    assert hidden["email"].isna().all()
    assert dtypes(hidden)["email"] == "string"

    proficiency = lp.skills.proficiency_by_skill(w.admin, w.org.id).to_pandas()
    assert dtypes(proficiency) == {
        "skill_id": "string",
        "domain": "string",
        "skill": "string",
        **dict.fromkeys(levels, "int64"),
    }
    assert proficiency[levels].to_dict("records") == [
        {"beginner": 0, "intermediate": 0, "advanced": 2}
    ]

    mastery = lp.skills.hours_to_mastery(w.admin, w.org.id).to_pandas()
    assert dtypes(mastery) == {
        "skill_id": "string",
        "domain": "string",
        "skill": "string",
        "intermediate_hours": "float64",
        "intermediate_learners": "int64",
        "advanced_hours": "float64",
        "advanced_learners": "int64",
    }
    assert mastery.loc[0, "advanced_learners"] == 2

    over_time = lp.skills.mastery_over_time(w.admin, w.org.id).to_pandas()
    assert dtypes(over_time) == {
        "skill_id": "string",
        "day": DAY,
        "intermediate": "int64",
        "advanced": "int64",
    }
    assert over_time[["day", "advanced"]].to_dict("list") == {
        "day": [pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-03")],
        "advanced": [1, 2],
    }

    effort = lp.skills.effort_by_skill(w.admin, w.org.id).to_pandas()
    assert dtypes(effort) == {
        "skill_id": "string",
        "domain": "string",
        "skill": "string",
        "assessments_completed": "int64",
        "assessment_learners": "int64",
        "average_assessments": "float64",
        "hours": "float64",
        "hour_learners": "int64",
        "average_hours": "float64",
    }
    assert effort.loc[0, "assessments_completed"] == 6

    group = read_reference_group(REFERENCE)
    benchmark = lp.skills.industry_benchmark(w.admin, w.org.id, group).to_pandas()
    assert dtypes(benchmark) == {
        "skill_id": "string",
        "domain": "string",
        "skill": "string",
        "score": "float64",
        "learners": "int64",
        "companies": "int64",
        "industry_average": "float64",
        "percentile": "float64",
        "band": "category",
    }
    assert list(benchmark["band"].cat.categories) == [b.value for b in Band]
    points = lp.skills.benchmark_over_time(w.admin, w.org.id, group, w.skill.id).to_pandas()
    assert dtypes(points) == {
        "day": DAY,
        "score": "float64",
        "learners": "int64",
        "industry_average": "float64",
        "percentile": "float64",
        "band": "category",
    }
    assert points["learners"].tolist() == [1, 2]


def test_hours_nobody_reached_are_nan_and_courses_are_listed_long(
    lp: learnprog.Learnprog,
) -> None:
    w = Skilled(lp)
    lia, _ = w.people
    w.attempts(lia, [0, 0, 0])  # rated BEGINNER: no level reached
    lp.skills.score(w.admin, w.org.id)
    mastery = lp.skills.hours_to_mastery(w.admin, w.org.id).to_pandas()
    assert mastery["intermediate_hours"].isna().all()
    assert mastery.loc[0, "intermediate_learners"] == 0

    collection = lp.curriculum.create_collection(w.admin, w.program.id, "SQL")
    lp.curriculum.add_entries(
        w.admin, w.program.id, [collection.id], [CollectionEntry.course(w.course.id)]
    )
    courses = lp.skills.relevant_courses(w.admin, w.org.id, w.program.id).to_pandas()
    assert dtypes(courses) == {
        "skill_id": "string",
        "domain": "string",
        "skill": "string",
        "level": "category",
        "rank": "int64",
        "course_id": "string",
        "name": "string",
        "relevance": "float64",
    }
    # Lia's zeros made each quiz harder (d = 0.5, score 311): still an INTERMEDIATE course
    assert courses[["level", "rank", "name", "relevance"]].to_dict("records") == [
        {"level": "intermediate", "rank": 1, "name": "SQL", "relevance": 0.75}
    ]


# --- HTML in Jupyter ---------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script> & <b>'
TABLE_TAGS = {"table", "caption", "tr", "th", "td"}


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(markup: str) -> _Tags:
    tags = _Tags()
    tags.feed(markup)
    tags.close()
    return tags


def test_every_result_shows_as_an_escaped_html_table(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)
    now = START + timedelta(days=7)
    contract = lp.programs.create_contract(
        w.admin, w.org.id, HOSTILE, kind="licenses", quantity=3,
        starts_at=now - timedelta(days=30), ends_at=now + timedelta(days=30),
    )  # fmt: skip
    lp.invitations.invite(w.admin, w.program.id, contract.id, full_name=HOSTILE,
                          email="eve@acme.example", send_email=False)  # fmt: skip
    w.accept("eve@acme.example")
    eve = w.learner("eve@acme.example")
    skill = lp.programs.add_skill(w.admin, w.org.id, domain=HOSTILE, name=HOSTILE + "skill")
    x_course = lp.programs.add_course(
        w.admin, w.org.id, course_id="X1", slug="x-1", name=HOSTILE,
        assessments=[Assessment.create("Q", id="x", skill_ids=[skill.id])],
    )  # fmt: skip
    lp.learning.enroll(eve, w.program.id, x_course.id)
    lp.learning.ingest(
        SYSTEM, w.org.id,
        attempts=[AssessmentAttempt(f"x{i}", eve.learner_id, x_course.id, "x", 100,
                                    START + i * HOUR) for i in range(3)],
    )  # fmt: skip
    lp.skills.score(w.admin, w.org.id)
    group = read_reference_group(
        b"Company,Geography,Size,Industry,Domain,Skill,Score\n"
        + f'Initech,Europe,1000+,Software,"{HOSTILE.replace(chr(34), chr(34) * 2)}",'
        f'"{(HOSTILE + "skill").replace(chr(34), chr(34) * 2)}",300\n'.encode()
    )
    results: list[Any] = [
        lp.reports.usage_report(w.admin, w.org.id),
        lp.reports.membership_report(w.admin, w.org.id),
        lp.reports.utilization(w.admin, w.org.id),
        lp.skills.leaderboard(w.admin, w.org.id),
        lp.skills.proficiency_by_skill(w.admin, w.org.id),
        lp.skills.hours_to_mastery(w.admin, w.org.id),
        lp.skills.effort_by_skill(w.admin, w.org.id),
        lp.skills.industry_benchmark(w.admin, w.org.id, group),
    ]
    for result in results:
        markup = result._repr_html_()
        found = parsed(markup)
        assert found.tags <= TABLE_TAGS, f"{type(result).__name__}: {found.tags}"
        assert "<script>" not in markup
        assert any(HOSTILE in text for text in found.text), type(result).__name__
    for plain in (
        lp.reports.summary(w.admin, w.org.id),
        lp.reports.funnel(w.admin, w.org.id),
        lp.reports.learner_activity(w.admin, w.org.id),
        lp.reports.learner_feedback(w.admin, w.org.id),
        lp.reports.email_report(w.admin, w.org.id).figures,
        lp.skills.mastery_over_time(w.admin, w.org.id),
        lp.skills.relevant_courses(w.admin, w.org.id, w.program.id),
        lp.skills.benchmark_over_time(w.admin, w.org.id, group, skill.id),
    ):
        assert parsed(plain._repr_html_()).tags <= TABLE_TAGS


def test_a_long_result_shows_its_first_rows_then_an_ellipsis(lp: learnprog.Learnprog) -> None:
    w = Reported(lp)
    for n in range(25):
        w.invite(f"p{n}@acme.example", f"P {n}", send_email=False)
    markup = lp.reports.membership_report(w.admin, w.org.id)._repr_html_()
    assert markup.count("<tr>") == 1 + 20 + 1  # header, 20 rows, the ellipsis
    assert markup.count("…") == 1


# --- plots -------------------------------------------------------------------------------------


def bar_heights(ax: Axes, container: int = 0) -> list[float]:
    return [bar.get_height() for bar in ax.containers[container]]


def bar_widths(ax: Axes, container: int = 0) -> list[float]:
    return [bar.get_width() for bar in ax.containers[container]]


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def ydata(line: Line2D) -> list[float]:
    return [float(y) for y in np.asarray(line.get_ydata())]


def test_the_funnel_feedback_and_utilization_plots_draw_their_figures(
    lp: learnprog.Learnprog,
) -> None:
    w = Reported(lp)
    lp.learning.rate_course(w.lia, w.program.id, w.course.id, rating=4, recommend=8)
    w.invite("cy@acme.example", "Cy", send_email=False)
    w.accept("cy@acme.example")
    w.invite("di@acme.example", "Di", send_email=False)

    ax = lp.reports.funnel(w.admin, w.org.id).plot()
    assert isinstance(ax, Axes)
    assert bar_widths(ax) == [3, 2, 1]  # invited, joined, enrolled
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Invitations sent", "Joined",
                                                            "Enrolled"]  # fmt: skip

    ax = lp.reports.learner_feedback(w.admin, w.org.id).plot()
    assert bar_heights(ax) == [0, 0, 0, 1, 0]
    assert "average 4.0 / 5" in ax.get_title()

    ax = lp.reports.utilization(w.admin, w.org.id).plot()
    assert [bar_widths(ax, i) for i in range(3)] == [[5], [2], [1]]
    assert legend_texts(ax) == ["Purchased", "Occupied", "Utilized"]
    assert ax.get_title() == "Utilization: 20% of licenses utilized"


def test_the_activity_plot_draws_enrollments_and_completions_per_period(
    lp: learnprog.Learnprog,
) -> None:
    w = Reported(lp)
    _, given = plt.subplots()
    ax = lp.reports.learner_activity(w.admin, w.org.id).plot(by="month", ax=given)
    assert ax is given
    enrollments, completions = ax.get_lines()
    assert (ydata(enrollments), ydata(completions)) == ([1], [1])
    assert list(np.asarray(enrollments.get_xdata())) == [np.datetime64("2026-03-01")]
    assert legend_texts(ax) == ["Enrollments", "Completions"]


def test_the_skills_plots_draw_their_series(lp: learnprog.Learnprog) -> None:
    w = scored(lp)
    ax = lp.skills.proficiency_by_skill(w.admin, w.org.id).plot()
    assert [bar_heights(ax, i) for i in range(3)] == [[0], [0], [2]]  # stacked per level
    assert legend_texts(ax) == [lv.value for lv in Level]

    rows = lp.skills.hours_to_mastery(w.admin, w.org.id)
    ax = rows.plot()
    assert bar_heights(ax, 0) == [rows[0].intermediate_hours]
    assert bar_heights(ax, 1) == [rows[0].advanced_hours]

    ax = lp.skills.mastery_over_time(w.admin, w.org.id).plot()
    intermediate, advanced = ax.get_lines()
    assert ydata(advanced) == [1, 2]
    assert intermediate.get_label() == "intermediate: SQL"
    assert advanced.get_linestyle() == "--"

    effort = lp.skills.effort_by_skill(w.admin, w.org.id)
    ax = effort.plot(metric="average_assessments")
    assert bar_heights(ax) == [3.0]
    assert ax.get_title() == "Avg Assessments Completed by Skill"
    with pytest.raises(ValidationError) as caught:
        effort.plot(metric="speed")  # type: ignore[arg-type]
    assert caught.value.field == "metric"

    group = read_reference_group(REFERENCE)
    (row,) = benchmark = lp.skills.industry_benchmark(w.admin, w.org.id, group)
    ax = benchmark.plot()
    assert bar_widths(ax) == [row.percentile]
    assert [t.get_text() for t in ax.texts] == [row.band.value]

    points = lp.skills.benchmark_over_time(w.admin, w.org.id, group, w.skill.id)
    ax = points.plot()
    mine, industry = ax.get_lines()[:2]
    assert ydata(mine) == [p.score for p in points]
    assert ydata(industry) == [375.0, 375.0]
    assert ax.get_ylim() == (0.0, 500.0)


MATH = "$\\frac{$ & $x"
"""A name matplotlib would read as broken math (mathtext) if it were not escaped."""


def drawn(ax: Axes) -> bytes:
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def test_names_are_drawn_as_written_never_as_math(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)
    lia, _ = w.people
    # a second skill of the same name in another domain, measured by the same quizzes
    twin = lp.programs.add_skill(w.admin, w.org.id, domain=MATH, name="SQL")
    math = lp.programs.add_skill(w.admin, w.org.id, domain="Data", name=MATH)
    lp.programs.add_course(
        w.admin, w.org.id, course_id="M1", slug="m-1", name="M",
        assessments=[Assessment.create(f"Q{i}", id=f"m{i}", skill_ids=[twin.id, math.id])
                     for i in range(3)],
    )  # fmt: skip
    course = next(c for c in lp.programs.list_courses(w.admin, w.org.id) if c.course_id == "M1")
    lp.learning.enroll(lia, w.program.id, course.id)
    lp.learning.ingest(
        SYSTEM, w.org.id,
        attempts=[AssessmentAttempt(f"m{i}", lia.learner_id, course.id, f"m{i}", 100,
                                    START + i * HOUR) for i in range(3)],
    )  # fmt: skip
    w.attempts(lia, [100, 100, 100], start=5)
    lp.skills.score(w.admin, w.org.id)
    lp.programs.create_contract(
        w.admin, w.org.id, MATH, kind="licenses", quantity=1,
        starts_at=START, ends_at=START + timedelta(days=365),
    )  # fmt: skip

    proficiency = lp.skills.proficiency_by_skill(w.admin, w.org.id)
    ax = proficiency.plot()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert sorted(ticks) == sorted(["SQL", "SQL", MATH.replace("$", "\\$")])  # one bar each
    assert drawn(ax).startswith(b"\x89PNG")
    group = read_reference_group(REFERENCE.replace(b"SQL", MATH.encode()))
    (benchmark,) = lp.skills.industry_benchmark(w.admin, w.org.id, group)
    assert benchmark.skill == MATH
    for plotted in (
        lp.skills.hours_to_mastery(w.admin, w.org.id).plot(),
        lp.skills.mastery_over_time(w.admin, w.org.id).plot(),
        lp.skills.effort_by_skill(w.admin, w.org.id).plot(),
        lp.skills.industry_benchmark(w.admin, w.org.id, group).plot(),
        lp.reports.utilization(w.admin, w.org.id).plot(),
    ):
        assert drawn(plotted).startswith(b"\x89PNG")
    legend = legend_texts(lp.skills.mastery_over_time(w.admin, w.org.id).plot())
    assert "intermediate: " + MATH.replace("$", "\\$") in legend


def outside_the_figure(ax: Axes) -> list[str]:
    """The texts of ``ax`` (ticks, axis labels, title) that the figure's edges cut off."""
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    figure.canvas.draw()  # lays the figure out as savefig does
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = figure.bbox.width, figure.bbox.height
    texts = [ax.xaxis.label, ax.yaxis.label, ax.title]
    for locations, labels, (low, high) in (
        (ax.get_xticks(), ax.get_xticklabels(), sorted(ax.get_xlim())),
        (ax.get_yticks(), ax.get_yticklabels(), sorted(ax.get_ylim())),
    ):  # a tick outside the view limits is listed but never drawn
        texts += [t for at, t in zip(locations, labels, strict=True) if low <= at <= high]
    cut = []
    for text in texts:
        if not text.get_visible() or not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
            cut.append(text.get_text())
    return cut


def test_a_new_figure_keeps_every_label_inside_its_edges(lp: learnprog.Learnprog) -> None:
    # found following the README: the funnel saved with savefig() lost "Invit" of
    # "Invitations sent" and the bottom of its "memberships" label
    w = scored(lp)
    group = read_reference_group(REFERENCE)
    for plotted in (
        lp.reports.funnel(w.admin, w.org.id).plot(),
        lp.reports.learner_activity(w.admin, w.org.id).plot(by="month"),
        lp.reports.learner_feedback(w.admin, w.org.id).plot(),
        lp.reports.utilization(w.admin, w.org.id).plot(),
        lp.skills.proficiency_by_skill(w.admin, w.org.id).plot(),
        lp.skills.hours_to_mastery(w.admin, w.org.id).plot(),
        lp.skills.mastery_over_time(w.admin, w.org.id).plot(),
        lp.skills.effort_by_skill(w.admin, w.org.id).plot(),
        lp.skills.industry_benchmark(w.admin, w.org.id, group).plot(),
    ):
        assert outside_the_figure(plotted) == [], plotted.get_title()


def test_an_empty_result_plots_nothing_without_error(lp: learnprog.Learnprog) -> None:
    w = Skilled(lp)
    assert lp.skills.mastery_over_time(w.admin, w.org.id).plot().get_lines() == []
    later = datetime(2027, 1, 1, tzinfo=UTC)
    ax = lp.reports.learner_activity(w.admin, w.org.id, start=later).plot()
    assert [ydata(line) for line in ax.get_lines()] == [[], []]
    assert bar_widths(lp.reports.utilization(w.admin, w.org.id).plot(), 0) == [10]


# --- without the notebook extra ----------------------------------------------------------------

BLOCKED = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    for name in {blocked!r}:
        sys.modules[name] = None  # makes "import name" fail, as if not installed

    import learnprog
    from learnprog.errors import LearnprogError, MissingExtraError
    from learnprog.model.reporting import UsageFunnel

    lp = learnprog.connect("memory://")
    funnel = UsageFunnel.from_counts(3, 2, 1, datetime(2026, 3, 2, tzinfo=UTC))
    try:
        {call}
    except MissingExtraError as exc:
        assert isinstance(exc, LearnprogError) and isinstance(exc, ImportError)
        print(exc.module, exc.extra, "|", exc)
    else:
        print("no error")
    print("loaded:", sorted(m for m in ("pandas", "matplotlib") if sys.modules.get(m)))
    """
)


def run_blocked(blocked: list[str], call: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED.format(blocked=blocked, call=call)],
        env=example_env(MPLBACKEND="Agg"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_without_pandas_to_pandas_names_the_extra_to_install() -> None:
    out = run_blocked(["pandas"], "funnel.to_pandas()")
    assert out.splitlines()[0] == (
        "pandas notebook | pandas is not installed: pip install 'learnprog[notebook]'"
    )


def test_without_matplotlib_plot_names_the_extra_to_install() -> None:
    out = run_blocked(["matplotlib", "matplotlib.pyplot"], "funnel.plot()")
    assert out.splitlines()[0].startswith("matplotlib notebook | matplotlib is not installed")


def test_learnprog_imports_neither_pandas_nor_matplotlib_until_asked() -> None:
    out = run_blocked([], "funnel._repr_html_()")
    assert out.splitlines() == ["no error", "loaded: []"]
    out = run_blocked([], "funnel.to_pandas()")
    assert out.splitlines() == ["no error", "loaded: ['pandas']"]


def test_the_dates_of_a_frame_are_calendar_days() -> None:
    frame = to_frame([Column("day", ColumnKind.DAY)], [(date(2026, 3, 2),)])
    assert frame.loc[0, "day"] == pd.Timestamp("2026-03-02")
    assert frame["day"].dt.tz is None


def test_reports_become_the_same_frames_on_every_backend(lp_any: learnprog.Learnprog) -> None:
    """A SQL store's values as the driver gives them: naive UTC times on PostgreSQL and
    MariaDB, SQLite's text, MariaDB's ``Decimal`` sums."""
    w = Reported(lp_any)
    w.invite("cy@acme.example", "Cy", send_email=False)
    usage = lp_any.reports.usage_report(w.admin, w.org.id).to_pandas()
    (row,) = usage.to_dict("records")
    assert row["Enrollment Time"] == w.enrollment.enrolled_at
    assert row["Completion Time"] == START + timedelta(hours=1, minutes=30, microseconds=782_999)
    assert (row["Estimated Learning Hours"], row["Course Grades"]) == (0.5, 88.25)
    assert dtypes(usage)["Completion Time"] == TIME
    members = lp_any.reports.membership_report(w.admin, w.org.id).to_pandas()
    assert dtypes(members)["# Completed Courses"] == "int64"
    assert dtypes(members)["Member State"] == "category"
    by_email = members.set_index("Email")
    assert by_email.loc["lia@acme.example", "# Completed Courses"] == 1
    assert by_email.loc["cy@acme.example", "Member State"] == "INVITED"
    assert by_email.loc["cy@acme.example", "Invitation Date"] == START
