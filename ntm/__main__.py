"""`python -m ntm` runs the command line."""

from ntm.cli import main

main()
