"""The OULAD import at the published size into SQLite, beside a hand-written executemany floor.

The shipped subset (``learnprog/datasets/oulad/``; Kuzilek J., Hlosta M., Zdrahal Z. "Open
University Learning Analytics dataset", Scientific Data 4, 170171 (2017),
doi:10.1038/sdata.2017.171, CC BY 4.0: keep this attribution wherever the data is copied) is
scaled, in a temporary folder that is deleted afterwards, to the published dataset's size:
32,593 registrations and 173,912 assessment rows (``--scale`` multiplies both). Copy ``c`` of
the subset is a new set of presentations (year + 2c: ``AAA-2017J``), with new student,
assessment and site IDs; each copied presentation lists its assessments twice (two IDs each),
so a registration has about as many scores as in the published data (5.3). The copies cycle
until both counts are reached; the files are written with the published files' quoted cells.

Then, in one SQLite file each, prints rows per second of

- learnprog: :func:`learnprog.datasets.oulad.import_oulad` into an empty organization (with
  its progress callback counting the steps' calls);
- the floor: the same CSV files read with the csv module, and every row learnprog stored
  (read back from its database, table by table) inserted into an empty database of the same
  schema with one ``executemany`` per table and 5,000 rows, in one transaction.

The ratio of the two times is the figure to watch (the issue's target: within 3x). Figures
only; nothing is asserted.

    python benchmarks/oulad_import.py [--scale 1.0] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import learnprog
from learnprog.clock import FixedClock
from learnprog.datasets.oulad import import_oulad, shipped_data
from learnprog.model import OrgAdminActor, SystemActor
from learnprog.storage.sql import create_sql_engine, upgrade
from learnprog.storage.sql.tables import metadata

REGISTRATIONS = 32_593
"""The published dataset's studentRegistration.csv rows."""
SCORES = 173_912
"""The published dataset's studentAssessment.csv rows."""
FLOOR_CHUNK = 5_000
NOW = datetime(2026, 3, 2, tzinfo=UTC)
FILES = ("courses.csv", "assessments.csv", "vle.csv", "studentInfo.csv",
         "studentRegistration.csv", "studentAssessment.csv")  # fmt: skip


