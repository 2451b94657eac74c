"""The live account, read through Zendesk's public REST API (issue 15).

Reached only by the commands that read the live account. May import the values.
Never imports ``plan``, ``apply``, ``state``, ``render``, ``pipeline``, ``cli``,
or click.
"""
