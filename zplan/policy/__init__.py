"""Guardrails: Rego policies and budgets over plan documents (issue 17).

May import the values and ``load`` (positioned diagnostics for budget files).
Never imports ``apply``, ``state``, ``render``, ``pipeline``, ``cli``, or click.
"""
