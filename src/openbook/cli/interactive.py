"""The interactive mode of ``openbook ask``: a prompt with line editing and history."""

from __future__ import annotations

from pathlib import Path

from openbook.cli import display
from openbook.config import settings
from openbook.index.filters import Filter
from openbook.models.warmup import Warmer
from openbook.qa.pipeline import OpenBook

PROMPT = "openbook> "
HELP = """Type a question and press Enter. Commands:
  :k N      read the top N passages (now {k})
  :top N    show N answers (now {top})
  :json     switch JSON output {json}
  :help     this help
  :quit     leave (Ctrl-D does too)
Ctrl-C cancels the question being answered, or clears the line."""


def history_file() -> Path:
    return settings().history


class Session:
    """State of one interactive session: the pipeline, the options changeable with commands, and the metadata filter
    (``--where``) every question of the session is asked with."""

    def __init__(
        self, book: OpenBook, json_out: bool = False, where: Filter | None = None, warmer: Warmer | None = None
    ) -> None:
        self.book = book
        self.json_out = json_out
        self.where = where
        self.warmer = warmer or Warmer([])  # the models' batch shapes, run while the person types

    def help(self) -> str:
        return HELP.format(k=self.book.k, top=self.book.top_answers, json="off" if self.json_out else "on")

    def command(self, line: str) -> bool:
        """Carry out a ``:command``; returns False when the session should end."""
        name, _, arg = line[1:].strip().partition(" ")
        if name in ("q", "quit", "exit"):
            return False
        if name in ("h", "help", "?"):
            display.console.print(self.help(), highlight=False)
        elif name in ("k", "top"):
            if not arg.strip().isdigit() or int(arg) < 1:
                display.console.print(f"[red]:{name} needs a whole number of at least 1[/]")
            elif name == "k":
                self.book.k = int(arg)
                display.console.print(f"reading the top {self.book.k} passages", highlight=False)
            else:
                self.book.top_answers = int(arg)
                display.console.print(f"showing {self.book.top_answers} answers", highlight=False)
        elif name == "json":
            self.json_out = not self.json_out
            display.console.print(f"JSON output {'on' if self.json_out else 'off'}")
        else:
            display.console.print(f"[red]unknown command :{name}[/] (:help lists them)")
        return True

    def ask(self, question: str) -> None:
        with self.warmer.hold():
            answers = self.book.ask(question, where=self.where)
        if self.json_out:
            display.print_json({"question": question, "answers": [a.to_dict() for a in answers]})
        else:
            display.show_answers(question, answers)


def run(book: OpenBook, json_out: bool = False, where: Filter | None = None) -> None:
    """Read questions until :quit or end of input, each answered from the passages that pass ``where``."""
    import readline

    history = history_file()
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(1000)
    session = Session(book, json_out, where, Warmer(book.warm_shapes()).start())
    display.console.print(
        f"openbook: index [bold]{book.retriever.index.name}[/], {book.retriever.index.count_passages()} passages. "
        "Ask a question (:help for commands, Ctrl-D to quit)."
    )
    if where is not None:
        display.console.print(f"Every answer comes from passages whose metadata passes: {where}", highlight=False)
    try:
        while True:
            try:
                line = input(PROMPT).strip()
            except KeyboardInterrupt:
                print()
                continue
            except EOFError:
                print()
                break
            if not line:
                continue
            if line.startswith(":"):
                if not session.command(line):
                    break
                continue
            try:
                session.ask(line)
            except KeyboardInterrupt:
                display.console.print("[yellow]cancelled[/]")
    finally:
        session.warmer.stop()
        try:
            readline.write_history_file(history)
        except OSError:
            pass
