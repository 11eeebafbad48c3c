"""The Kubernetes CEL library, as far as gitopsgen implements it.

The CEL library (`common-expression-language`, the Rust `cel` crate) has the standard functions
(`BUILTIN`). The API server adds extension libraries (strings, lists, regex, IP/CIDR, URL,
quantity, ...); the ones below are implemented here with Kubernetes' semantics. A rule calling
anything else is reported as skipped (GG311), never as passed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import re2

# Functions and macros the CEL library evaluates itself (operators `_+_`, `@in`, `!_` aside).
BUILTIN = frozenset(
    {
        "size", "contains", "startsWith", "endsWith", "matches", "duration", "timestamp",
        "int", "uint", "double", "string", "bytes", "type", "dyn",
        "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear",
        "getHours", "getMinutes", "getSeconds", "getMilliseconds",
    }
)  # fmt: skip


class CelFunctionError(ValueError):
    """A call that the API server's CEL would answer with an evaluation error."""


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise CelFunctionError(f"{name}: expected a string, got {type(value).__name__}")
    return value


def lower_ascii(value: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in _str(value, "lowerAscii"))


def upper_ascii(value: str) -> str:
    return "".join(c.upper() if c.isascii() else c for c in _str(value, "upperAscii"))


def split(value: str, sep: str, limit: int = -1) -> list[str]:
    text = _str(value, "split")
    if limit == 0:
        return []
    if sep == "":
        chars = list(text)
        return (
            chars if limit < 0 or limit >= len(chars) else [*chars[: limit - 1], text[limit - 1 :]]
        )
    return text.split(sep) if limit < 0 else text.split(sep, limit - 1)


def join(items: list[Any], sep: str = "") -> str:
    if not all(isinstance(i, str) for i in items):
        raise CelFunctionError("join: every element must be a string")
    return sep.join(items)


def trim(value: str) -> str:
    return _str(value, "trim").strip()


def replace(value: str, old: str, new: str, limit: int = -1) -> str:
    return _str(value, "replace").replace(old, new, limit)


def char_at(value: str, index: int) -> str:
    text = _str(value, "charAt")
    if not 0 <= index <= len(text):
        raise CelFunctionError(f"charAt: index out of range: {index}")
    return text[index : index + 1]


def substring(value: str, start: int, end: int | None = None) -> str:
    text = _str(value, "substring")
    stop = len(text) if end is None else end
    if not 0 <= start <= stop <= len(text):
        raise CelFunctionError(f"substring: index out of range: {start}, {stop}")
    return text[start:stop]


def index_of(value: str | list[Any], item: Any, start: int = 0) -> int:
    """strings.indexOf and lists.indexOf: the first position of `item`, or -1."""
    if isinstance(value, str):
        if not 0 <= start <= len(value):
            raise CelFunctionError(f"indexOf: index out of range: {start}")
        return value.find(_str(item, "indexOf"), start)
    return next((i for i, x in enumerate(value) if _same(x, item)), -1)


def last_index_of(value: str | list[Any], item: Any) -> int:
    if isinstance(value, str):
        return value.rfind(_str(item, "lastIndexOf"))
    return next((i for i in range(len(value) - 1, -1, -1) if _same(value[i], item)), -1)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)


def is_sorted(items: list[Any]) -> bool:
    return all(a <= b for a, b in zip(items, items[1:], strict=False))


def list_sum(items: list[Any]) -> Any:
    return sum(items[1:], items[0]) if items else 0


def list_min(items: list[Any]) -> Any:
    if not items:
        raise CelFunctionError("min called on an empty list")
    return min(items)


def list_max(items: list[Any]) -> Any:
    if not items:
        raise CelFunctionError("max called on an empty list")
    return max(items)


@lru_cache(maxsize=256)  # patterns may come from the document: bounded
def _regex(pattern: str) -> Any:
    """RE2, as the API server's CEL (Go's regexp): linear time, no backtracking, so `(a+)+$`
    cannot run for minutes; Python's `re` took over 60 s on it. Invalid RE2 (lookaround,
    backreferences) is an evaluation error, as on the API server."""
    options = re2.Options()
    options.log_errors = False  # the library would print its own error to stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        raise CelFunctionError(f"invalid regular expression {pattern!r}: {exc}") from None


def find(value: str, pattern: str) -> str:
    found = _regex(_str(pattern, "find")).search(_str(value, "find"))
    return str(found.group(0)) if found else ""


def find_all(value: str, pattern: str, limit: int = -1) -> list[str]:
    matches = _regex(_str(pattern, "findAll")).finditer(_str(value, "findAll"))
    found = [str(m.group(0)) for m in matches]
    return found if limit < 0 else found[:limit]


def is_ip(value: str) -> bool:
    """Kubernetes' isIP: no zone, no IPv4-mapped IPv6, no leading zeros."""
    text = _str(value, "isIP")
    if "%" in text:
        return False
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped)


def is_cidr(value: str) -> bool:
    text = _str(value, "isCIDR")
    address, slash, prefix = text.partition("/")
    if not slash or not is_ip(address) or not prefix.isdigit() or prefix != str(int(prefix)):
        return False
    return int(prefix) <= (32 if ":" not in address else 128)


def is_url(value: str) -> bool:
    """Kubernetes' isURL (Go's url.ParseRequestURI): an absolute URL or an absolute path."""
    text = _str(value, "isURL")
    if not text or any(c.isspace() or ord(c) < 0x20 for c in text):
        return False
    if text.startswith("/"):
        return True
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return bool(parts.scheme) and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme) is not None


EXTENSIONS: dict[str, Callable[..., Any]] = {
    "lowerAscii": lower_ascii,
    "upperAscii": upper_ascii,
    "split": split,
    "join": join,
    "trim": trim,
    "replace": replace,
    "charAt": char_at,
    "substring": substring,
    "indexOf": index_of,
    "lastIndexOf": last_index_of,
    "isSorted": is_sorted,
    "sum": list_sum,
    "min": list_min,
    "max": list_max,
    "find": find,
    "findAll": find_all,
    "isIP": is_ip,
    "isCIDR": is_cidr,
    "isURL": is_url,
}

SUPPORTED = BUILTIN | EXTENSIONS.keys()


def unsupported(functions: list[str]) -> list[str]:
    """The functions of a compiled rule that neither the library nor EXTENSIONS provide."""
    return sorted(f for f in set(functions) if f[0].isalpha() and f not in SUPPORTED)
