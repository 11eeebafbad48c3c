"""Text from elsewhere, made safe to print: control characters escaped, credentials cut from URLs.

Everything a remote answers (an Argo CD health message, a Prometheus error, a field of a live
object) can hold terminal escapes, carriage returns that overwrite a line, or newlines that
forge one; every reporter passes such text through `printable` before it reaches a terminal, a
log or a pull-request body. URLs are shown through `shown_url`, which never keeps a
`user:password@` part, even a malformed one.
"""

from __future__ import annotations

import re
import unicodedata

# Control characters, format characters (bidirectional overrides, zero-width joiners) and the
# Unicode line and paragraph separators: none of them is shown as itself.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control or format character written as an escape (`\\x1b`, `\\n`,
    `\\u202e`); newlines kept when `keep_newlines` (a message of several lines of our own)."""
    if text.isprintable():
        return text
    return "".join(
        char
        if (keep_newlines and char == "\n") or unicodedata.category(char) not in _HIDDEN_CATEGORIES
        else _escape(char)
        for char in text
    )


_QUERY_OR_FRAGMENT = re.compile(r"[?#]")


def shown_url(url: str) -> str:
    """The URL as a message may show it: scheme, host, port and path; a `user:password@` part,
    the query and the fragment (which may carry a token) are left out.

    Never raises, whatever the text: a password holding an unencoded `/`, `?` or `#` makes
    the authority end early for a URL parser, which would then show the rest of the password
    as the path or drop it with the query; here everything up to the last `@` goes first (a
    query holding an `@` is shown wrongly, never a password), then the query."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    rest = rest.rpartition("@")[2]
    rest = _QUERY_OR_FRAGMENT.split(rest, maxsplit=1)[0]
    return printable(f"{scheme}://{rest}" if separator else rest)
