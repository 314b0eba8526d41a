"""Toxic definitions: the types Toxiproxy knows, their attributes, validation.

A ``Toxic`` is the proxy-wide definition the API shows; what it does to one
connection lives in ``stages.py``. Each toxic also shows its ``stats``: how
many connections it joined, how many its toxicity roll applied to, and what
it did to them (``TOXIC_ACTIONS``). Stock clients ignore the extra field; the
harness reads it as proof that a fault touched traffic. Validation is stricter than Toxiproxy's
(it rejects negative numbers and a toxicity outside [0, 1]) because a fault
that silently does nothing is worse than a 400 in a readiness run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.toxiproxy.server.errors import (
    INVALID_STREAM,
    INVALID_TOXIC_TYPE,
    ApiError,
    bad_request,
)

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
STREAMS = (UPSTREAM, DOWNSTREAM)

# Attribute names per type, all integers as in Toxiproxy's Go structs.
TOXIC_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "latency": ("latency", "jitter"),
    "bandwidth": ("rate",),
    "slow_close": ("delay",),
    "timeout": ("timeout",),
    "reset_peer": ("timeout",),
    "slicer": ("average_size", "size_variation", "delay"),
    "limit_data": ("bytes",),
}

# What each type counts when it acts on a connection, for the toxic's stats.
TOXIC_ACTIONS: dict[str, tuple[str, ...]] = {
    "latency": ("chunks_delayed",),
    "bandwidth": ("bytes_held_back",),
    "slow_close": ("closes_delayed",),
    "timeout": ("connections_stalled", "connections_closed"),
    "reset_peer": ("resets_sent",),
    "slicer": ("chunks_sliced",),
    "limit_data": ("connections_closed",),
}

# Go decodes attributes into int64; anything larger is a decoding error there.
MAX_ATTRIBUTE = 2**63 - 1


@dataclass
class ToxicStats:
    """What one toxic did, over its whole life (updates included)."""

    connections_joined: int = 0
    #: Connections whose toxicity roll came up at least once.
    connections_applied: int = 0
    actions: dict[str, int] = field(default_factory=dict)

    def count(self, action: str, amount: int = 1) -> None:
        self.actions[action] = self.actions.get(action, 0) + amount

    def to_json(self) -> dict[str, int]:
        return {
            "connections_joined": self.connections_joined,
            "connections_applied": self.connections_applied,
            **self.actions,
        }


@dataclass
class Toxic:
    """One toxic as the API stores and shows it."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, int] = field(default_factory=dict)
    stats: ToxicStats = field(default_factory=ToxicStats, compare=False, repr=False)

    def __post_init__(self) -> None:
        for action in TOXIC_ACTIONS.get(self.type, ()):
            self.stats.actions.setdefault(action, 0)

    def to_json(self) -> dict[str, object]:
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "stats": self.stats.to_json(),
        }


def parse_toxic(body: object) -> Toxic:
    """Build a new toxic from a POST /proxies/{name}/toxics body."""
    if not isinstance(body, Mapping):
        raise bad_request("expected a JSON object")
    toxic_type = _optional_str(body, "type", "")
    stream = _optional_str(body, "stream", DOWNSTREAM)
    if stream not in STREAMS:
        raise ApiError(400, INVALID_STREAM)
    name = _optional_str(body, "name", "") or f"{toxic_type}_{stream}"
    if toxic_type not in TOXIC_ATTRIBUTES:
        raise ApiError(400, f"{INVALID_TOXIC_TYPE}: {toxic_type!r}")
    defaults = dict.fromkeys(TOXIC_ATTRIBUTES[toxic_type], 0)
    return Toxic(
        name=name,
        type=toxic_type,
        stream=stream,
        toxicity=parse_toxicity(body.get("toxicity"), default=1.0),
        attributes=_merge_attributes(toxic_type, defaults, body.get("attributes")),
    )


def updated_toxic(toxic: Toxic, body: object) -> Toxic:
    """A copy of ``toxic`` with a POST /proxies/{p}/toxics/{t} body applied.

    Like Toxiproxy, only ``attributes`` (merged) and ``toxicity`` change;
    name, type and stream are fixed once the toxic exists, and the stats go on
    counting.
    """
    if not isinstance(body, Mapping):
        raise bad_request("expected a JSON object")
    return Toxic(
        name=toxic.name,
        type=toxic.type,
        stream=toxic.stream,
        toxicity=parse_toxicity(body.get("toxicity"), default=toxic.toxicity),
        attributes=_merge_attributes(toxic.type, toxic.attributes, body.get("attributes")),
        stats=toxic.stats,
    )


def parse_toxicity(value: object, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"toxicity must be a number, got {value!r}")
    # NaN fails both comparisons, so it is rejected here too.
    if not 0.0 <= value <= 1.0:
        raise bad_request(f"toxicity must be between 0 and 1, got {value!r}")
    return float(value)


def _optional_str(body: Mapping[str, object], key: str, default: str) -> str:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_request(f"field {key!r} must be a string, got {value!r}")
    return value


def _merge_attributes(toxic_type: str, current: Mapping[str, int], given: object) -> dict[str, int]:
    merged = dict(current)
    if given is None:
        return merged
    if not isinstance(given, Mapping):
        raise bad_request(f"attributes must be a JSON object, got {given!r}")
    known = TOXIC_ATTRIBUTES[toxic_type]
    # Unknown keys are ignored, as Go's decoder ignores unknown struct fields.
    for key in known:
        if key in given and given[key] is not None:
            merged[key] = _attribute_int(key, given[key])
    return merged


def _attribute_int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"attribute {key!r} must be an integer, got {value!r}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise bad_request(f"attribute {key!r} must be an integer, got {value!r}")
    number = int(value)
    if number < 0:
        raise bad_request(f"attribute {key!r} must not be negative, got {number}")
    if number > MAX_ATTRIBUTE:
        raise bad_request(f"attribute {key!r} is too large: {number}")
    return number
