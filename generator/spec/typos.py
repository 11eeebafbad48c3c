"""A mistyped key is one cause, not the many errors it implies.

`defualts:` leaves every environment without `replicas`, `model` and `syncPolicy`: the schema
then reports 12 missing fields beside the one unknown field that causes them all. The spec is
read once more with each unknown key renamed to the known key it nearly spells (when that key
is not written too), for every check after the unknown-field one; the unknown field is still
reported (GG003, with the same did-you-mean), so nothing with a typo is ever rendered.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

# Closer than the did-you-mean of the message (0.6): only a key that is nearly the same is
# read as meant. `defualts`/`defaults` is 0.875, `servng`/`serving` 0.92, `metalb`/`metallb` 0.92
MEANT_CUTOFF = 0.8


def meant_key(key: str, allowed: list[str]) -> str | None:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=MEANT_CUTOFF)
    return close[0] if close else None


def _unknown_keys(error: ValidationError) -> Iterator[tuple[tuple[Any, ...], str, list[str]]]:
    """(path of the mapping, unknown key, allowed keys) for every unknown-field error."""
    if error.context:
        for sub in error.context:
            yield from _unknown_keys(sub)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        for key in error.instance:
            if key not in allowed:
                yield tuple(error.absolute_path), str(key), allowed


def as_meant(data: dict[str, Any], validator: Draft202012Validator) -> dict[str, Any]:
    """`data` with each nearly-known unknown key renamed to the known one (a copy; `data`
    itself when there is nothing to rename)."""
    renames = [
        (path, key, meant)
        for error in validator.iter_errors(data)
        for path, key, allowed in _unknown_keys(error)
        if (meant := meant_key(key, allowed)) is not None
    ]
    if not renames:
        return data
    fixed = copy.deepcopy(data)
    for path, key, meant in renames:
        mapping = _at(fixed, path)
        if isinstance(mapping, dict) and key in mapping and meant not in mapping:
            mapping[meant] = mapping.pop(key)
    return fixed


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        found = (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        )
        if not found:
            return None
        data = data[part]
    return data
