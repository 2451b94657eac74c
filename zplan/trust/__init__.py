"""Trust in the record: signing keys, signatures, published audit heads (issue 12).

May import the values and ``state``. Never imports ``plan``, ``apply``,
``render``, ``pipeline``, ``cli``, or click.
"""
