"""The source line of a result names the page and section a passage comes from."""

from __future__ import annotations

from openbook.cli.display import location, show_results
from openbook.types import Passage, SearchResult


def passage(**metadata) -> Passage:
    return Passage("Text.", "/docs/manual.pdf", 0, 5, source="/docs/manual.pdf", metadata=metadata)


def test_page_range_and_section() -> None:
    assert location(passage()) == "/docs/manual.pdf"
    assert location(passage(page=12, pages=40)) == "/docs/manual.pdf, p. 12"
    assert location(passage(page=12, last_page=13)) == "/docs/manual.pdf, pp. 12–13"
    assert location(passage(page=3, section="Wiring")) == "/docs/manual.pdf, p. 3 § Wiring"
    assert location(Passage("t", "doc-7", 0, 1)) == "doc-7"


def test_empty_search_says_so(capsys) -> None:
    show_results("anything", [])
    assert "no passages found" in capsys.readouterr().out
    show_results("pump", [SearchResult(passage(page=2), 1.0, 1)])
    assert "/docs/manual.pdf, p. 2" in capsys.readouterr().out
