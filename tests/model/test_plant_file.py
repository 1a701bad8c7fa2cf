"""Bad plant files: one clear error per mistake, with file, line, field and what is allowed.

Each test takes the valid example plant, makes one precise mistake in its text, and checks the
problem the loader reports. Expected lines are found by searching the mutated text, never
hard-coded, so editing the example does not break these tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartfactory.model.errors import PlantFileError, Problem
from smartfactory.model.plant_file import TomlLocator, load_plant

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "plants"
EXAMPLE = EXAMPLES / "discrete_machining.toml"


@pytest.fixture(scope="module")
def valid_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def mutate(text: str, *replacements: tuple[str, str]) -> str:
    """Apply each (old, new) replacement once; old must occur in the text."""
    for old, new in replacements:
        assert old in text, f"the example no longer contains {old!r}"
        text = text.replace(old, new, 1)
    return text


def line_at(text: str, snippet: str) -> int:
    """The 1-based line on which ``snippet`` (which must be unique) starts."""
    assert text.count(snippet) == 1, f"{snippet!r} occurs {text.count(snippet)} times"
    return text[: text.index(snippet)].count("\n") + 1


def problems_of(tmp_path: Path, text: str) -> tuple[str, list[Problem]]:
    path = tmp_path / "plant.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlantFileError) as info:
        load_plant(path)
    assert info.value.problems, "a PlantFileError must list its problems"
    for problem in info.value.problems:
        assert problem.source == str(path)
    return str(path), info.value.problems


def the_problem(problems: list[Problem], location: str) -> Problem:
    found = [p for p in problems if p.location == location]
    assert found, f"no problem at {location!r}; got {[str(p) for p in problems]}"
    return found[0]


# --- valid files -------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_plant_loads(path: Path) -> None:
    plant = load_plant(path)
    assert plant.equipment and plant.lines and plant.routings


# --- one test per kind of mistake ----------------------------------------------------------


def test_toml_syntax_error_gives_the_line_tomllib_reports(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ("buffer_capacity = 8\n", "buffer_capacity = = 8\n"))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    (problem,) = problems
    assert problem.line == line_at(text, "buffer_capacity = = 8")
    assert "TOML syntax" in problem.message


def test_unknown_field_names_the_field_and_the_allowed_ones(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ("buffer_capacity = 8\n", "buffer_capacity = 8\nbufer_size = 3\n"))
    source, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "work_cell[2].bufer_size")
    assert problem.line == line_at(text, "bufer_size = 3")
    assert "unknown field 'bufer_size'" in problem.message
    assert "allowed: buffer_capacity, id, name, parent" in problem.message
    assert str(problem).startswith(f"{source}:{problem.line} [work_cell[2].bufer_size]: ")


def test_missing_id(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ('[[equipment]]\nid = "OP40-W1"\n', "[[equipment]]\n"))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "equipment[9].id")
    # the entry has no id line, so the error points at its table header
    assert problem.line == line_at(text, '[[equipment]]\nparent = "OP40"')
    assert "required field 'id' is missing" in problem.message


def test_duplicate_id(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ('id = "OP40-W1"', 'id = "OP35-G1"'))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "equipment[9].id")
    assert problem.line == line_at(text, 'id = "OP35-G1"\nparent = "OP40"')
    assert "duplicate id 'OP35-G1'" in problem.message
    assert "unique across the whole hierarchy" in problem.message
    assert "equipment[8].id" in problem.message  # where it was first used


def test_cycle_in_the_hierarchy(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ('id = "suzhou"\nparent = "acme"', 'id = "suzhou"\nparent = "machining"'))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "site[0].parent")
    assert problem.line == line_at(text, 'id = "suzhou"\nparent = "machining"') + 1
    assert "cycle" in problem.message
    assert "suzhou → machining → suzhou" in problem.message
    assert "one level up" in problem.message


def test_dangling_parent_reference(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ('id = "OP20-M1"\nparent = "OP20"', 'id = "OP20-M1"\nparent = "OP25"'))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "equipment[3].parent")
    assert problem.line == line_at(text, 'parent = "OP25"')
    assert "'OP25'" in problem.message and "does not exist" in problem.message
    assert "'OP20'" in problem.message and "'OP60'" in problem.message  # the work cells there are


def test_signal_range_min_above_max(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ("normal = [50.0, 70.0]", "normal = [70.0, 50.0]"))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "equipment[9].signal[0].normal")
    assert problem.line == line_at(text, "normal = [70.0, 50.0]")
    assert "min 70.0 is above max 50.0" in problem.message
    assert "[min, max]" in problem.message


def test_negative_cycle_time(tmp_path: Path, valid_text: str) -> None:
    step = '{ work_cell = "OP30", cycle_s = 270, setup_s = 1500 }'
    bad = '{ work_cell = "OP30", cycle_s = -270, setup_s = 1500 }'
    text = mutate(valid_text, (step, bad))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "routing[1].steps[2].cycle_s")
    # the step's own line inside the multi-line steps array, not the ``steps = [`` line
    assert problem.line == line_at(text, bad)
    assert "greater than 0" in problem.message
    assert "-270" in problem.message


def test_overlapping_shifts(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ('start = "20:00", end = "08:00"', 'start = "19:00", end = "08:00"'))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "calendar[0].shifts[1]")
    assert problem.line == line_at(text, '{ id = "N"')
    assert "shift 'N' overlaps shift 'D'" in problem.message
    assert "must not overlap" in problem.message


def test_order_for_unknown_product(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ('product = "PMP-C"\nquantity = 160', 'product = "PMP-X"\nquantity = 160'))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "order[1].product")
    assert problem.line == line_at(text, 'product = "PMP-X"')
    assert "unknown product 'PMP-X'" in problem.message
    assert "['HSG-A', 'HSG-B', 'PMP-C']" in problem.message


def test_duplicate_signal_names(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ('name = "hydraulic_pressure"', 'name = "press_force"'))
    _, problems = problems_of(tmp_path, text)
    locations = {p.location for p in problems}
    assert locations == {"equipment[10].signal[0].name", "equipment[10].signal[1].name"}
    second = the_problem(problems, "equipment[10].signal[1].name")
    # the renamed signal is the second line that now reads name = "press_force"
    first_line = line_at(text, 'name = "press_force"\nunit = "kN"')
    assert second.line == line_at(text, 'name = "press_force"\nunit = "bar"')
    assert the_problem(problems, "equipment[10].signal[0].name").line == first_line
    assert "duplicate signal 'press_force'" in second.message
    assert "unique within one equipment" in second.message


def test_failure_mode_with_unknown_reason(tmp_path: Path, valid_text: str) -> None:
    # the first equipment writes its modes over several lines: the error points at the mode
    old = '  { reason = "U.MECH.AXIS", weight = 0.25 },'
    bad = '  { reason = "U.MECH.AXES", weight = 0.25 },'
    text = mutate(valid_text, (old, bad))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "equipment[0].reliability.modes[1].reason")
    assert problem.line == line_at(text, bad)
    assert "unknown reason 'U.MECH.AXES'" in problem.message
    assert "'U.MECH.AXIS'" in problem.message  # the unplanned reasons it may name


def test_routing_that_skips_a_work_cell(tmp_path: Path, valid_text: str) -> None:
    skipped = '  { work_cell = "OP35", cycle_s = 130, setup_s = 900 },\n'
    text = mutate(valid_text, (skipped, ""))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "routing[1].steps")
    assert problem.line == line_at(text, 'product = "HSG-B"\nline = "L1"\nsteps = [') + 2
    assert "must visit every work cell of line 'L1' once, in flow order" in problem.message
    assert "['OP10', 'OP20', 'OP30', 'OP35', 'OP40', 'OP50', 'OP60']" in problem.message


def test_missing_reason_role(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ('role = "micro_stop"\n', ""))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "reason")
    assert problem.line == line_at(text, '[[reason]]\ncode = "P"\n')
    assert "no reason has role = 'micro_stop'" in problem.message
    assert "roles: no_shift, break, holiday, planned_maintenance, micro_stop, tool_change" in problem.message


def test_unknown_time_zone(tmp_path: Path, valid_text: str) -> None:
    text = mutate(valid_text, ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Suzhou"'))
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "plant.timezone")
    assert problem.line == line_at(text, 'timezone = "Asia/Suzhou"')
    assert "unknown time zone 'Asia/Suzhou'" in problem.message
    assert "IANA" in problem.message


def test_order_released_after_it_is_due(tmp_path: Path, valid_text: str) -> None:
    text = mutate(
        valid_text,
        ("due = 2026-03-04T08:00:00", "due = 2026-03-04T08:00:00\nrelease = 2026-03-05T08:00:00"),
    )
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    problem = the_problem(problems, "order[1].release")
    assert problem.line == line_at(text, "release = 2026-03-05T08:00:00")
    assert "released after it is due" in problem.message
    assert "at or before due" in problem.message


# --- all at once, nothing stored ------------------------------------------------------------


def test_every_mistake_in_a_file_is_listed_at_once(tmp_path: Path, valid_text: str) -> None:
    text = mutate(
        valid_text,
        ("buffer_capacity = 8\n", "buffer_capacity = 8\nbufer_size = 3\n"),  # schema
        ('product = "PMP-C"\nquantity = 160', 'product = "PMP-X"\nquantity = 160'),  # reference
        ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Suzhou"'),  # time zone
    )
    source, problems = problems_of(tmp_path, text)
    assert {p.location for p in problems} == {"work_cell[2].bufer_size", "order[1].product", "plant.timezone"}
    assert the_problem(problems, "work_cell[2].bufer_size").line == line_at(text, "bufer_size = 3")
    assert the_problem(problems, "order[1].product").line == line_at(text, 'product = "PMP-X"')
    with pytest.raises(PlantFileError) as info:
        load_plant(source)
    assert f"({len(problems)} problem(s))" in str(info.value)


def test_a_bad_plant_file_writes_nothing_to_the_store(tmp_path: Path, valid_text: str) -> None:
    text = mutate(
        valid_text,
        ("buffer_capacity = 8\n", "buffer_capacity = 8\nbufer_size = 3\n"),
        ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Suzhou"'),
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    store = tmp_path / "store"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartfactory.cli.main",
            "simulate",
            "--plant",
            str(bad),
            "--days",
            "0.5",
            "--store",
            str(store),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: plant file {bad} is invalid (2 problem(s)):"
    ]
    assert f"{bad}:{line_at(text, 'bufer_size = 3')} [work_cell[2].bufer_size]" in result.stderr
    assert f"{bad}:{line_at(text, 'timezone =')} [plant.timezone]" in result.stderr
    assert not (store / "telemetry.duckdb").exists()
    assert not (store / "registry.sqlite").exists()
    assert not (tmp_path / ".smartfactory").exists()


def test_a_date_only_release_after_a_date_time_due_is_a_clear_error(tmp_path: Path) -> None:
    """TOML allows dates and date-times side by side; comparing them must not crash."""
    text = Path("examples/plants/discrete_machining.toml").read_text(encoding="utf-8")
    old = "quantity = 240\ndue = 2026-03-03T20:00:00\n"
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, old + "release = 2026-03-04\n"), encoding="utf-8")
    with pytest.raises(PlantFileError) as caught:
        load_plant(bad)
    assert any("release" in p.location and "due" in p.message for p in caught.value.problems)


def test_a_missing_key_is_placed_at_its_table_not_at_a_sub_table_key_of_the_same_name() -> None:
    text = '[[equipment]]\nid = "M1"\n\n[[equipment.signal]]\nname = "spindle"\n'
    assert TomlLocator(text).line_of(("equipment", 0, "name")) == 1


def test_a_key_is_placed_on_its_own_line_even_when_its_table_header_contains_its_name() -> None:
    text = '[[subdomain]]\nid = "x"\ndomain = "y"\n'
    assert TomlLocator(text).line_of(("subdomain", 0, "domain")) == 3
