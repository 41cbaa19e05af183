"""Policy-as-code: blueprint rules, resource rules (own pack + checkov) and change rules, with waivers.

Entry point: `policies.gate.evaluate`. Rules live one per file under `policies/rules/`; packs in
`policies/packs.py`; the generated list in `policies/RULES.md`.
"""
