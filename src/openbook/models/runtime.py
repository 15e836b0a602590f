"""OpenVINO model I/O: load an IR or ONNX file, map its inputs by role, run padded batches at static or dynamic shape."""

from __future__ import annotations

import locale
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openbook.config import RuntimeSettings, model_cache_dir, settings
from openbook.errors import OpenbookError
from openbook.lazy import LazyModule
from openbook.models.tokenization import Batch


def _import_openvino():  # noqa: ANN202 - the openvino module
    """``import openvino`` without its model converter: the package imports ``openvino.tools.ovc`` eagerly, 0.7 s of
    every start that only ``models build`` needs. ``ov.convert_model`` still works: it imports the converter on use."""
    import sys

    if "openvino" in sys.modules:
        return sys.modules["openvino"]
    blocked = "openvino.tools.ovc" not in sys.modules
    if blocked:
        sys.modules["openvino.tools.ovc"] = None  # type: ignore[assignment]  # makes its import fail, and be skipped
    try:
        import openvino
    finally:
        if blocked:
            del sys.modules["openvino.tools.ovc"]
    if not hasattr(openvino, "convert_model"):

        def convert_model(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            from openvino.tools.ovc import convert_model as convert

            return convert(*args, **kwargs)

        openvino.convert_model = convert_model
    return openvino


ov = LazyModule("openvino", _import_openvino)  # imported by the first model loaded, not by every command

ROLES = ("input_ids", "attention_mask", "token_type_ids", "position_ids")
# Names seen in the wild for each role, in order of preference.
ALIASES = {
    "input_ids": ("input_ids", "input_ids:0", "0"),
    "attention_mask": ("attention_mask", "input_mask", "attention_mask:0", "1"),
    "token_type_ids": ("token_type_ids", "segment_ids", "token_type_ids:0", "2"),
    "position_ids": ("position_ids", "position_ids:0", "3"),
}
MODEL_SUFFIXES = (".xml", ".onnx")

WARM_UP_MAX_LENGTH = 64  # longest static input given a warm-up batch after compiling

_core: ov.Core | None = None
_compiler: ThreadPoolExecutor | None = None
_compile_in_background = False


def compile_in_background(on: bool = True) -> None:
    """Compile models loaded from now on in a background thread, so a process can load two at once and go on with
    other work meanwhile (the command line does; 0.1-0.2 s of each start).

    Off by default: OpenVINO switches the process's C locale to "C" while it compiles, so for that moment another thread
    that decodes text with the locale's encoding (``open`` or ``subprocess`` without an explicit encoding) reads
    ASCII. openbook always names its encodings; a caller whose own threads may not should leave this off.
    """
    global _compile_in_background
    _compile_in_background = on


def _background() -> ThreadPoolExecutor:
    """The thread that compiles models: two models of one process load at once (OpenVINO releases the GIL)."""
    global _compiler
    if _compiler is None:
        # OpenVINO's bindings set up their numpy interface once, on first use, in a way that deadlocks when two threads
        # get there at once (one holds the GIL, the other the once-flag): set it up here, on this thread, first.
        ov.Tensor(np.zeros(1, dtype=np.float32))
        _compiler = ThreadPoolExecutor(max_workers=2, thread_name_prefix="openbook-compile")
    return _compiler


def core() -> ov.Core:
    """The process's OpenVINO core; compiled models are cached on disk (:func:`openbook.config.model_cache_dir`), so a
    later process loads a model in a fraction of the compile time."""
    global _core
    if _core is None:
        _core = ov.Core()
        cache = model_cache_dir()
        if cache is not None:
            try:
                cache.mkdir(parents=True, exist_ok=True)
                _core.set_property({"CACHE_DIR": str(cache)})
            except (OSError, RuntimeError):
                pass  # a cache folder that cannot be made only costs the compile time
    return _core


_locale_lock = threading.Lock()
_loading = 0  # OpenVINO reads and compiles under way
_process_locale = ""


@contextmanager
def keeping_locale() -> Iterator[None]:
    """Around an OpenVINO read or compile: OpenVINO switches the C locale while it loads a model and puts it back, and
    two threads loading at once can leave it switched to "C" (Python's default text encoding then turns ASCII). When
    the last load under way ends, the process's locale is put back."""
    global _loading, _process_locale
    with _locale_lock:
        if _loading == 0:
            _process_locale = locale.setlocale(locale.LC_ALL)
        _loading += 1
    try:
        yield
    finally:
        with _locale_lock:
            _loading -= 1
            if _loading == 0 and locale.setlocale(locale.LC_ALL) != _process_locale:
                locale.setlocale(locale.LC_ALL, _process_locale)


def find_model_file(path: Path) -> Path:
    """The .xml or .onnx file at ``path`` (a file or a folder holding exactly one model)."""
    path = Path(path)
    if path.is_file():
        if path.suffix not in MODEL_SUFFIXES:
            raise OpenbookError(f"not an OpenVINO IR (.xml) or ONNX (.onnx) model: {path}")
        return path
    if not path.is_dir():
        raise OpenbookError(f"model not found: {path}")
    found = [p for s in MODEL_SUFFIXES for p in sorted(path.glob(f"*{s}"))]
    if not found:
        raise OpenbookError(f"no .xml or .onnx model in {path}")
    return found[0]


def match_inputs(names: list[str], given: dict[str, str] | None = None) -> dict[str, str]:
    """Map each input role to a model input name; raise naming what cannot be matched."""
    given = dict(given or {})
    mapping: dict[str, str] = {}
    for role, name in given.items():
        if name not in names:
            raise OpenbookError(f"model has no input named {name!r} (its inputs: {', '.join(names)})")
        mapping[role] = name
    for role in ROLES:
        if role in mapping:
            continue
        for alias in ALIASES[role]:
            if alias in names and alias not in mapping.values():
                mapping[role] = alias
                break
    unknown = [n for n in names if n not in mapping.values()]
    if unknown and not mapping and 2 <= len(names) <= len(ROLES):  # numbered inputs: take them by position
        return dict(zip(ROLES, names))
    if unknown:
        raise OpenbookError(f"model input(s) {', '.join(unknown)} match no BERT role ({', '.join(ROLES)})")
    for role in ("input_ids", "attention_mask"):
        if role not in mapping:
            raise OpenbookError(f"model lacks an input for {role} (its inputs: {', '.join(names)})")
    return mapping


def probe_batch(rows: int, length: int) -> Batch:
    """A batch of ``rows`` × ``length`` ordinary tokens, to try a compiled model on."""
    return Batch(
        input_ids=np.full((rows, length), 100, dtype=np.int64),
        attention_mask=np.ones((rows, length), dtype=np.int64),
        token_type_ids=np.zeros((rows, length), dtype=np.int64),
    )


@dataclass(frozen=True)
class Shape:
    """The sequence shape a model accepts: ``None`` for a dynamic dimension."""

    batch: int | None
    length: int | None


class CompiledModel:
    """A compiled OpenVINO model fed by role: ``run(batch)`` returns its outputs by name."""

    def __init__(
        self,
        path: Path,
        inputs: dict[str, str] | None = None,
        precision: str | None = None,
        threads: int | None = None,
        reshape: bool | None = None,
        shape: tuple[int, int] | None = None,
        runtime: RuntimeSettings | None = None,
    ) -> None:
        """``runtime`` holds the defaults (:func:`openbook.config.settings`, from ``OPENBOOK_*``); ``precision``,
        ``threads`` and ``reshape`` override them. ``reshape`` makes a model of static shape dynamic where its graph
        allows it, so that it runs unpadded batches; it keeps the static length as its limit. ``shape`` asks for a
        static [batch, length] instead (a question model at [1, 32]), where the graph allows it.
        """
        runtime = runtime or settings().runtime
        self.path = find_model_file(path)
        model = self._read()
        names = [i.get_any_name() for i in model.inputs]
        self.inputs = match_inputs(names, inputs)
        self.output_names = [o.get_any_name() for o in model.outputs]
        declared = model.inputs[0].get_partial_shape()
        if declared.rank.is_dynamic or declared.rank.get_length() != 2:
            raise OpenbookError(f"model input {names[0]} has shape {declared}; expected [batch, length]")
        dims = [d.get_length() if d.is_static else None for d in declared]
        self.shape = Shape(dims[0], dims[1])  # the shape fed to the model
        self.limit = self.shape.length  # the most tokens it takes: its static length, kept when reshaped
        self.reshaped = False
        if reshape is None:
            reshape = runtime.reshape
        # One request using every core (LATENCY) measured as fast as two single-core streams here, in batches too.
        # THROUGHPUT splits the cores into streams, and one synchronous request uses only one of them: it halved
        # encoding speed here.
        config: dict[str, str] = {"PERFORMANCE_HINT": runtime.hint}
        precision = precision or runtime.precision
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        threads = threads or runtime.threads
        if threads:
            config["INFERENCE_NUM_THREADS"] = str(threads)
            if threads < len(os.sched_getaffinity(0)):
                # OpenVINO pins a process's threads to the first cores: two processes of one thread each (two Ray
                # actors of 1 CPU) then share core 0 and each runs at half speed (measured: 5.3 s against 2.6 s)
                config["ENABLE_CPU_PINNING"] = "NO"
        target = None
        if shape is not None and Shape(*shape) != self.shape:
            target = Shape(*shape)
        elif reshape and self.shape != Shape(None, None):
            target = Shape(None, None)
        compiled = None
        if target is not None:
            compiled = self._compile_at(model, target, config)
            if compiled is None:
                model = self._read()  # a reshape that failed may leave the model half changed
        if compiled is not None:
            self._ready: Future = Future()
            self._ready.set_result((compiled, compiled.create_infer_request()))
        elif _compile_in_background:  # compiled (or loaded from the model cache) while the caller goes on
            self._ready = _background().submit(self._compile_file, config, True)
        else:
            self._ready = Future()
            try:
                self._ready.set_result(self._compile_file(config, False))
            except RuntimeError as exc:
                self._ready.set_exception(exc)
            self._wait()

    def _compile_file(self, config: dict[str, str], warm_up: bool) -> tuple[ov.CompiledModel, ov.InferRequest]:
        """Compile the model file; with ``warm_up``, run one small batch through it: the first inference of a compiled
        model pays a one-off set-up (about 35 ms here), which a background compile takes off the question's path."""
        # The file itself, not the model read above: the model cache then keys it by its path instead of hashing the
        # whole graph and weights (0.3 s of each start here); a model left as read compiles the same either way.
        with keeping_locale():
            compiled = core().compile_model(str(self.path), "CPU", config)
        request = compiled.create_infer_request()
        length = self.shape.length
        # never a full 384-token pass of a large static model
        if warm_up and (length is None or length <= WARM_UP_MAX_LENGTH):
            try:
                request.infer(self.feed(probe_batch(self.shape.batch or 1, length or 16)))
            except RuntimeError:
                pass  # a model that cannot run the probe says why at its first real batch
        return compiled, request

    def _wait(self) -> tuple[ov.CompiledModel, ov.InferRequest]:
        try:
            return self._ready.result()
        except RuntimeError as exc:
            raise OpenbookError(f"cannot compile model {self.path}: {str(exc).strip().splitlines()[0]}") from None

    @property
    def _compiled(self) -> ov.CompiledModel:
        return self._wait()[0]

    @property
    def _request(self) -> ov.InferRequest:
        return self._wait()[1]

    def _read(self) -> ov.Model:
        try:
            with keeping_locale():
                return core().read_model(self.path)
        except RuntimeError as exc:
            raise OpenbookError(f"cannot read model {self.path}: {str(exc).splitlines()[0]}") from None

    def _compile_at(self, model: ov.Model, target: Shape, config: dict[str, str]) -> ov.CompiledModel | None:
        """``model`` reshaped to ``target`` (``None`` dimensions dynamic) and compiled, if it runs a probe batch at that
        shape (2 × 16 tokens where dynamic); ``None`` when its graph fixes the shape (a Reshape to a constant
        [1, 384, …] passes the reshape itself and fails only when run)."""
        declared = self.shape
        self.shape = target
        rows, length = target.batch or 2, target.length or 16
        probe = probe_batch(rows, length)
        try:
            dims = [target.batch or -1, target.length or -1]
            model.reshape({i.get_any_name(): ov.PartialShape(dims) for i in model.inputs})
            with keeping_locale():
                compiled = core().compile_model(model, "CPU", config)
            out = compiled.create_infer_request().infer(self.feed(probe))
            if any(out[o].shape[:1] != (rows,) for o in compiled.outputs):
                raise RuntimeError("outputs do not follow the batch")
        except RuntimeError:
            self.shape = declared
            return None
        if target.length is not None:
            self.limit = target.length
        self.reshaped = True
        return compiled

    @property
    def max_length(self) -> int | None:
        return self.limit

    @property
    def max_batch(self) -> int | None:
        return self.shape.batch

    def feed(self, batch: Batch) -> dict[str, np.ndarray]:
        """Model inputs for a batch, padded to the model's static length when it has one."""
        arrays = {
            "input_ids": batch.input_ids,
            "attention_mask": batch.attention_mask,
            "token_type_ids": batch.token_type_ids,
        }
        if "position_ids" in self.inputs:
            length = batch.input_ids.shape[1]
            arrays["position_ids"] = np.broadcast_to(np.arange(length, dtype=np.int64), batch.input_ids.shape)
        if self.shape.length is not None and batch.input_ids.shape[1] < self.shape.length:
            pad = self.shape.length - batch.input_ids.shape[1]
            arrays = {k: np.pad(v, ((0, 0), (0, pad))) for k, v in arrays.items()}
            if "position_ids" in arrays:
                arrays["position_ids"] = np.broadcast_to(
                    np.arange(self.shape.length, dtype=np.int64), arrays["input_ids"].shape
                )
        return {self.inputs[role]: np.ascontiguousarray(v) for role, v in arrays.items() if role in self.inputs}

    def run(self, batch: Batch) -> dict[str, np.ndarray]:
        """Run one batch; models with a static batch size get one row at a time."""
        feed = self.feed(batch)
        rows = batch.input_ids.shape[0]
        size = self.shape.batch
        if size is None or size == rows:
            return self._infer(feed)
        parts = []
        for start in range(0, rows, size):
            chunk = {k: v[start : start + size] for k, v in feed.items()}
            short = size - next(iter(chunk.values())).shape[0]
            if short:  # pad the last chunk with copies of its first row, dropped below
                chunk = {k: np.concatenate([v, np.repeat(v[:1], short, axis=0)]) for k, v in chunk.items()}
            out = self._infer(chunk)
            parts.append({k: v[: size - short] for k, v in out.items()})
        return {name: np.concatenate([p[name] for p in parts]) for name in self.output_names}

    def _infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        compiled, request = self._wait()
        result = request.infer(feed)
        return {name: np.array(result[out]) for name, out in zip(self.output_names, compiled.outputs)}
