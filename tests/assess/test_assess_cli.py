"""``smartfactory assess``, run as a user runs it: exit codes, one-line errors, the report formats.

The paths a user meets first (help, template, a bad file, a table, a store) run in a subprocess
like tests/cli/test_cli.py. The many small option checks call the same entry point
(``smartfactory.cli.main.run``) in this process, which spares a second of interpreter start each.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from answers_helpers import MINI, answers_text, mini_library, write
from clitools import PLANT, cli, ok, one_line_error
from smartfactory.cli import main

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the mini frameworks and a complete answers file for them."""
    folder = tmp_path_factory.mktemp("assess")
    mini_library(folder / "frameworks")
    write(folder, answers_text(cnc="0.7"))
    return folder


@pytest.fixture
def smartfactory(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """``smartfactory ARGS`` through the real entry point, in this process."""

    def call(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["smartfactory", *args])
        try:
            main.run()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)

    return call


def frameworks(work: Path) -> tuple[str, str]:
    return "--frameworks", str(work / "frameworks")


# --- in a subprocess ------------------------------------------------------------------------------


def test_help(tmp_path: Path) -> None:
    result = ok(cli("assess", "--help", cwd=tmp_path)).stdout
    assert "Usage:" in result and "template" in result and "explain" in result and "--answers" in result
    assert not list(tmp_path.iterdir()), "help writes nothing"


