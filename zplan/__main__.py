"""``python -m zplan``."""

from zplan.cli import main

main()
