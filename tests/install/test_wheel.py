"""A real install: the built wheel, installed (not editable) in a fresh virtual environment, works from any folder
with the models it ships and indexes in the user's data folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODELS = ("retriever-minilm-squad11-int8", "reader-minilm-squad11-int8")


def sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: int = 300) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout's sources (so nothing is written into the checkout)."""
    for name in DEFAULT_MODELS:
        if not (ROOT / "models" / name / "vocab.txt").is_file():
            pytest.skip(f"default model {name} not built")
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in DEFAULT_MODELS:
        shutil.copytree(ROOT / "models" / name, tree / "models" / name)
    dist = tmp_path_factory.mktemp("dist")
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, tree, cwd=tree)
    [built] = dist.glob("openbook-*.whl")
    return built


@pytest.mark.slow
def test_wheel_installs_and_runs_from_any_folder(wheel: Path, tmp_path: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    for model in DEFAULT_MODELS:
        for file in ("model.xml", "model.bin", "vocab.txt", "manifest.json"):
            assert f"openbook/default_models/{model}/{file}" in names
    assert not [n for n in names if n.startswith(("models/", "tests/"))]

    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # The dependencies come from this environment's site-packages (a path entry, so its editable openbook hook is
    # not run); openbook itself is the wheel, unpacked by pip into the new environment.
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    python = venv / "bin" / "python"
    sh(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel, cwd=tmp_path)
    sh(sys.executable, "-m", "pip", "--python", python, "check", cwd=tmp_path)  # every declared dependency present

    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBOOK_") and k != "PYTHONPATH"}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"), COLUMNS="200")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    openbook = venv / "bin" / "openbook"
    code = "import openbook, openbook.config as c; print(openbook.__file__, c.models_dir())"
    where = sh(python, "-c", code, cwd=elsewhere, env=env)
    assert str(venv) in where and str(ROOT) not in where

    assert sh(openbook, "--version", cwd=elsewhere, env=env).strip() == "openbook 0.1.0"
    sh(openbook, "index", ROOT / "examples" / "corpus", cwd=elsewhere, env=env)
    assert (home / "data" / "openbook" / "indexes" / "default" / "index.json").is_file()
    question = "How do honeybees tell each other where flowers are?"
    answer = json.loads(sh(openbook, "ask", question, "--json", cwd=elsewhere, env=env))
    best = answer["answers"][0]
    passage = best["passage"] if isinstance(best["passage"], dict) else best  # the passage object, or flat fields
    assert passage["title"] == "honeybees"
    listed = json.loads(sh(openbook, "models", "list", "--json", cwd=elsewhere, env=env))
    assert sorted(m["name"] for m in listed) == sorted(DEFAULT_MODELS)
    assert list((home / "cache" / "openbook" / "openvino").iterdir())  # compiled models cached for the next start
    assert not list(elsewhere.iterdir())  # nothing written into the working folder
