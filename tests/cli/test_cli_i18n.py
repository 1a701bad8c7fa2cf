"""Every string the command line translates has its Chinese in the Babel catalogues."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from translations import catalogue

CLI = Path(__file__).resolve().parents[2] / "src" / "smartfactory" / "cli"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def test_every_translated_cli_string_has_chinese() -> None:
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        CLI, [("**.py", "python")], keywords=KEYWORDS
    ):
        # a plural's entry is found by its singular
        text = message[0] if isinstance(message, tuple) else message
        if text:
            found.setdefault(text, f"cli/{filename}:{lineno}")
    assert len(found) > 10  # the extraction itself works
    zh = catalogue()
    missing = sorted(f"{where}: {text!r}" for text, where in found.items() if text not in zh)
    assert not missing, "no zh_CN translation for:\n" + "\n".join(missing)
