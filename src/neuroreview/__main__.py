"""``python -m neuroreview`` runs the command line, as the ``neuroreview`` script does."""

from neuroreview.cli import main

main()
