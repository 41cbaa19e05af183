"""Policy-as-code: blueprint rules, resource rules and change rules (see issue: policy gate).

Nothing here yet: the blueprint's `policies` block (packs, waivers) is parsed and validated by
`blueprints.model`, and the gate that uses it is the next piece of work.
"""
