"""Many literal strings found in a text in one pass (Aho-Corasick, pyahocorasick).

A full run collects some 1500 secrets (every token, password and presigned
link its clients were handed or sent). A regular expression alternating them
tries each one at every position of a text, so redacting the evidence and
scanning the run's ~30 MB of artifacts for them cost minutes; an automaton
finds them all in one pass over the text, whatever their number.

Matches are those of the alternation `longest|...|shortest`: the leftmost
match first, the longest one at that position, then on after its end.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick

Span = tuple[int, int]


class Literals:
    """A fixed set of non-empty strings, searched for together."""

    def __init__(self, values: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for value in {v for v in values if v}:
            self._automaton.add_word(value, len(value))
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def spans(self, text: str) -> list[Span]:
        """(start, end) of each match, in order, none overlapping."""
        if self._empty:
            return []
        # Every match, overlapping ones too (the automaton's own `iter_long` misses a
        # short match that starts inside a longer value's failed prefix), then the
        # leftmost-longest of them as the alternation picks them.
        found = sorted((end + 1 - length, -length) for end, length in self._automaton.iter(text))
        spans: list[Span] = []
        for start, negative_length in found:
            if not spans or start >= spans[-1][1]:
                spans.append((start, start - negative_length))
        return spans

    def sub(self, replacement: str, text: str) -> str:
        """`text` with every match replaced by `replacement`."""
        spans = self.spans(text)
        if not spans:
            return text
        pieces, last = [], 0
        for start, end in spans:
            pieces += (text[last:start], replacement)
            last = end
        pieces.append(text[last:])
        return "".join(pieces)
