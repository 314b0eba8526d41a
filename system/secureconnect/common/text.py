"""Text from clients, checked in one place: every free-text field of every service
(names, titles, messages, poll questions, search terms, tokens, device ids) is one
of the types made here.

They refuse with 422 what no such field has a use for and what breaks the layers
below it:
- NUL (U+0000): PostgreSQL cannot store it in a text column and fails the whole
  statement, which reached clients as a 500;
- the other C0 and C1 control characters and DEL: invisible, they spoof what a reader
  sees and corrupt logs and terminals (multi-line text keeps tab and line breaks);
- lone surrogates (U+D800..U+DFFF), which JSON's \\u escapes can carry: not encodable
  as UTF-8, so hashing, the database driver and the logs fail on them.

Refused, not stripped: silently changing what a user wrote, or a token they present,
hides the problem from the one who can fix it. The JSON schema says so with a
`pattern`, so a client generated from the contract (or a fuzzer) knows before it
sends.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

#: Tab, line feed and carriage return: the control characters multi-line text may hold.
LINE_BREAKS = frozenset("\t\n\r")
#: The same rules as JSON-schema patterns (ECMA-262), for the OpenAPI documents.
SINGLE_LINE_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F]*$"
MULTI_LINE_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
FILE_NAME_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F/\\]+$"


def _refused(character: str, multiline: bool) -> bool:
    code = ord(character)
    if 0xD800 <= code <= 0xDFFF:
        return True
    control = code < 0x20 or 0x7F <= code <= 0x9F
    return control and not (multiline and character in LINE_BREAKS)


def check_text(value: str, *, multiline: bool = False) -> str:
    """`value` unchanged, or ValueError naming the first character refused."""
    for position, character in enumerate(value):
        if _refused(character, multiline):
            raise ValueError(
                f"must not contain control characters or lone surrogates "
                f"(U+{ord(character):04X} at position {position})"
            )
    return value


def _single_line(value: str) -> str:
    return check_text(value)


def _multi_line(value: str) -> str:
    return check_text(value, multiline=True)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


def single_line(max_length: int, *, min_length: int = 1, strip: bool = True) -> Any:
    """One line of text (a name, a title, a query): surrounding whitespace stripped."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length),
        AfterValidator(_single_line),
        Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN}),
    ]


def _no_path_separators(value: str) -> str:
    if "/" in value or "\\" in value:
        raise ValueError("must not contain path separators")
    return value


def file_name(max_length: int) -> Any:
    """A file's name: one line without path separators."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(_single_line),
        AfterValidator(_no_path_separators),
        Field(json_schema_extra={"pattern": FILE_NAME_PATTERN}),
    ]


def multi_line(max_length: int, *, min_length: int = 1) -> Any:
    """Text as written (a message): kept verbatim, line breaks allowed, never blank."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_multi_line),
        AfterValidator(_not_blank),
        Field(json_schema_extra={"pattern": MULTI_LINE_PATTERN}),
    ]


def opaque(max_length: int, *, min_length: int = 1) -> Any:
    """A token, a password or a device id: compared as sent, never stripped."""
    return single_line(max_length, min_length=min_length, strip=False)
