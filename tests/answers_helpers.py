"""A small hand-made framework library and answers files for the assessment tests.

``mini_library`` writes a four-rung ladder of 18 criteria (``MINI``), a CMMM model of 3 levels
and 3 sub-domains, and a catalogue of 5 scenarios in 3 stages, so that answers files stay short
and expected results can be worked out by hand; ``answers_text`` is a complete answers file for
it. The ``library`` fixture of ``tests/assess/conftest.py`` is that library in a temporary folder.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from smartfactory.assess.answers import ANSWERS_SCHEMA
from smartfactory.assess.framework import Library

MINI = "gradient/2025/mini"
SRC = "https://example.org/mini"

MINI_CMMM = f"""
schema = "smartfactory.framework/1"
title = {{ zh = "迷你成熟度模型", en = "Mini maturity model" }}
source = {{ url = "{SRC}", clause = "cmmm" }}
confidence = "U"

[[level]]
no = 1
name = {{ zh = "规划级", en = "Planning" }}
gist = {{ zh = "规划", en = "Plans" }}
source = {{ url = "{SRC}", clause = "L1" }}
confidence = "V"

[[level]]
no = 2
name = {{ zh = "规范级", en = "Standardised" }}
gist = {{ zh = "规范", en = "Standard" }}
source = {{ url = "{SRC}", clause = "L2" }}
confidence = "V"

[[level]]
no = 3
name = {{ zh = "集成级", en = "Integrated" }}
gist = {{ zh = "集成", en = "Integrated" }}
source = {{ url = "{SRC}", clause = "L3" }}
confidence = "V"

[scoring]
source = {{ url = "{SRC}", clause = "scoring" }}
confidence = "U"
industries = ["discrete", "process"]
pass_threshold = 0.8
weights_confidence = "U"
weights_note = {{ zh = "等权", en = "equal weights" }}

[[scoring.value]]
value = 1
name = {{ zh = "全部满足", en = "Fully met" }}

[[scoring.value]]
value = 0.8
name = {{ zh = "大部分满足", en = "Mostly met" }}

[[scoring.value]]
value = 0.5
name = {{ zh = "部分满足", en = "Partly met" }}

[[scoring.value]]
value = 0
name = {{ zh = "不满足", en = "Not met" }}

[[scoring.band]]
grade = 1
min = 0.8
max = 1.8

[[scoring.band]]
grade = 2
min = 1.8
max = 2.8

[[scoring.band]]
grade = 3
min = 2.8
max = 3

[[factor]]
id = "people"
name = {{ zh = "人员", en = "People" }}
weight = {{ discrete = 1.0, process = 1.0 }}
confidence = "V"

[[factor]]
id = "manufacturing"
name = {{ zh = "制造", en = "Manufacturing" }}
weight = {{ discrete = 1.0, process = 3.0 }}
confidence = "V"

[[domain]]
id = "organisation"
factor = "people"
name = {{ zh = "组织", en = "Organisation" }}
weight = {{ discrete = 1.0, process = 1.0 }}
confidence = "U"

[[domain]]
id = "production"
factor = "manufacturing"
name = {{ zh = "生产", en = "Production" }}
weight = {{ discrete = 1.0, process = 1.0 }}
confidence = "U"
""" + "".join(
    f"""
[[subdomain]]
id = "{sid}"
domain = "{domain}"
code = "{code}"
name = {{ zh = "{sid}", en = "{sid}" }}
tailorable = {str(tailorable).lower()}
weight = {{ discrete = 1.0, process = 1.0 }}
confidence = "U"
"""
    + "".join(
        f"""
[[subdomain.requirement]]
id = "CM-{code}-L{n}-1"
level = {n}
text = {{ zh = "{sid} 第 {n} 级要求", en = "{sid} level {n} requirement" }}
confidence = "U"
"""
        for n in (1, 2, 3)
    )
    for sid, domain, code, tailorable in (
        ("organisation", "organisation", "ORG", False),
        ("operations", "production", "OPS", True),
        ("energy", "production", "ENERGY", True),
    )
)

MINI_SCENARIOS = f"""
schema = "smartfactory.framework/1"
title = {{ zh = "迷你场景目录", en = "Mini scenario catalogue" }}
source = {{ url = "{SRC}", clause = "scenarios" }}
confidence = "S"
annotations = {{ zh = "测试", en = "test" }}

[[dimension]]
id = "operations_dim"
no = 1
name = {{ zh = "生产作业", en = "Production operations" }}
source = {{ url = "{SRC}", clause = "dim 1" }}
confidence = "S"

[[dimension]]
id = "management_dim"
no = 2
name = {{ zh = "生产管理", en = "Production management" }}
source = {{ url = "{SRC}", clause = "dim 2" }}
confidence = "S"

[[stage]]
id = "operations"
no = 1
name = {{ zh = "生产作业", en = "Production operations" }}
dimension = "operations_dim"
confidence = "U"

[[stage]]
id = "management"
no = 2
name = {{ zh = "生产管理", en = "Production management" }}
dimension = "management_dim"
confidence = "U"

