"""`python -m lrdoctor` runs the command-line interface."""

from lrdoctor.cli import main

main()
