"""Request bodies: checked strictly, turned into a float array, with 4xx messages that say why."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

FLOAT32_MAX = float(np.finfo(np.float32).max)
# Every number is checked where it is parsed, by the schema: finite and within float32 (models
# compute in float32), integers of any length included. A value outside is a 422 with the same
# body as any other validation error, never an OverflowError in the conversion. Integers stay
# Python ints (the small ones are shared objects, which keeps a parsed body small).
Number = (
    Annotated[StrictInt, Field(ge=-int(FLOAT32_MAX), le=int(FLOAT32_MAX))]
    | Annotated[StrictFloat, Field(allow_inf_nan=False, ge=-FLOAT32_MAX, le=FLOAT32_MAX)]
)


class PredictRequest(BaseModel):
    """Rows of features; `columns` names them when the model's signature has column names."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"data": [[5.1, 3.5, 1.4, 0.2]]}]}
    )

    data: Annotated[list[list[Number]], Field(min_length=1)]
    columns: list[str] | None = None


class PredictResponse(BaseModel):
    variant: str
    mode: str
    version: str
    prediction: list[Any]


class InputError(ValueError):
    """The body is well-formed JSON but cannot be fed to the model; status says which 4xx."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def to_array(
    body: PredictRequest, n_features: int | None, columns: tuple[str, ...] | None, max_rows: int
) -> tuple[np.ndarray[Any, Any], list[str] | None]:
    rows = body.data
    if len(rows) > max_rows:
        raise InputError(f"{len(rows)} rows is more than the limit of {max_rows}", status=413)
    width = len(rows[0])
    for index, row in enumerate(rows):
        if len(row) != width:
            raise InputError(f"row {index} has {len(row)} values; row 0 has {width}")
    if width == 0:
        raise InputError("rows are empty")
    names = _column_order(body.columns, width, columns)
    if n_features is not None and width != n_features:
        raise InputError(f"rows have {width} values; the model expects {n_features}")
    array = np.asarray(rows, dtype=np.float64)  # finite and in range: checked by the schema
    if names is not None and columns is not None and list(names) != list(columns):
        order = [names.index(c) for c in columns]
        array = array[:, order]
        names = list(columns)
    return array, names


def checked_array(
    rows: np.ndarray[Any, Any],
    n_features: int | None,
    columns: tuple[str, ...] | None,
    max_rows: int,
) -> tuple[np.ndarray[Any, Any], list[str] | None]:
    """`to_array`'s checks, in its order and with its messages, for the rows of `app.fastbody`
    (already a 2-D float array with values in every row, and no `columns` given)."""
    if len(rows) > max_rows:
        raise InputError(f"{len(rows)} rows is more than the limit of {max_rows}", status=413)
    width = int(rows.shape[1])
    names = _column_order(None, width, columns)
    if n_features is not None and width != n_features:
        raise InputError(f"rows have {width} values; the model expects {n_features}")
    return rows, names


def _column_order(
    given: list[str] | None, width: int, expected: tuple[str, ...] | None
) -> list[str] | None:
    if given is None:
        return list(expected) if expected else None
    if len(given) != width:
        raise InputError(f"{len(given)} column names for rows of {width} values")
    if len(set(given)) != len(given):
        raise InputError("column names repeat")
    if expected is not None and set(given) != set(expected):
        raise InputError(f"columns {sorted(given)} do not match the model's {sorted(expected)}")
    return given
