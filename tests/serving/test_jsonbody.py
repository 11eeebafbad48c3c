"""orjson parses request bodies (app.jsonbody) with the values and errors of `json.loads`: the
same answers and the same 422 bodies as before, for any bytes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("orjson", reason="the serving extra is not installed")

from app.jsonbody import parse  # noqa: E402

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=20,
)


def outcome(parser: Any, body: bytes) -> tuple[str, Any]:
    """What a parser makes of `body`, comparable (NaN equal to NaN, errors by message and place)."""
    try:
        value = parser(body)
    except json.JSONDecodeError as exc:  # FastAPI's 422, with this message and position
        return ("error", (type(exc), exc.msg, exc.pos, exc.lineno, exc.colno))
    except Exception as exc:  # FastAPI's 400 (undecodable bytes) or 500 (recursion)
        return ("error", (type(exc), str(exc)))
    return ("value", json.dumps(value, sort_keys=False, allow_nan=True))


def same(body: bytes) -> None:
    assert outcome(parse, body) == outcome(json.loads, body), body[:200]


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_any_json_document_parses_to_the_same_value(value: Any, ascii_only: bool) -> None:
    same(json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


@settings(max_examples=400, deadline=None)
@given(json_values, st.integers(min_value=0, max_value=200), st.binary(max_size=3))
def test_any_damaged_document_fails_or_parses_the_same(value: Any, at: int, junk: bytes) -> None:
    text = json.dumps(value).encode()
    same(text[:at] + junk + text[at:])
    same(text[:at])


@pytest.mark.parametrize(
    "body",
    [
        b"{oops",
        b'{"data": [[1.0, NaN]]}',
        b'{"data": [[Infinity, -Infinity]]}',
        b'{"data": [[' + b"9" * 400 + b"]]}",
        b'{"data": [[1e400]]}',
        b'{"a": "\\ud800"}',
        b"\xef\xbb\xbf{}",
        '{"data": []}'.encode("utf-16"),
        b'{"a": 1, "a": 2}',
        b"[" * 100_000,
        b"",
        b" ",
        b'{"data": [[1,]]}',
        b"\xff",
        b"[-9223372036854775809, 18446744073709551616, 9223372036854775807]",
        b"[1.00000000000000000001, 123456789012345678]",
    ],
)
def test_edge_cases_parse_the_same(body: bytes) -> None:
    same(body)


def test_floats_are_the_same_bits() -> None:
    for text in ("0.1", "5.1", "1e-320", "2.2250738585072014e-308", "1.7976931348623157e308"):
        a, b = parse(text.encode()), json.loads(text)
        assert a == b and math.copysign(1, a) == math.copysign(1, b)
