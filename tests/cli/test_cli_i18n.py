"""Every string the command line translates has its Chinese in the Babel catalogues."""

from __future__ import annotations

from pathlib import Path
from string import Formatter

from babel.messages.extract import extract_from_dir

from translations import catalogue

CLI = Path(__file__).resolve().parents[2] / "src" / "smartfactory" / "cli"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def cli_messages() -> dict[str, str]:
    """Every string the command line translates, with where it is first found."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        CLI, [("**.py", "python")], keywords=KEYWORDS
    ):
        # a plural's entry is found by its singular
        text = message[0] if isinstance(message, tuple) else message
        if text:
            found.setdefault(text, f"cli/{filename}:{lineno}")
    return found


def test_every_translated_cli_string_has_chinese() -> None:
    found = cli_messages()
    assert len(found) > 10  # the extraction itself works
    # the commands that render through the catalogues (kpi, assess) are both extracted
    files = {where.split(":")[0] for where in found.values()}
    assert {"cli/kpi.py", "cli/assess.py"} <= files
    zh = catalogue()
    missing = sorted(f"{where}: {text!r}" for text, where in found.items() if text not in zh)
    assert not missing, "no zh_CN translation for:\n" + "\n".join(missing)


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a message that ``str.format`` fills in."""
    return {name for _text, name, _spec, _conv in Formatter().parse(text) if name is not None}


def test_cli_translations_keep_the_placeholders_of_their_english() -> None:
    # a Chinese text with a field renamed or lost fails only at .format(), in front of a user
    zh = catalogue()
    wrong = sorted(
        f"{where}: {text!r} → {zh[text]!r}"
        for text, where in cli_messages().items()
        if text in zh and placeholders(zh[text]) != placeholders(text)
    )
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)
