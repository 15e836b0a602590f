"""The manifest that travels with a model folder: what the model is and how to feed it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from openbook.errors import OpenbookError

MANIFEST = "manifest.json"


@dataclass
class ModelManifest:
    """Contract of a model: its role, input and output names, lengths and, for retrievers, the vector space."""

    name: str
    kind: str  # "retriever" or "reader"
    inputs: dict[str, str]  # role -> input name in the model (input_ids, attention_mask, token_type_ids, position_ids)
    outputs: dict[str, str]  # role -> output name (embedding; start, end)
    question_length: int
    passage_length: int
    dimension: int | None = None
    pooling: str | None = None
    normalized: bool = False
    metric: str | None = None  # "ip" or "l2"
    lowercase: bool = True
    precision: str = "fp32"
    model_file: str = "model.xml"
    vocab: str = "vocab.txt"
    source: str = ""
    source_sha256: str = ""
    squad_version: int | None = None
    measured: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, Any] = field(default_factory=dict)  # readers: the answer-confidence calibrator (qa.confidence)

    def save(self, folder: Path) -> Path:
        path = Path(folder) / MANIFEST
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: Path) -> ModelManifest:
        path = Path(folder) / MANIFEST
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise OpenbookError(f"no {MANIFEST} in {folder}") from None
        except json.JSONDecodeError as exc:
            raise OpenbookError(f"malformed {path}: {exc.msg} at line {exc.lineno}") from None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def record(self, folder: Path, dataset: str, figures: dict[str, Any]) -> Path:
        """Keep ``figures`` measured on ``dataset`` in the manifest of ``folder`` (replacing that dataset's last ones)."""
        if not (Path(folder) / MANIFEST).is_file():
            raise OpenbookError(f"no {MANIFEST} in {folder} to record figures in")
        self.measured[dataset] = figures
        return self.save(folder)

    def identity(self) -> dict[str, Any]:
        """What an index must agree on with the model that queries it."""
        return {
            "name": self.name,
            "dimension": self.dimension,
            "metric": self.metric,
            "source_sha256": self.source_sha256,
            "precision": self.precision,
        }
