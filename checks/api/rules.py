"""The lint rules, by code. Each is a small function over the document view yielding (pointer,
evidence), kept by theme in rules_auth, rules_input and rules_inventory; titles, severities,
advice and outcome links live in checks/data/findings.yaml, and the part, gate and OWASP item of
each in checks/data/api_rules.yaml. What the rules recognise by name (secrets, URLs, internal
hosts, environments) is in checks/data/api_lint_vocabulary.yaml."""

from __future__ import annotations

# Importing the themed modules registers their rules.
from checks.api import rules_auth, rules_input, rules_inventory
from checks.api.rules_common import REGISTERED, Hit, Rule

RULE_MODULES = (rules_auth, rules_input, rules_inventory)
RULES: dict[str, Rule] = dict(sorted(REGISTERED.items()))

__all__ = ["RULES", "RULE_MODULES", "Hit", "Rule"]
