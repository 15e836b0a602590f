"""Request bodies of the HTTP API (responses are the library's ``to_dict`` JSON, see docs/schema.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

Mode = Literal["dense", "lexical", "hybrid"]
Where = list[str] | dict[str, Any] | str | None
WHERE_HELP = (
    "Metadata filter: clauses like 'year>=2020' (a list or one string, ';'-separated) or a Haystack-style object "
    "{'field': 'meta.year', 'operator': '>=', 'value': 2020}; also accepted as 'filters'."
)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    question: str = Field(min_length=1, description="A question in plain words.")
    k: int | None = Field(None, ge=1, description="How many passages (default: the server's).")
    mode: Mode | None = Field(None, description="dense, lexical or hybrid (default: the server's).")
    where: Where = Field(None, validation_alias=AliasChoices("where", "filters"), description=WHERE_HELP)


class AskRequest(SearchRequest):
    top_answers: int | None = Field(None, ge=1, description="How many answers (default: the server's).")
    min_confidence: float | None = Field(
        None, ge=0.0, le=1.0, description="Abstain below this confidence (default: the reader's threshold)."
    )
    read_all: bool | None = Field(
        None,
        description="Read all k passages, not only those that could change the answer (default: the server's).",
    )


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=1000)
    text: str = Field(min_length=1)
    title: str = ""
    source: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class DocumentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentIn] = Field(min_length=1)
