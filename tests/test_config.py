"""Settings: every OPENBOOK_* variable parsed in one place, typed, with one-line errors, and handed to the runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from openbook import config
from openbook.config import RuntimeSettings, Settings
from openbook.errors import OpenbookError
from openbook.models.runtime import CompiledModel


def test_defaults():
    s = Settings.from_env({})
    assert s.runtime == RuntimeSettings(reshape=False, precision=None, threads=0, hint="LATENCY")
    assert s.models.name == "models" and s.indexes.name == "indexes"
    assert s.history == Path.home() / ".openbook_history"


def test_every_variable_is_read(tmp_path):
    env = {
        "OPENBOOK_MODELS": str(tmp_path / "m"),
        "OPENBOOK_INDEXES": str(tmp_path / "i"),
        "OPENBOOK_HISTORY": str(tmp_path / "h"),
        "OPENBOOK_RESHAPE": "yes",
        "OPENBOOK_PRECISION": "f32",
        "OPENBOOK_THREADS": "2",
        "OPENBOOK_HINT": "throughput",
        "OPENBOOK_MODEL_CACHE": str(tmp_path / "c"),
        "OPENBOOK_LOCK_TIMEOUT": "5",
        "OPENBOOK_RAY": "local",
    }
    s = Settings.from_env(env)
    assert (s.models, s.indexes, s.history) == (tmp_path / "m", tmp_path / "i", tmp_path / "h")
    assert s.runtime == RuntimeSettings(reshape=True, precision="f32", threads=2, hint="THROUGHPUT")
    assert (s.model_cache, s.lock_timeout, s.ray) == (tmp_path / "c", 5.0, "local")
    assert set(env) == set(config.VARIABLES)


@pytest.mark.parametrize(
    "name, value", [("OPENBOOK_THREADS", "four"), ("OPENBOOK_RESHAPE", "maybe"), ("OPENBOOK_HINT", "FAST")]
)
def test_bad_values_are_one_line_errors(name, value):
    with pytest.raises(OpenbookError) as err:
        Settings.from_env({name: value})
    assert str(err.value).startswith(f"{name}={value!r}") and "\n" not in str(err.value)


def test_settings_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENBOOK_MODELS", str(tmp_path / "a"))
    first = config.settings()
    assert config.settings() is first and config.models_dir() == tmp_path / "a"  # parsed once
    monkeypatch.setenv("OPENBOOK_MODELS", str(tmp_path / "b"))
    assert config.models_dir() == tmp_path / "b"
    assert config.resolve_model("x", "default") == tmp_path / "b" / "x"
    assert config.resolve_model(None, "default") == tmp_path / "b" / "default"
    assert config.indexes_dir() == tmp_path / "indexes"  # the test fixture's


def test_runtime_takes_its_settings(standin_dir, monkeypatch):
    model = standin_dir / "dynamic"
    given = CompiledModel(model, runtime=RuntimeSettings(threads=1, hint="THROUGHPUT"))
    assert str(given._compiled.get_property("PERFORMANCE_HINT")) == "THROUGHPUT"
    assert int(given._compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    monkeypatch.setenv("OPENBOOK_THREADS", "1")
    from_env = CompiledModel(model)
    assert int(from_env._compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    assert str(from_env._compiled.get_property("PERFORMANCE_HINT")) == "LATENCY"
