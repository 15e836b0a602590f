"""The command line: parse, call the library, render (terminal or JSON)."""


def main() -> None:
    from openbook.cli.app import main as run

    run()
