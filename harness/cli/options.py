"""The forms the CLI's options accept, and the one-line errors for the rest.

Durations are written as Locust's `--run-time` is: `90`, `90s`, `2m`, `1h30m`,
`1m30.5s`. Locust's own parser is not reused: importing `locust` monkey-patches
the whole process for gevent, which the harness's CLI must not be.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from harness.checks.model import CATEGORIES, PROFILES
from harness.errors import ConfigError
from harness.platform.backends import BACKENDS
from harness.platform.components.services import BACKENDS as SERVICES
from harness.run.chaos_catalogue import check_scenario_form
from harness.selftest.catalogue import Shard

_DURATION = re.compile(
    r"(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?"
)
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}
DURATION_FORMS = "like 90, 90s, 2m or 1h30m"

Value = TypeVar("Value", str, list[str], None)


def parse_duration(value: str | float) -> float:
    """Seconds in `value` (a bare number is seconds); BadParameter on anything else."""
    text = str(value).strip().lower()
    try:
        return _positive(float(text), text)
    except ValueError:
        pass
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise typer.BadParameter(f"{text!r} is not a duration {DURATION_FORMS}")
    seconds = sum(float(v) * _SECONDS[unit] for unit, v in match.groupdict().items() if v)
    return _positive(seconds, text)


def _positive(seconds: float, text: str) -> float:
    if not seconds > 0 or seconds == float("inf"):
        raise typer.BadParameter(f"{text!r} is not a positive duration {DURATION_FORMS}")
    return seconds


def one_of(choices: Collection[str]) -> Callable[[Value], Value]:
    """An option callback refusing any value (or list item) not in `choices`."""

    def check(value: Value) -> Value:
        for item in [value] if isinstance(value, str) else value or []:
            if item not in choices:
                raise typer.BadParameter(f"{item!r} is not one of {', '.join(choices)}")
        return value

    return check


def ip_address(value: str) -> str:
    """An option callback for an address to bind: an IP address, not a name."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an IP address, e.g. 127.0.0.1") from None
    return value


def refusing(check: Callable[[str], str]) -> Callable[[str | None], str | None]:
    """An option callback from a check that raises ConfigError (None passes)."""

    def callback(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check(value)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from None

    return callback


def shard_form(text: str) -> str:
    """`text` when it names a part of a selection (`2/3`); ConfigError otherwise."""
    Shard.parse(text)
    return text


def _duration(help_text: str) -> typer.models.OptionInfo:
    return typer.Option(help=f"{help_text} ({DURATION_FORMS}).", parser=parse_duration)


Backend = Annotated[
    str,
    typer.Option(
        help="local (processes), compose (the shipped compose files as containers; docker is its "
        "older name), or attach (a running deployment: --stack)",
        callback=one_of(BACKENDS),
    ),
]
StackFile = Annotated[
    Path | None,
    typer.Option(
        "--stack",
        help="The stack file of the deployment --backend attach judges (docs/attach.md).",
        exists=True,
        dir_okay=False,
    ),
]
Profile = Annotated[str, typer.Option(help="smoke (quick) or full", callback=one_of(PROFILES))]
Categories = Annotated[
    list[str] | None,
    typer.Option(help="Only this category (repeatable).", callback=one_of(CATEGORIES)),
]
Services = Annotated[
    list[str] | None,
    typer.Option(help="Start only this backend (repeatable).", callback=one_of(SERVICES)),
]
StateFile = Annotated[
    Path, typer.Option(help="Where the running stack is described.", dir_okay=False)
]
PolicyFile = Annotated[Path, typer.Option(help="Verdict policy file.", exists=True, dir_okay=False)]
ReportRoot = Annotated[Path, typer.Option(help="Where run folders go.", file_okay=False)]
Scenario = Annotated[
    str,
    typer.Argument(
        help="e.g. redis-down, s3-slow, auth-paused", callback=refusing(check_scenario_form)
    ),
]
FaultScenario = Annotated[
    str | None,
    typer.Option(
        help="Chaos scenario mid-run, e.g. redis-down.", callback=refusing(check_scenario_form)
    ),
]
ChaosDuration = Annotated[float, _duration("How long the fault lasts")]
LoadDuration = Annotated[float, _duration("How long the load lasts")]
FaultDuration = Annotated[float, _duration("How long the mid-run fault lasts")]
SelftestShard = Annotated[
    str | None,
    typer.Option(
        help="Only part K of N of the selection, e.g. 2/3: the parts are disjoint and together "
        "the whole (a CI matrix runs one each).",
        callback=refusing(shard_form),
    ),
]
