"""The ``?lang=`` query parameter of the API, as its routes declare it for the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

# any tag model.text.parse_language reads as one of ours (zh, zh-CN, zh_Hans, zh-Hans-CN, en-GB …);
# the language middleware acts on it, the routes only declare it
LANGUAGE_TAG = r"^(?i:zh|en)([-_][A-Za-z0-9]{1,8})*$"

LanguageQuery = Annotated[
    str | None,
    Query(
        max_length=35,
        pattern=LANGUAGE_TAG,
        description="zh (zh-CN, zh_Hans …) or en (default: the session's language, else Accept-Language)",
    ),
]
