"""Every visible text of the pages in Chinese: no English-only sentence reaches a zh page.

The pages are rendered in zh over a store with the demo answers imported. Every text node (and
every title, aria-label, placeholder and alt) outside code, scripts and styles that has Latin
words must also have Chinese, unless the words are ids, numbers with units or names kept as
they are (OEE, ERP, MES …). Text the factory typed (notes) is marked ``translate="no"`` and a
name deliberately given in the other language is marked with its ``lang``; both are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from smartfactory.app import answers as answer_service
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.assess.answers import AnswersFileError, parse_answers
from web import ROOT, SignedIn, app_for, build_store, signed_in

DEMO_ANSWERS = ROOT / "examples" / "factories" / "b_discrete_midsize" / "answers.yaml"

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
# ids, file names, codes and numbers: anything with a digit, an underscore, a dot or a slash inside
IDENT = re.compile(r"[\w./:#-]*[\d_./][\w./:#-]*")
WORD = re.compile(r"[A-Za-z]+")
# words in a row: a list of ids ("basic, advanced, excellent") is not a phrase
PHRASE = re.compile(r"[A-Za-z]+(?:[\s'-]+[A-Za-z]+)+")
# names and units kept as they are in Chinese text (acronyms in capitals are kept too)
NAMES = frozenset(
    {"smartfactory", "yes", "no", "unknown", "mm", "min", "rpm", "kWh", "kW", "h", "s", "ms", "pcs", "ppm"}
)
SKIPPED = frozenset({"code", "script", "style", "pre", "kbd", "samp"})
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
VISIBLE_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


class Texts:
    """The visible texts of a page, outside code, scripts, styles and marked foreign text."""

    def __init__(self, html: str) -> None:
        from html.parser import HTMLParser

        found: list[str] = []
        stack: list[tuple[str, bool]] = []  # open elements, and whether each hides its text

        class Parser(HTMLParser):
            def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
                values = dict(attrs)
                hidden = (
                    tag in SKIPPED
                    or values.get("translate") == "no"
                    or (values.get("lang") or "zh").lower().startswith("en")
                )
                if not any(h for _, h in stack) and not hidden:
                    found.extend(" ".join(v.split()) for k, v in attrs if k in VISIBLE_ATTRIBUTES and v)
                if tag not in VOID:
                    stack.append((tag, hidden))

            def handle_endtag(self, tag: str) -> None:
                for i in range(len(stack) - 1, -1, -1):
                    if stack[i][0] == tag:
                        del stack[i:]
                        break

            def handle_data(self, data: str) -> None:
                text = " ".join(data.split())
                if text and not any(h for _, h in stack):
                    found.append(text)

        parser = Parser(convert_charrefs=True)
        parser.feed(html)
        parser.close()
        self.found = found


def _english(words: list[str]) -> list[str]:
    return [w for w in words if w not in NAMES and not w.isupper()]


def english_only(html: str) -> list[str]:
    """The texts with English words but no Chinese, or with an English phrase beside the Chinese.

    Ids, numbers, units and names aside; a phrase is three English words in a row.
    """
    bad = set()
    for text in Texts(html).found:
        plain = IDENT.sub(" ", text)
        if not CJK.search(text):
            if _english(WORD.findall(plain)):
                bad.add(text)
            continue
        for run in PHRASE.finditer(plain):
            if len(_english(WORD.findall(run.group(0)))) >= 3:
                bad.add(text)
    return sorted(bad)


def test_the_checker_finds_english_and_lets_ids_names_and_marked_text_pass() -> None:
    html = (
        '<p>Level reached</p><p title="not met">达标</p><code>not_applicable</code><p>G25-BAS-NET</p>'
        '<p>OEE 85%</p><p>(mm/min)</p><span translate="no">the factory\'s own note</span>'
        '<span lang="en">Online inspection</span><p>spindle_speed</p><p>注 <b>declared</b></p><br><p>gap</p>'
        "<p>收益 = blocking criteria closed (one each)</p><p>成本见各措施的 cost_source 和 smartfactory 的 OEE MES</p>"
    )
    assert english_only(html) == [
        "Level reached",
        "declared",
        "gap",
        "not met",
        "收益 = blocking criteria closed (one each)",
    ]


def problems(text: str, lang: str | None) -> list[tuple[str, str]]:
    """The problems ``parse_answers`` finds in ``text`` (in its default language when ``lang`` is None)."""
    with pytest.raises(AnswersFileError) as caught:
        if lang is None:
            parse_answers(text, "answers.yaml")
        else:
            parse_answers(text, "answers.yaml", lang=lang)
    return [(p.location, p.message) for p in caught.value.problems]


def test_parse_answers_reports_in_chinese_when_asked() -> None:
    demo = DEMO_ANSWERS.read_text(encoding="utf-8")
    broken = [
        "- a list\n",
        "a: [\n",
        "schema: x\nframework: gradient/2022/national\ncmmm: c\nscenarios: s\nlang: fr\nindustry: x\nextra: 1\n",
        "schema: smartfactory.answers/1\nframework: gradient/2025/national\ncriteria: 3\nmetrics: [1]\n"
        "scenarios_built:\n  stage: {}\ncmmm_requirements:\n  factor: {}\n",
        demo.replace(
            "    G25-BAS-SIZE:",
            "    G25-X: yes\n    G25-ADV-BENCH: yes\n    G25-BAS-NET: yes\n    G25-BAS-SIZE:",
            1,
        )
        .replace("metrics:\n", "metrics:\n  nope: 1\n  ai_scenario_share: 0.3\n", 1)
        .replace("      applicable: yes  # always applies", "      applicable: not_applicable", 1)
        .replace("        CM-ORG-L1-1: 1 ", "        CM-X: 1\n        CM-ORG-L1-1: 0.3 ", 1)
        .replace("  people:", "  people:\n    nope: {}\n    equipment: {}", 1)
        .replace(
            "  factory_construction:", "  factory_construction:\n    nope: yes\n    S5: yes\n    S1: maybe", 1
        ),
    ]
    for text in broken:
        english, chinese = problems(text, None), problems(text, "zh")
        assert english == problems(text, "en")
        assert [where for where, _ in chinese] == [where for where, _ in english]
        assert all(CJK.search(message) for _, message in chinese), chinese
        assert not any(CJK.search(message) for _, message in english), english


@pytest.fixture(scope="module")
def zh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A store of its own with the demo answers imported."""
    folder = build_store(tmp_path_factory.mktemp("zh-store"))
    workspace = Workspace(WorkspaceSettings(store=folder))
    answer_service.import_answers(workspace, DEMO_ANSWERS.read_text(encoding="utf-8"), "admin")
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def zh_client(zh_server: Workspace) -> SignedIn:
    """An engineer reading Chinese."""
    return signed_in(app_for(zh_server), Role.engineer, "zh")


