"""examples/oulad_walkthrough.ipynb runs from top to bottom and shows what it says it shows.

The notebook is executed once per session with nbclient in a ``python3`` kernel (ipykernel),
with ``MPLBACKEND=Agg`` so nothing ever needs a display; about 20 s.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from typing import Any

import pytest
from PIL import Image

from learnprog.datasets.oulad import shipped_data
from tests.conftest import IN_CI
from tests.examples import conftest as examples_conftest
from tests.examples.conftest import EXAMPLES, example_env, require

NOTEBOOK = EXAMPLES / "oulad_walkthrough.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

Cell = dict[str, Any]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> list[Cell]:
    """The notebook's cells after running it in a fresh kernel."""
    nbformat = require("nbformat")
    nbclient = require("nbclient")
    require("ipykernel")
    require("matplotlib")
    require("pandas")
    from jupyter_client.kernelspec import NoSuchKernel

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cwd = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(cwd)}}
    )
    try:
        client.execute(env=example_env(MPLBACKEND="Agg"))
    except NoSuchKernel as exc:
        message = f"no python3 Jupyter kernel ({exc}); pip install -e '.[notebook]'"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # A plain-JSON round trip: the tests read dicts, whatever nbformat's node classes are.
    cells: list[Cell] = json.loads(nbformat.writes(notebook))["cells"]
    return cells


def tagged(cells: list[Cell], tag: str) -> Cell:
    [cell] = [c for c in cells if tag in c["metadata"].get("tags", [])]
    return cell


def stdout(cell: Cell) -> str:
    return "".join(
        "".join(o["text"])
        for o in cell["outputs"]
        if o["output_type"] == "stream" and o["name"] == "stdout"
    )


def figure(cell: Cell) -> Image.Image:
    """The one PNG image the cell displayed, decoded."""
    images = [
        base64.b64decode("".join(o["data"]["image/png"]))
        for o in cell["outputs"]
        if o["output_type"] == "display_data" and "image/png" in o["data"]
    ]
    assert len(images) == 1, f"expected one figure, got {len(images)}"
    assert images[0].startswith(PNG_MAGIC)
    return Image.open(io.BytesIO(images[0]))


def number(text: str, label: str) -> int:
    match = re.search(rf"^{re.escape(label)}: (\d+)$", text, re.MULTILINE)
    assert match is not None, f"{label!r} not printed in {text!r}"
    return int(match.group(1))


def shipped_students() -> int:
    with (shipped_data() / "studentInfo.csv").open(encoding="utf-8", newline="") as f:
        return len({row["id_student"] for row in csv.DictReader(f)})


def shipped_registrations() -> int:
    with (shipped_data() / "studentRegistration.csv").open(encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


def test_notebook_is_saved_without_outputs() -> None:
    saved = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in saved["cells"] if c["cell_type"] == "code"]
    assert code
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert saved["metadata"]["kernelspec"]["name"] == "python3"


def test_the_data_is_attributed_before_it_is_used() -> None:
    saved = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    first_code = next(i for i, c in enumerate(saved["cells"]) if c["cell_type"] == "code")
    attribution = "".join(tagged(saved["cells"], "attribution")["source"])
    assert saved["cells"].index(tagged(saved["cells"], "attribution")) < first_code
    for needed in ("Kuzilek", "Scientific Data", "doi:10.1038/sdata.2017.171", "CC BY 4.0"):
        assert needed in attribution


def test_every_cell_runs_without_error(executed: list[Cell]) -> None:
    code = [c for c in executed if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1))
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert errors == []
    assert all(
        o["name"] == "stdout" for c in code for o in c["outputs"] if o["output_type"] == "stream"
    ), "a cell wrote to stderr"


def test_the_import_stores_every_shipped_student_and_registration(executed: list[Cell]) -> None:
    text = stdout(tagged(executed, "import"))
    assert number(text, "members created") == shipped_students()
    assert number(text, "enrollments created") == shipped_registrations()
    assert number(text, "attempts added") > 30_000
    assert "note: the per-click table (studentVle) is not in the subset" in text


