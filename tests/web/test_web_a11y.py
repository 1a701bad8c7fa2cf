"""Accessible markup on every page: labelled fields, one main heading, named landmarks, contrast.

Checked on the rendered HTML of each page (as an admin, so every control is there) in both
languages; the browser tests check the same pages for script errors.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace
from web import app_for, signed_in

PAGES = [
    "/",
    "/equipment",
    "/equipment/OP10-M1",
    "/assessment",
    "/self-assessment",
    "/scenarios",
    "/admin/users",
]
CSS = Path(__file__).resolve().parents[2] / "src" / "smartfactory" / "web" / "static" / "app.css"
UNLABELLED_OK = {"hidden", "submit", "button", "reset", "image"}


class Page(HTMLParser):
    """What the checks need from a page: fields and their labels, headings, landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.fields: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.h1 = 0
        self.navs: list[dict[str, str | None]] = []
        self.images: list[dict[str, str | None]] = []
        self.label_depth = 0
        self.buttons: list[list[str]] = []
        self.main = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        elif tag == "label":
            self.label_depth += 1
            if values.get("for"):
                self.label_for.add(str(values["for"]))
        elif tag in ("input", "select", "textarea"):
            self.fields.append({**values, "_tag": tag, "_wrapped": "1" if self.label_depth else None})
        elif tag == "h1":
            self.h1 += 1
        elif tag == "nav":
            self.navs.append(values)
        elif tag == "img":
            self.images.append(values)
        elif tag == "button":
            self.buttons.append([values.get("aria-label") or ""])
        elif tag == "main":
            self.main += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.buttons and data.strip():
            self.buttons[-1].append(data.strip())


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_has_labelled_fields_one_heading_and_named_landmarks(
    web_server: Workspace,
    lang: str,
) -> None:
    client = signed_in(app_for(web_server), Role.admin, lang)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        page = parsed(response.text)
        assert page.lang == ("zh-CN" if lang == "zh" else "en"), path
        assert page.h1 == 1, f"{path}: {page.h1} h1 headings"
        assert page.main == 1, f"{path}: one <main> landmark"
        assert all(nav.get("aria-label") for nav in page.navs), f"{path}: a <nav> without a name"
        assert all(img.get("alt") is not None for img in page.images), f"{path}: an image without alt"
        unlabelled = [
            f"{f['_tag']} name={f.get('name')!r}"
            for f in page.fields
            if (f.get("type") or "text") not in UNLABELLED_OK
            and not f["_wrapped"]
            and not f.get("aria-label")
            and not f.get("aria-labelledby")
            and not (f.get("id") and f["id"] in page.label_for)
        ]
        assert not unlabelled, f"{path}: fields without a label: {unlabelled}"
        nameless = [b for b in page.buttons if not any(b)]
        assert not nameless, f"{path}: {len(nameless)} button(s) without a name"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two #rrggbb colours."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_text_colours_meet_wcag_aa_contrast() -> None:
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text(encoding="utf-8")))
    pairs = [
        ("ink", "bg"), ("ink", "card"), ("muted", "card"), ("muted", "bg"), ("accent", "card"),
        ("good", "good-bg"), ("warn", "warn-bg"), ("bad", "bad-bg"), ("bad", "card"), ("ink", "none-bg"),
    ]  # fmt: skip
    low = {
        f"{fg} on {bg}": round(contrast(variables[fg], variables[bg]), 2)
        for fg, bg in pairs
        if contrast(variables[fg], variables[bg]) < 4.5
    }
    assert not low, f"below the 4.5:1 of WCAG AA: {low}"
