"""The Babel catalogues as the i18n and error-message tests read them."""

from __future__ import annotations

from babel.messages.pofile import read_po

from smartfactory.app import i18n


def catalogue() -> dict[str, str]:
    """The zh_CN translations of every PO file, merged."""
    merged: dict[str, str] = {}
    for po in sorted((i18n.CATALOGUES / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle, locale="zh_CN"):
                if message.id and not message.fuzzy:
                    key = message.id[0] if isinstance(message.id, tuple) else message.id
                    value = message.string[0] if isinstance(message.string, tuple) else message.string
                    if value:
                        merged[str(key)] = str(value)
    return merged
