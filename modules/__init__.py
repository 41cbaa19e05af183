"""Constructs: one per component per cloud (`modules/<component>/<cloud>.py`).

Constructs take `(scope, id, *, props)`, never create providers, backends or
stacks (only `stacks/` does), and reach each other through typed attributes and
grant methods.
"""