def test_the_members_list_shows_a_page_of_the_members(executed: list[Cell]) -> None:
    text = stdout(tagged(executed, "members"))
    assert text.startswith(f"{shipped_students()} members; the first 8 by name:")
    rows = [line for line in text.splitlines() if line.startswith("  Student ")]
    assert len(rows) == 8
    assert all("@example.org" in row for row in rows)
    assert 0 < number(text, "at risk") < shipped_students()


def test_the_funnel_counts_the_imported_and_invited_learners(executed: list[Cell]) -> None:
    cell = tagged(executed, "funnel")
    text = stdout(cell)
    students = shipped_students()
    # Five colleagues invited after the import, two of whom joined, none enrolled.
    assert number(text, "Invitations sent") == students + 5
    assert number(text, "Joined") == students + 2
    assert number(text, "Enrolled") == students
    width, height = figure(cell).size
    assert width > 300
    assert height > 150


def test_the_enrollment_trends_are_drawn_per_month(executed: list[Cell]) -> None:
    cell = tagged(executed, "activity")
    text = stdout(cell)
    totals = re.search(r"^enrollments: (\d+), completions: (\d+)$", text, re.MULTILINE)
    assert totals is not None
    assert int(totals.group(1)) == shipped_registrations()
    assert 0 < int(totals.group(2)) <= shipped_registrations()
    busiest = re.search(r"^busiest month: (\d{4})-(\d{2}) \((\d+) enrollments\)$", text, re.M)
    assert busiest is not None
    assert busiest.group(1) in ("2013", "2014")
    assert 0 < int(busiest.group(3)) <= shipped_registrations()
    image = figure(cell).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 24)
    assert colors is not None
    assert len(colors) > 3, "the figure is blank"


def test_skill_levels_are_tabled_and_drawn_as_stacked_bars(executed: list[Cell]) -> None:
    cell = tagged(executed, "skills")
    text = stdout(cell)
    table = {
        line.split()[1]: [int(n) for n in line.split()[2:]]
        for line in text.splitlines()
        if line.startswith("Module ")
    }
    assert set(table) == {"AAA", "BBB", "DDD", "EEE", "FFF", "GGG"}
    assert all(len(levels) == 3 for levels in table.values())
    scored = re.search(r"^attempts scored: (\d+), ratings: (\d+)$", text, re.MULTILINE)
    assert scored is not None
    assert int(scored.group(1)) > 30_000
    # Learners with fewer than three rated attempts in a skill have a rating but no level.
    rated = sum(sum(levels) for levels in table.values())
    assert 0 < rated <= int(scored.group(2))
    image = figure(cell).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 24)
    assert colors is not None
    assert len(colors) > 3, "the figure is blank"


def test_the_summary_and_the_email_figures_are_printed(executed: list[Cell]) -> None:
    text = stdout(tagged(executed, "summary"))
    assert number(text, "Total enrollments") == shipped_registrations()
    assert number(text, "Total unique learners") == shipped_students() + 2
    assert number(text, "Total course completions") > 0


def test_a_report_becomes_a_data_frame(executed: list[Cell]) -> None:
    cell = tagged(executed, "pandas")
    match = re.search(r"usage report: \((\d+), (\d+)\)", stdout(cell))
    assert match is not None
    rows, columns = int(match.group(1)), int(match.group(2))
    assert 0 < rows <= shipped_registrations()
    assert columns >= 20
    html = [o for o in cell["outputs"] if "text/html" in o.get("data", {})]
    assert html
    assert "Student " in "".join(html[0]["data"]["text/html"])


def test_a_missing_dependency_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(examples_conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="no_such_module_for_learnprog"):
        require("no_such_module_for_learnprog")


def test_a_missing_dependency_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(examples_conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match=r"pip install -e '\.\[notebook\]'"):
        require("no_such_module_for_learnprog")
