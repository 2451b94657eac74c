"""Writing: the apply transaction, saved (signed) plan files, git provenance.

``session`` takes the locks, re-plans under them and writes each account's new
version and audit entry through a ``zplan.state`` store; ``planfile`` writes and
reads signed saved plans; ``gitinfo`` asks git which commit touched a file.
Later: change orders for live accounts.

May import the values, ``load``, ``plan`` and ``state``. Never imports
``render``, ``pipeline``, ``cli``, or click.
"""
