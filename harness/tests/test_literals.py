"""Literals finds what a regular expression alternating the same strings finds."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from harness.literals import Literals

#: A small alphabet, so that values overlap, nest and repeat in the texts.
ALPHABET = "ab.-\n"
values = st.lists(st.text(ALPHABET, min_size=1, max_size=6), max_size=8)
texts = st.text(ALPHABET, max_size=60)


def alternation(strings: list[str]) -> re.Pattern[str]:
    """What the harness used before: longest first, so the longest wins at a position."""
    ordered = sorted(set(strings), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)))


@given(values, texts)
@example(["-", "a-a"], "a-")  # pyahocorasick's iter_long misses this "-"
def test_spans_are_the_alternations_matches(strings: list[str], text: str) -> None:
    expected = [m.span() for m in alternation(strings).finditer(text)] if strings else []
    assert Literals(strings).spans(text) == expected


@given(values, texts)
def test_sub_replaces_what_the_alternation_replaces(strings: list[str], text: str) -> None:
    expected = alternation(strings).sub("#", text) if strings else text
    assert Literals(strings).sub("#", text) == expected


def test_nothing_to_find_leaves_the_text_alone() -> None:
    assert Literals([]).sub("#", "any text") == "any text"
    assert Literals(["", ""]).spans("any text") == []


def test_a_longer_value_wins_over_one_it_starts_with() -> None:
    found = Literals(["token", "token-rotated"])
    assert found.sub("[R]", "was token-rotated, then token") == "was [R], then [R]"
