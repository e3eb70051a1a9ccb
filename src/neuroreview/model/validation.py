"""Turn pydantic's validation errors into :class:`InputError` naming the source and the field."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from neuroreview.errors import InputError

M = TypeVar("M", bound=BaseModel)


def describe_validation_error(error: ValidationError) -> str:
    """One sentence per failing field, e.g. "field 'analyses.0.foci.2.x': coordinate ... ".

    The field path is what a user needs to find the cell; pydantic's own text is kept for the why.
    """
    parts = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"]) or "(record)"
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"field '{path}': {message}")
    return "; ".join(parts)


def validate_model(
    model: type[M],
    data: Mapping[str, Any],
    *,
    source: str | Path | None = None,
    line: int | None = None,
    what: str | None = None,
) -> M:
    """Validate ``data`` as ``model``; on failure raise InputError at ``source:line``.

    ``what`` names the object in the message (``"study 'Abdallah 2017'"``) when no line is known.
    """
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        prefix = f"{what}: " if what else ""
        raise InputError(prefix + describe_validation_error(error), source, line) from None
