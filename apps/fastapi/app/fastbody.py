"""The common /predict body, `{"data": [[number, ...], ...]}`, read straight into a float array,
without building and validating a pydantic model; anything else takes the full path.

Measured (py-spy, BENCHMARKS.md): at 10,000 rows per request, pydantic's validation of the parsed
rows was a third of the process's time, the long-number scan of the body with a regular
expression an eighth, and the array conversion a tenth; at one row, FastAPI's dependency solver
and body validation most of what is left after the model. This path does what they did, for the
bodies they would have accepted:

- The body's bytes are classified in one `bytes.translate` pass. Only digits, `.eE+-`, brackets,
  braces, commas, colons and whitespace may appear, besides one string: the key `"data"` (exactly
  two quotes in the whole body). So no `true`/`false`/`null`, no `NaN`/`Infinity`, no strings
  among the values and no other key (`columns` included) — each of those goes the full way,
  which answers it exactly as before. A run of 19 digits (an integer that may be beyond 64 bits,
  see app.jsonbody) does too.
- orjson parses it (what the full path does first as well); numpy makes the float64 array from
  the lists. A ragged, empty, deeper or flatter shape, or a value beyond float32 (the schema's
  bound), goes the full way.

What is left are exactly the bodies the schema accepts without columns, and they give the very
array `app.inputs.to_array` gives: the same parsed Python numbers, converted by the same
`np.asarray(..., dtype=float64)` rule. tests/serving/test_fast_body.py keeps both paths'
answers equal, byte for byte, on valid and invalid bodies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from app.inputs import FLOAT32_MAX

KEY = b"data"
DIGIT, ALLOWED, OTHER = b"0", b" ", b"x"
_CLASSES = bytearray(OTHER * 256)
for _byte in b".eE+-[]{},: \t\n\r":
    _CLASSES[_byte] = ALLOWED[0]
for _byte in b"0123456789":
    _CLASSES[_byte] = DIGIT[0]
CLASSES = bytes(_CLASSES)
# the key's letters and its two quotes are the only OTHER bytes a body on this path holds
KEY_OTHER = sum(1 for b in b'"data"' if CLASSES[b] == OTHER[0])
LONG_NUMBER = DIGIT * 19


def fast_rows(body: bytes) -> np.ndarray[Any, Any] | None:
    """The rows of a `{"data": [[...], ...]}` body as a C-contiguous float64 array, or None
    when the body is anything else (then the full path reads it)."""
    if body.count(b'"') != 2:
        return None
    classes = body.translate(CLASSES)
    if classes.count(OTHER) != KEY_OTHER or LONG_NUMBER in classes:
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(parsed) is not dict or len(parsed) != 1:
        return None
    data = parsed.get("data")
    if type(data) is not list or not data:
        return None
    try:
        rows = np.array(data, dtype=np.float64)
    except (ValueError, TypeError):  # ragged, or something that is not a number
        return None
    if rows.ndim != 2 or rows.shape[1] == 0 or not np.abs(rows).max() <= FLOAT32_MAX:
        return None  # `not <=`: a NaN would compare False too
    return rows
