"""Reading files: strict YAML documents, schema checks, catalog, directory scans, file rules.

Owns everything ``zplan validate`` does: bytes on disk become a ``Document``
(with positions), are checked against the JSON Schemas and the catalog's
rules, and become a ``Desired`` subscription or positioned diagnostics.

Imports only the values at the top of the package (``zplan.model``,
``zplan.money``, ``zplan.errors``, ``zplan.clock``, ``zplan.diagnostics``).
Never imports ``plan``, ``apply``, ``state``, ``render``, ``pipeline``, ``cli``,
the network, or click.
"""
