"""Toxic definitions: defaults, validation, and how updates merge."""

from __future__ import annotations

import pytest

from harness.toxiproxy.server.errors import ApiError
from harness.toxiproxy.server.toxics import TOXIC_ATTRIBUTES, Toxic, parse_toxic, updated_toxic


def test_defaults_match_toxiproxy() -> None:
    toxic = parse_toxic({"type": "slicer"})
    assert toxic == Toxic(
        name="slicer_downstream",
        type="slicer",
        stream="downstream",
        toxicity=1.0,
        attributes={"average_size": 0, "size_variation": 0, "delay": 0},
    )


@pytest.mark.parametrize("toxic_type", sorted(TOXIC_ATTRIBUTES))
def test_every_type_round_trips_its_attributes(toxic_type: str) -> None:
    attributes = {key: index + 1 for index, key in enumerate(TOXIC_ATTRIBUTES[toxic_type])}
    body = {"type": toxic_type, "stream": "upstream", "attributes": attributes}
    shown = parse_toxic(body).to_json()
    assert shown["attributes"] == attributes and shown["name"] == f"{toxic_type}_upstream"


def test_unknown_attributes_are_ignored_like_go() -> None:
    toxic = parse_toxic({"type": "timeout", "attributes": {"timeout": 5, "colour": "red"}})
    assert toxic.attributes == {"timeout": 5}


def test_integral_floats_are_accepted() -> None:
    assert parse_toxic({"type": "latency", "attributes": {"latency": 300.0}}).attributes == {
        "latency": 300,
        "jitter": 0,
    }


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"type": 7},
        {"type": "latency", "name": 3},
        {"type": "latency", "toxicity": float("nan")},
        {"type": "latency", "toxicity": -0.1},
        {"type": "latency", "toxicity": True},
        {"type": "latency", "attributes": {"latency": -1}},
        {"type": "latency", "attributes": {"latency": True}},
        {"type": "latency", "attributes": {"latency": float("inf")}},
        {"type": "latency", "attributes": {"latency": 2**64}},
    ],
)
def test_bad_bodies_are_400(body: object) -> None:
    with pytest.raises(ApiError) as raised:
        parse_toxic(body)
    assert raised.value.status == 400
    assert raised.value.message


def test_update_merges_and_keeps_identity() -> None:
    toxic = parse_toxic({"type": "latency", "attributes": {"latency": 100, "jitter": 5}})
    changed = updated_toxic(
        toxic, {"type": "timeout", "stream": "upstream", "attributes": {"jitter": 9}}
    )
    assert (changed.name, changed.type, changed.stream) == (toxic.name, "latency", "downstream")
    assert changed.attributes == {"latency": 100, "jitter": 9}
    assert toxic.attributes == {"latency": 100, "jitter": 5}  # the original is untouched
