"""The commands of `python -m core`, one module each (the table: `app/cli.py`).

Each module defines `add_arguments(parser)` and `run(args) -> int`: it parses and checks the command's
options, calls typed library functions (core, export, app) and prints what they return. The library itself
parses no arguments and prints nothing. Options several commands share are defined once, in `options`.
"""
