"""One command's run through the stages: settings, workspaces, bulk planning over workers.

What each command of ``zplan.cli`` calls: ``settings`` resolves the store and
catalog, ``workflow`` joins load → plan → apply for a command, ``bulk`` plans
many files across worker processes.

May import every stage (``load``, ``plan``, ``apply``, ``state``, and later
``trust``, ``zendesk``, ``policy``). Never imports ``render`` or ``cli``, never
prints, never imports click.
"""