def _read(name: str) -> list[dict[str, str]]:
    with (shipped_data() / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write(folder: Path, name: str, rows: Iterator[dict[str, str]], header: list[str]) -> int:
    written = 0
    with (folder / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header, quoting=csv.QUOTE_ALL)  # as published
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            written += 1
    return written


def scaled(folder: Path, registrations: int, scores: int) -> tuple[int, int]:
    """Write the subset scaled to ``registrations`` and ``scores`` rows; return both counts."""
    courses, assessments, vle = _read("courses.csv"), _read("assessments.csv"), _read("vle.csv")
    info, regs = _read("studentInfo.csv"), _read("studentRegistration.csv")
    by_student: dict[tuple[str, str], list[dict[str, str]]] = {}
    course_of = {
        a["id_assessment"]: (a["code_module"], a["code_presentation"]) for a in assessments
    }
    for s in _read("studentAssessment.csv"):
        key = (*course_of[s["id_assessment"]], s["id_student"])
        by_student.setdefault((key[0] + key[1], key[2]), []).append(s)
    copies = -(-registrations // len(regs))
    top_student = max(int(r["id_student"]) for r in regs) + 1
    top_assessment = max(int(a["id_assessment"]) for a in assessments) + 1
    top_site = max(int(v["id_site"]) for v in vle) + 1

    def presentation(code: str, c: int) -> str:
        return f"{int(code[:4]) + 2 * c}{code[4:]}"

    def student(sid: str, c: int) -> str:
        return str(int(sid) + c * top_student)

    def assessment(aid: str, c: int, twin: int) -> str:
        return str(int(aid) + (2 * c + twin) * top_assessment)

    def copied(rows: list[dict[str, str]], **change: Any) -> Iterator[dict[str, str]]:
        for c in range(copies):
            for row in rows:
                yield {k: change[k](v, c) if k in change else v for k, v in row.items()}

    _write(folder, "courses.csv", copied(courses, code_presentation=presentation),
           list(courses[0]))  # fmt: skip
    twins = [
        {**a, "id_assessment": assessment(a["id_assessment"], c, twin),
         "code_presentation": presentation(a["code_presentation"], c)}
        for c in range(copies) for twin in (0, 1) for a in assessments
    ]  # fmt: skip
    _write(folder, "assessments.csv", iter(twins), list(assessments[0]))
    _write(folder, "vle.csv", copied(vle, code_presentation=presentation,
           id_site=lambda v, c: str(int(v) + c * top_site)), list(vle[0]))  # fmt: skip
    cycled = list(islice(((c, r) for c in range(copies) for r in regs), registrations))
    seen = {(c, r["id_student"]) for c, r in cycled}
    _write(folder, "studentInfo.csv", (
        {**r, "id_student": student(r["id_student"], c),
         "code_presentation": presentation(r["code_presentation"], c)}
        for c in range(copies) for r in info if (c, r["id_student"]) in seen
    ), list(info[0]))  # fmt: skip
    made = _write(folder, "studentRegistration.csv", (
        {**r, "id_student": student(r["id_student"], c),
         "code_presentation": presentation(r["code_presentation"], c)}
        for c, r in cycled
    ), list(regs[0]))  # fmt: skip

    def score_rows() -> Iterator[dict[str, str]]:
        for c, r in cycle(cycled):
            for twin in (0, 1):
                for s in by_student.get((r["code_module"] + r["code_presentation"],
                                         r["id_student"]), []):  # fmt: skip
                    yield {**s, "id_assessment": assessment(s["id_assessment"], c, twin),
                           "id_student": student(s["id_student"], c)}  # fmt: skip

    header = ["id_assessment", "id_student", "date_submitted", "is_banked", "score"]
    return made, _write(folder, "studentAssessment.csv", islice(score_rows(), scores), header)


def learnprog_run(url: str, folder: Path, students: int) -> tuple[float, Counter[str]]:
    lp = learnprog.connect(
        url, clock=FixedClock(NOW), mailer=learnprog.InMemoryMailer(),  # nothing is sent
        settings=learnprog.Settings(secret_key="benchmark-secret-not-for-links"),
    )  # fmt: skip
    org = lp.organizations.create_organization(
        SystemActor(), "OU", email_domains=["ou.example"], admin_name="Ana",
        admin_email="ana@ou.example",
    )  # fmt: skip
    admin = lp.organizations.resolve_actor(SystemActor(), org.id, "ana@ou.example")
    assert isinstance(admin, OrgAdminActor)
    program = lp.programs.create_program(admin, org.id, "OU", slug="ou")
    contract = lp.programs.create_contract(
        admin, org.id, "Licenses", kind="licenses", quantity=students,
        starts_at=datetime(2013, 1, 1, tzinfo=UTC), ends_at=datetime(2040, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    calls: Counter[str] = Counter()

    def progress(step: str, done: int) -> None:
        calls[step] += 1

    started = time.perf_counter()
    report = import_oulad(lp, admin, org.id, program.id, contract.id, source=folder,
                          on_progress=progress)  # fmt: skip
    seconds = time.perf_counter() - started
    if report.members.rejected or report.enrollments.rejected or report.attempts.rejected:
        raise SystemExit(f"the scaled data was not all stored: {report}")
    return seconds, calls


def floor_run(source: sa.Engine, url: str, folder: Path) -> tuple[float, int]:
    """Read the files, then insert every row learnprog stored: the time and the row count."""
    with source.connect() as read:
        tables = [(t, [dict(r._mapping) for r in read.execute(t.select())])
                  for t in metadata.sorted_tables]  # fmt: skip
    engine = create_sql_engine(url)
    upgrade(engine)
    rows = 0
    started = time.perf_counter()
    for name in FILES:
        with (folder / name).open(encoding="utf-8", newline="") as handle:
            for _ in csv.reader(handle):
                pass
    with engine.begin() as conn:
        for table, stored in tables:
            for i in range(0, len(stored), FLOOR_CHUNK):
                conn.execute(table.insert(), stored[i : i + FLOOR_CHUNK])
            rows += len(stored)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="of the published size")
    parser.add_argument("--keep", type=Path, help="also copy the scaled files to this folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="oulad-bench-"))
    try:
        data = work / "data"
        data.mkdir()
        shutil.copy(shipped_data() / "README.md", data / "README.md")  # the attribution
        registrations, scores = scaled(
            data, max(1, round(REGISTRATIONS * args.scale)), max(1, round(SCORES * args.scale))
        )
        with (data / "studentRegistration.csv").open(encoding="utf-8", newline="") as handle:
            students = len({r["id_student"] for r in csv.DictReader(handle)})
        if args.keep is not None:
            shutil.copytree(data, args.keep, dirs_exist_ok=True)
        print(f"scaled OULAD: {registrations:,} registrations, {scores:,} assessment rows, "
              f"{students:,} students")  # fmt: skip
        url = f"sqlite:///{work / 'learnprog.db'}"
        seconds, calls = learnprog_run(url, data, students)
        rows = registrations + scores
        print(f"learnprog import_oulad, sqlite: {rows / seconds:,.0f} rows/s ({seconds:.1f} s); "
              f"progress calls: {dict(sorted(calls.items()))}")  # fmt: skip
        source = create_sql_engine(url)
        floor, stored = floor_run(source, f"sqlite:///{work / 'floor.db'}", data)
        source.dispose()
        print(f"floor (csv + executemany of the {stored:,} rows stored), sqlite: "
              f"{rows / floor:,.0f} rows/s ({floor:.1f} s)")  # fmt: skip
        print(f"learnprog / floor: {seconds / floor:.1f}x (target: within 3x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
