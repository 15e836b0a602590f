"""The command line: parse, call the library, render (terminal or JSON)."""

import sys

BACKGROUND_COMPILE = ("ask", "search")  # commands that answer one question: their models load while they go on


def main() -> None:
    from openbook.cli.app import main as run

    if sys.argv[1:2] and sys.argv[1] in BACKGROUND_COMPILE:
        from openbook.models.runtime import compile_in_background

        compile_in_background()  # see its docstring for why it is not every command's default
    run()