def test_template_then_a_blank_file_lists_every_missing_answer(work: Path, tmp_path: Path) -> None:
    zh = ok(cli("assess", "template", "--lang", "zh", cwd=tmp_path)).stdout
    assert zh.startswith("# smartfactory 智能工厂自评估 — gradient/2025/national")
    assert "framework: gradient/2025/national" in zh and "# yes（是）| no（否）" in zh
    path = write(tmp_path, zh, "blank.yaml")
    result = cli("assess", "--answers", str(path), cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: answers file {path} cannot be scored for gradient/2025/national (")
    assert len(lines) > 100
    assert all(line.startswith(f"  - {path}:") and "missing answer; allowed:" in line for line in lines[1:])


def test_the_table_report(work: Path) -> None:
    table = ok(
        cli("assess", "--answers", "answers.yaml", "--plant", str(PLANT), *frameworks(work), cwd=work)
    ).stdout
    lines = table.splitlines()
    assert lines[0].startswith("! live data and declared answers disagree on M-ADV-CNC")
    assert "Level reached: Basic (basic); next: Advanced (advanced)" in table
    assert "unverified threshold" in table and "disagreement" in table
    assert "≠ M-ADV-CNC: declared 0.7 but measured 1" in table


def test_one_line_errors_in_a_subprocess(work: Path) -> None:
    assert "give --answers FILE" in one_line_error(cli("assess", cwd=work))
    line = one_line_error(cli("assess", "--answers", "missing.yaml", cwd=work))
    assert line == "error: cannot read answers file missing.yaml: No such file or directory"


def test_live_evidence_from_a_store(tmp_path: Path) -> None:
    ok(
        cli(
            "simulate",
            "--plant",
            str(PLANT),
            "--days",
            "0.5",
            "--seed",
            "3",
            "--store",
            str(tmp_path / "store"),
            cwd=tmp_path,
        )
    )
    mini_library(tmp_path / "frameworks")
    write(tmp_path, answers_text(net="0.5"))
    result = ok(
        cli(
            "assess",
            "--answers",
            "answers.yaml",
            "--store",
            "store",
            "--format",
            "json",
            *frameworks(tmp_path),
            cwd=tmp_path,
        )
    )
    doc = json.loads(result.stdout)
    # the plant comes from the store's registry; networking is measured from the telemetry
    assert doc["plant"]["id"] == "suzhou-housing" and doc["industry"]["from"] == "plant suzhou-housing"
    live = doc["live"]["key_equipment_networking_rate"]
    assert live["value"] is not None and "sql" in live["provenance"]["query"]
    net = {c["id"]: c for c in doc["criteria"]}["M-BAS-NET"]
    assert net["used"] == "live" and net["disagreement"] is not None
    assert doc["scenarios"]["registry_read"] is True


# --- through the same entry point, in this process ----------------------------------------------------


def test_run_and_json_and_budget(work: Path, smartfactory: Run) -> None:
    doc = json.loads(
        ok(
            smartfactory(
                "assess",
                "run",
                "--answers",
                "answers.yaml",
                "--format",
                "json",
                "--budget",
                "500000",
                *frameworks(work),
                cwd=work,
            )
        ).stdout
    )
    assert doc["schema"] == "smartfactory.assessment/1"
    assert doc["framework"]["id"] == MINI  # taken from the answers file
    assert doc["level"]["reached"] == "basic" and doc["roadmap"]["budget"]["budget_cny"] == 500000
    en = ok(smartfactory("assess", "template", "--framework", MINI, *frameworks(work), cwd=work)).stdout
    assert f"framework: {MINI}" in en and "M-BAS-SIZE:" in en
    listed = ok(smartfactory("assess", "list", cwd=work)).stdout
    assert "gradient/2025/national" in listed and "cmmm/2020/national" in listed


def test_user_errors(work: Path, smartfactory: Run) -> None:
    assert "cannot read answers file nope.yaml" in one_line_error(
        smartfactory("assess", "--answers", "nope.yaml", cwd=work)
    )
    line = one_line_error(
        smartfactory("assess", "--answers", "answers.yaml", "--framework", "gradient/2030/mars", cwd=work)
    )
    assert "unknown framework 'gradient/2030/mars'" in line
    line = one_line_error(
        smartfactory(
            "assess", "--answers", "answers.yaml", "--industry", "chemical", *frameworks(work), cwd=work
        )
    )
    assert "unknown industry type 'chemical'" in line
    line = one_line_error(smartfactory("assess", "template", "--lang", "fr", cwd=work))
    assert "--lang 'fr'" in line and "allowed: zh or en" in line
    assert "unknown criterion 'G25-NOPE'" in one_line_error(
        smartfactory("assess", "explain", "G25-NOPE", cwd=work)
    )
    assert "is not a folder" in one_line_error(
        smartfactory("assess", "list", "--frameworks", "nowhere", cwd=work)
    )
    # a usage error (bad option value) exits 1 without a traceback
    bad = smartfactory("assess", "--answers", "answers.yaml", "--budget", "-5", cwd=work)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    # answers for the mini ladder, assessed against the 2025 ladder: the edition is refused
    wrong = smartfactory(
        "assess", "--answers", "answers.yaml", "--framework", "gradient/2025/national", cwd=work
    )
    assert wrong.returncode == 1 and "written for 'gradient/2025/mini'" in wrong.stderr


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_md_and_html_render_or_say_they_are_not_available_yet(
    work: Path, smartfactory: Run, fmt: str
) -> None:
    # the renderers (smartfactory.assess.report_md / report_html) are written separately
    result = smartfactory("assess", "--answers", "answers.yaml", "--format", fmt, *frameworks(work), cwd=work)
    if importlib.util.find_spec(f"smartfactory.assess.report_{fmt}") is None:
        assert f"--format {fmt} is not available yet" in one_line_error(result)
    else:
        assert ok(result).stdout.strip()


def test_any_zh_or_en_tag_is_a_language(work: Path, smartfactory: Run) -> None:
    report = ("--answers", "answers.yaml", *frameworks(work))
    zh = ok(smartfactory("assess", *report, "--lang", "zh", cwd=work)).stdout
    assert "达到级别: " in zh and "通往" in zh and "Level reached" not in zh
    for tag in ("zh-CN", "zh_Hans"):
        assert ok(smartfactory("assess", *report, "--lang", tag, cwd=work)).stdout == zh
    en = ok(smartfactory("assess", *report, cwd=work)).stdout
    assert ok(smartfactory("assess", *report, "--lang", "en-GB", cwd=work)).stdout == en
    judged = json.loads(
        ok(
            smartfactory("assess", "explain", "CM-ORG-L1-1", "--format", "json", "--lang", "zh-CN", cwd=work)
        ).stdout
    )["judged"]
    assert judged == "按 GB/T 39117 评分；子域得分为同级要求得分均值"


def test_allow_missing_runs_and_says_so_first(work: Path, smartfactory: Run) -> None:
    write(work, answers_text().replace("    M-BAS-INFO: 1\n", ""), "partial.yaml")
    bad = smartfactory("assess", "--answers", "partial.yaml", *frameworks(work), cwd=work)
    assert bad.returncode == 1 and "criteria.basic.M-BAS-INFO]: missing answer" in bad.stderr
    result = ok(
        smartfactory(
            "assess",
            "--answers",
            "partial.yaml",
            "--allow-missing",
            "--lang",
            "zh",
            *frameworks(work),
            cwd=work,
        )
    )
    assert result.stdout.splitlines()[0].startswith("! 1 项未作答，按 0 计（--allow-missing）")


def test_explain(tmp_path: Path, smartfactory: Run) -> None:
    text = ok(smartfactory("assess", "explain", "G25-BAS-NET", cwd=tmp_path)).stdout
    assert "G25-BAS-NET" in text and "metric_threshold" in text and "key_equipment_networking_rate" in text
    assert "confidence: U" in text and "unverified_threshold: True" in text
    doc = json.loads(
        ok(
            smartfactory("assess", "explain", "G25-EXC-AI", "--format", "json", "--lang", "zh", cwd=tmp_path)
        ).stdout
    )
    assert doc["confidence"] == "S" and doc["unverified_threshold"] is True
    assert doc["source"].startswith("http") and doc["clause"]
    assert doc["params"] == {"metric": "ai_scenario_share", "comparator": ">=", "value": 0.2, "unit": "ratio"}
    assert "AI" in doc["judged"] and doc["defined_in"] == ["gradient/2025/national"]
    requirement = json.loads(
        ok(smartfactory("assess", "explain", "CM-ORG-L1-1", "--format", "json", cwd=tmp_path)).stdout
    )
    assert requirement["subdomain"] == "organisation_strategy" and requirement["level"] == 1
    jiangsu = json.loads(
        ok(
            smartfactory(
                "assess",
                "explain",
                "G25-ADV-CMMM",
                "--framework",
                "gradient/2025/jiangsu",
                "--format",
                "json",
                cwd=tmp_path,
            )
        ).stdout
    )
    assert (
        jiangsu["defined_in"] == ["gradient/2025/national", "gradient/2025/jiangsu"]
        and jiangsu["confidence"] == "V"
    )
