"""Pydantic's validation errors as the problems of an InvalidInput, in the user's language."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smartfactory.app.errors import field_problem
from smartfactory.app.i18n import gettext as _
from smartfactory.model.errors import InvalidInput, Problem


def _messages() -> dict[str, str]:
    # keyed by Pydantic's error type; {…} filled from the error's ctx
    return {
        "missing": _("This field is required."),
        "int_parsing": _("Enter a whole number."),
        "int_type": _("Enter a whole number."),
        "float_parsing": _("Enter a number."),
        "float_type": _("Enter a number."),
        "bool_parsing": _("Enter true or false."),
        "date_from_datetime_parsing": _("Enter a date as YYYY-MM-DD."),
        "date_parsing": _("Enter a date as YYYY-MM-DD."),
        "datetime_parsing": _("Enter a date and time as YYYY-MM-DDTHH:MM."),
        "datetime_from_date_parsing": _("Enter a date and time as YYYY-MM-DDTHH:MM."),
        "enum": _("Choose one of: {expected}."),
        "literal_error": _("Choose one of: {expected}."),
        "greater_than": _("Enter a value greater than {gt}."),
        "greater_than_equal": _("Enter a value of at least {ge}."),
        "less_than": _("Enter a value less than {lt}."),
        "less_than_equal": _("Enter a value of at most {le}."),
        "string_too_short": _("Enter at least {min_length} characters."),
        "string_too_long": _("Enter at most {max_length} characters."),
        "string_pattern_mismatch": _("Use the form {pattern}."),
        "too_long": _("Give at most {max_length} items."),
        "json_invalid": _("The body is not valid JSON."),
        "model_attributes_type": _("Send a JSON object."),
        "dict_type": _("Send a JSON object."),
        "list_type": _("Send a list."),
        "string_type": _("Enter text."),
        "extra_forbidden": _("This field is not allowed."),
    }


def field_problems(errors: Sequence[Any]) -> list[Problem]:
    """One problem per Pydantic error, located by where it is (query.start, body.answers…)."""
    templates = _messages()
    found: list[Problem] = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()))
        template = templates.get(str(error.get("type")))
        ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
        try:
            message = template.format(**ctx) if template is not None else str(error.get("msg", ""))
        except (KeyError, IndexError):
            message = str(error.get("msg", ""))
        found.append(field_problem(location or "request", message))
    return found


def invalid_request(errors: Sequence[Any]) -> InvalidInput:
    """The InvalidInput of a request Pydantic refused: every field at once."""
    return InvalidInput(_("Some fields are not valid."), field_problems(errors))
