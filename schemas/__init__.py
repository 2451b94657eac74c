"""The JSON Schemas, shipped inside the package as ``zplan.schemas`` (see pyproject.toml)."""