def first_machine(client: TestClient) -> str:
    """The first equipment the equipment list links to."""
    found = re.search(r'href="/equipment/([^"/?]+)"', client.get("/equipment").text)
    assert found, "the equipment list links no equipment"
    return found.group(1)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/overview/live",
        "/overview/freshness",
        "/assessment",
        "/assessment/roadmap?budget=0",
        "/self-assessment",
        "/scenarios",
    ],
)
def test_pages_in_chinese_have_no_english_only_text(zh_client: SignedIn, path: str) -> None:
    page = zh_client.get(path)
    assert page.status_code == 200, page.text
    assert english_only(page.text) == []


def test_equipment_pages_in_chinese_have_no_english_only_text(zh_client: SignedIn) -> None:
    machine = first_machine(zh_client)
    for path in ("/equipment", f"/equipment/{machine}", f"/equipment/{machine}/kpis"):
        page = zh_client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert english_only(page.text) == [], path


def test_problems_of_an_uploaded_answers_file_are_in_chinese(zh_client: SignedIn) -> None:
    text = DEMO_ANSWERS.read_text(encoding="utf-8")
    broken = (
        text.replace("industry: discrete", "industry: chemicals", 1)
        .replace("      answer: yes  #", "      answer: maybe  #", 1)
        .replace("criteria:\n", "criteria:\n  top: {}\n", 1)
        + "extra: 1\n"
    )
    page = zh_client.post(
        "/self-assessment/import",
        files={"file": ("answers.yaml", broken.encode(), "application/x-yaml")},
        headers={"X-CSRF-Token": zh_client.csrf},
    )
    assert page.status_code == 422, page.text
    problems = re.search(r'<div role="alert" id="import-problems">(.*?)</div>', page.text, re.S)
    assert problems and problems.group(1).count("<li>") == 4
    assert english_only(page.text) == []
    # the same file through the API: the problems in the language asked for
    # (Chinese last: ?lang= is the language switch, remembered for the client's next requests)
    for lang, expected in (("en", "'chemicals' is not allowed"), ("zh", "不允许 'chemicals'")):
        answer = zh_client.put(
            f"/api/v1/assessments/answers?lang={lang}",
            content=broken.encode(),
            headers={"X-CSRF-Token": zh_client.csrf, "Content-Type": "application/x-yaml"},
        )
        assert answer.status_code == 422, answer.text
        assert any(expected in e["message"] for e in answer.json()["errors"]), answer.text


def test_a_rejected_answer_is_told_in_chinese(zh_client: SignedIn) -> None:
    field = zh_client.put(
        "/self-assessment/answers/G25-BAS-SIZE",
        data={"answer:G25-BAS-SIZE": "maybe"},
        headers={"X-CSRF-Token": zh_client.csrf, "HX-Request": "true"},
    )
    assert field.status_code == 200, field.text
    assert 'role="alert"' in field.text
    assert english_only(field.text) == []


def test_an_assessment_with_blank_and_unknown_answers_is_in_chinese(
    zh_server: Workspace, zh_client: SignedIn
) -> None:
    # last in the module: it changes the answers the other tests read
    for key, value in (
        ("G25-BAS-SIZE", None),
        ("G25-ADV-COLLAB", None),
        ("key_equipment_networking_rate", "unknown"),
        ("signal_collection_coverage", None),
        ("shop_floor_scheduling.built", None),
        ("CM-ORG-L1-1", None),
    ):
        answer_service.save_answer(zh_server, key, value, "admin")
    page = zh_client.get("/assessment")
    assert page.status_code == 200, page.text
    assert "未作答" in page.text
    assert english_only(page.text) == []