[[stage]]
id = "energy"
no = 3
name = {{ zh = "能源", en = "Energy" }}
dimension = "management_dim"
confidence = "U"

[[system]]
id = "MES"
name = {{ zh = "制造执行系统", en = "MES" }}

[[signal_kind]]
id = "states"
name = {{ zh = "设备状态", en = "States" }}
qualified = false
""" + "".join(
    f"""
[[scenario]]
no = {no}
id = "{sid}"
stage = "{stage}"
name = {{ zh = "{sid}", en = "{sid}" }}
description = {{ zh = "{sid}", en = "{sid}" }}
ai_capable = {str(ai).lower()}
typical_systems = ["MES"]
data_signals = ["states"]
confidence = "U"
"""
    for no, sid, stage, ai in (
        (1, "monitoring", "operations", False),
        (2, "inspection", "operations", True),
        (3, "maintenance", "operations", True),
        (4, "tracking", "management", False),
        (5, "energy_control", "energy", True),
    )
)


def _criterion(cid: str, level: str, kind: str, confidence: str, extra: str = "") -> str:
    return f"""
[[criterion]]
id = "{cid}"
level = "{level}"
type = "{kind}"
text = {{ zh = "{cid} 条件", en = "{cid} condition" }}
question = {{ zh = "{cid} 是否满足？", en = "Is {cid} met?" }}
source = {{ url = "{SRC}", clause = "{cid}" }}
confidence = "{confidence}"
{extra}"""


_LEVELS = "".join(
    f"""
[[level]]
id = "{lv}"
name = {{ zh = "{zh}", en = "{en}" }}
focus = {{ zh = "重点", en = "focus" }}
assessed_by = {{ zh = "企业", en = "self" }}
source = {{ url = "{SRC}", clause = "{lv}" }}
confidence = "V"
"""
    for lv, zh, en in (
        ("basic", "基础级", "Basic"),
        ("advanced", "先进级", "Advanced"),
        ("excellent", "卓越级", "Excellent"),
        ("leading", "领航级", "Leading"),
    )
)

# The mini ladder. Thresholds are chosen so the expected results can be read off by hand.
MINI_GRADIENT = (
    f"""
schema = "smartfactory.framework/1"
title = {{ zh = "迷你梯度", en = "Mini ladder" }}
source = {{ url = "{SRC}", clause = "ladder" }}
confidence = "S"
scenarios = "scenarios/2024/mini"

