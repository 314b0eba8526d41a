"""The shared text types: control characters and lone surrogates refused, in one place."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from secureconnect.auth.schemas import LoginRequest, RegisterRequest
from secureconnect.chat.schemas import CreatePoll, SendMessage
from secureconnect.common.text import (
    MULTI_LINE_PATTERN,
    SINGLE_LINE_PATTERN,
    check_text,
    file_name,
    multi_line,
    opaque,
    single_line,
)
from secureconnect.storage.schemas import UploadUrlRequest
from secureconnect.video.schemas import DeviceIn

KINDS = [single_line(50), multi_line(50), opaque(50), file_name(50)]


@pytest.mark.parametrize("value", ["a\x00b", "a\x1bb", "a\x7fb", "a\x85b"])
@pytest.mark.parametrize("kind", KINDS)
def test_control_characters_are_refused(kind: object, value: str):
    with pytest.raises(ValidationError, match="control characters or lone surrogates"):
        TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize("value", ["a\ud800b", "\udfff"])
@pytest.mark.parametrize("kind", KINDS)
def test_lone_surrogates_are_refused(kind: object, value: str):
    """By pydantic's own UTF-8 check of a constrained string, or else by check_text."""
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python(value)
    with pytest.raises(ValueError, match="lone surrogates"):
        check_text(value)


def test_multi_line_keeps_line_breaks_and_single_line_does_not():
    assert TypeAdapter(multi_line(50)).validate_python(" a\r\n\tb ") == " a\r\n\tb "
    with pytest.raises(ValidationError):
        TypeAdapter(single_line(50)).validate_python("a\nb")
    assert TypeAdapter(single_line(50)).validate_python("  Zoë 👋🏽  ") == "Zoë 👋🏽"


def test_opaque_is_kept_as_sent_and_names_have_no_separators():
    assert TypeAdapter(opaque(50)).validate_python(" secret ") == " secret "
    with pytest.raises(ValidationError, match="path separators"):
        TypeAdapter(file_name(50)).validate_python("../etc/passwd")


def test_the_error_names_the_character_and_position():
    with pytest.raises(ValueError, match=r"U\+0000 at position 3"):
        check_text("abc\x00")


@pytest.mark.parametrize(
    ("pattern", "multiline"), [(SINGLE_LINE_PATTERN, False), (MULTI_LINE_PATTERN, True)]
)
def test_the_documented_pattern_agrees_with_the_check(pattern: str, multiline: bool):
    documented = re.compile(pattern)
    for code in [*range(0x00, 0xA1), 0x2028, 0xFEFF, 0x1F600]:
        character = chr(code)
        try:
            check_text(character, multiline=multiline)
            accepted = True
        except ValueError:
            accepted = False
        # fullmatch: ECMA-262's `$` (the schema's dialect) never matches before a newline.
        assert accepted == bool(documented.fullmatch(character)), hex(code)


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (LoginRequest, {"email": "a\x00@example.com", "password": "x"}, "email"),
        (
            RegisterRequest,
            {"email": "a@example.com", "password": "p", "display_name": "\x00"},
            "display_name",
        ),
        (SendMessage, {"content": "hi\x00", "client_msg_id": "m1"}, "content"),
        (CreatePoll, {"question": "q\x00", "options": ["a", "b"]}, "question"),
        (DeviceIn, {"token": "t\x00"}, "token"),
        (UploadUrlRequest, {"filename": "a\ud800", "content_type": "a/b", "size": 1}, "filename"),
    ],
)
def test_every_free_text_field_uses_the_shared_type(
    model: type[BaseModel], body: dict[str, object], field: str
):
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    assert {e["loc"][0] for e in refused.value.errors()} <= {field}


def test_the_schema_documents_the_rule():
    schema = SendMessage.model_json_schema()
    assert schema["properties"]["content"]["pattern"] == MULTI_LINE_PATTERN
    assert CreatePoll.model_json_schema()["properties"]["question"]["pattern"] == (
        SINGLE_LINE_PATTERN
    )
