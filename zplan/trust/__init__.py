"""Trust in the record: signing keys, the store's key registry, published audit heads (issue 12).

Imports only the values (``zplan.errors``, ...); ``state`` imports it (a store
signs and verifies its entries). Never imports ``state``, ``plan``, ``apply``,
``render``, ``pipeline``, ``cli``, or click; ``cryptography`` only inside the
functions that sign or verify.
"""