[judgement]
scale = [0, 0.5, 0.8, 1]
pass_at = 0.8
source = {{ url = "{SRC}", clause = "judgement" }}
confidence = "U"
"""
    + _LEVELS
    + _criterion("M-BAS-SIZE", "basic", "gate", "S")
    + _criterion(
        "M-BAS-CMMM",
        "basic",
        "prerequisite_level",
        "U",
        'params = { framework = "cmmm/2020/mini", cmmm_min = 1 }',
    )
    + _criterion(
        "M-BAS-NET",
        "basic",
        "metric_threshold",
        "U",
        'params = { metric = "key_equipment_networking_rate", comparator = ">=", value = 0.6, unit = "ratio" }',
    )
    + _criterion(
        "M-BAS-SCEN", "basic", "count_threshold", "U", 'params = { count = "scenarios_in_use", min = 2 }'
    )
    + _criterion("M-BAS-INFO", "basic", "judgement", "V")
    + _criterion("M-ADV-BASIC", "advanced", "prerequisite_level", "V", 'params = { level = "basic" }')
    + _criterion(
        "M-ADV-CMMM",
        "advanced",
        "prerequisite_level",
        "V",
        'params = { framework = "cmmm/2020/mini", cmmm_min = 2 }',
    )
    + _criterion(
        "M-ADV-NET",
        "advanced",
        "metric_threshold",
        "U",
        'params = { metric = "key_equipment_networking_rate", comparator = ">=", value = 0.8, unit = "ratio" }',
    )
    + _criterion(
        "M-ADV-CNC",
        "advanced",
        "metric_threshold",
        "V",
        'params = { metric = "key_process_automation_rate", comparator = ">=", value = 0.8, unit = "ratio" }',
    )
    + _criterion(
        "M-ADV-DIMS", "advanced", "count_threshold", "U", 'params = { count = "dimensions_covered", min = 2 }'
    )
    + _criterion(
        "M-ADV-BENCH",
        "advanced",
        "relative_benchmark",
        "S",
        'params = { benchmark = "provincial_industry_leading" }',
    )
    + _criterion("M-EXC-ADV", "excellent", "prerequisite_level", "V", 'params = { level = "advanced" }')
    + _criterion(
        "M-EXC-AI",
        "excellent",
        "metric_threshold",
        "S",
        'params = { metric = "ai_scenario_share", comparator = ">=", value = 0.2, unit = "ratio" }',
    )
    + _criterion(
        "M-EXC-OPS",
        "excellent",
        "count_threshold",
        "U",
        'params = { count = "scenarios_in_use", min = 3, stage = "operations" }',
    )
    + _criterion(
        "M-EXC-CMMM",
        "excellent",
        "prerequisite_level",
        "V",
        'params = { framework = "cmmm/2020/mini", cmmm_min = 3 }',
    )
    + _criterion("M-LEA-EXC", "leading", "prerequisite_level", "V", 'params = { level = "excellent" }')
    + _criterion(
        "M-LEA-AI",
        "leading",
        "metric_threshold",
        "S",
        'params = { metric = "ai_scenario_share", comparator = ">=", value = 0.6, unit = "ratio" }',
    )
    + _criterion("M-LEA-FUTURE", "leading", "judgement", "V")
)


def mini_library(root: Path) -> Library:
    """The mini frameworks (and the shipped metrics.toml) in ``root``."""
    shipped = resources.files("smartfactory.assess") / "frameworks"
    root.mkdir(parents=True, exist_ok=True)
    (root / "metrics.toml").write_text(
        (shipped / "metrics.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for framework_id, text in (
        ("cmmm/2020/mini", MINI_CMMM),
        ("scenarios/2024/mini", MINI_SCENARIOS),
        (MINI, MINI_GRADIENT),
    ):
        path = root / f"{framework_id}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Library(root)


def answers_text(
    *,
    size: str = "yes",
    info: str = "1",
    bench: str = "yes",
    future: str = "0",
    net: str = "0.7",
    cnc: str = "0.9",
    built: dict[str, tuple[str, str]] | None = None,
    cmmm: dict[str, str] | None = None,
    operations_applicable: str = "yes",
    industry: str = "discrete",
    framework: str = MINI,
) -> str:
    """A complete answers file for the mini ladder; arguments change single answers."""
    scenarios = {
        "monitoring": ("yes", "no"),
        "inspection": ("no", ""),
        "maintenance": ("no", ""),
        "tracking": ("yes", "no"),
        "energy_control": ("no", ""),
    } | (built or {})
    stage = {
        "monitoring": "operations",
        "inspection": "operations",
        "maintenance": "operations",
        "tracking": "management",
        "energy_control": "energy",
    }
    scores = {
        f"CM-{code}-L{n}-1": ("1" if n <= 2 else "0") for code in ("ORG", "OPS", "ENERGY") for n in (1, 2, 3)
    }
    scores |= cmmm or {}
    lines = [
        f"schema: {ANSWERS_SCHEMA}",
        f"framework: {framework}",
        "cmmm: cmmm/2020/mini",
        "scenarios: scenarios/2024/mini",
        f"industry: {industry}",
        "criteria:",
        "  basic:",
        "    M-BAS-SIZE:",
        f"      answer: {size}",
        '      note: "on the provincial list"',
        '      attachments: ["docs/size.pdf", "https://example.org/list"]',
        f"    M-BAS-INFO: {info}",
        "  advanced:",
        f"    M-ADV-BENCH: {bench}",
        "  excellent: {}",
        "  leading:",
        f"    M-LEA-FUTURE: {future}",
        "metrics:",
        "  key_equipment_networking_rate:",
        f"    answer: {net}",
        "    note: gateway inventory",
        f"  key_process_automation_rate: {cnc}",
        "scenarios_built:",
    ]
    for group in ("operations", "management", "energy"):
        lines.append(f"  {group}:")
        for sid, (b, ai) in scenarios.items():
            if stage[sid] == group:
                lines += [f"    {sid}:", f"      built: {b}", f"      ai_used: {ai}"]
    lines.append("cmmm_requirements:")
    for factor, subs in (
        ("people", [("organisation", "ORG")]),
        ("manufacturing", [("operations", "OPS"), ("energy", "ENERGY")]),
    ):
        lines.append(f"  {factor}:")
        for sid, code in subs:
            lines.append(f"    {sid}:")
            if sid == "operations":
                lines.append(f"      applicable: {operations_applicable}")
            lines.append("      requirements:")
            lines += [f"        CM-{code}-L{n}-1: {scores[f'CM-{code}-L{n}-1']}" for n in (1, 2, 3)]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "answers.yaml") -> Path:
    """``text`` written to ``tmp_path/name``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fill(text: str) -> str:
    """Answer every blank of a template: yes / 1 / 0.9, scenarios built without AI."""
    text = re.sub(r"^(\s+answer:)  # (yes|0 \|)", r"\1 yes  # \2", text, flags=re.M)
    text = re.sub(r"^(\s+answer:) yes  # 0 \|", r"\1 1  # 0 |", text, flags=re.M)
    text = re.sub(r"^(\s+answer:)  # (a number|\S+ 至)", r"\1 0.9  # \2", text, flags=re.M)
    text = re.sub(r"^(\s+built:)  #", r"\1 yes  #", text, flags=re.M)
    text = re.sub(r"^(\s+ai_used:)  #", r"\1 no  #", text, flags=re.M)
    text = re.sub(r"^(\s+CM-[A-Z]+-L\d-\d+:)  #", r"\1 0.8  #", text, flags=re.M)
    return re.sub(r"^industry:  #", "industry: process  #", text, flags=re.M)
