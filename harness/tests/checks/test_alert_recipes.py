"""OBS-004's precondition: every alert rule has a recipe; a rule without one is named."""

from __future__ import annotations

from pathlib import Path

from harness.checks.library import alert_firing, alert_selectors
from scenarios.observability.alert_recipes import RECIPES

RULES = Path(__file__).resolve().parents[3] / "compose" / "prometheus" / "rules"


def test_every_shipped_rule_has_a_recipe() -> None:
    names = {rule.name for rule in alert_selectors.alert_rules(RULES)}
    assert alert_firing.missing_recipes(names, RECIPES) == []


def test_a_new_rule_without_a_recipe_is_named() -> None:
    names = {"RedisDegradedMode", "DiskAlmostFull"}
    assert alert_firing.missing_recipes(names, RECIPES) == ["DiskAlmostFull"]


def test_each_alert_has_one_recipe() -> None:
    alerts = [name for recipe in RECIPES for name in recipe.alerts]
    assert len(alerts) == len(set(alerts))
    assert alert_firing.recipe_for("ServiceDown", RECIPES) is not None
    assert alert_firing.recipe_for("DiskAlmostFull", RECIPES) is None
