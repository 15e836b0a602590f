"""The training loop shared by the recipes: device and precision, AdamW with linear warm-up and decay, progress with
loss and ETA, and a checkpoint of model, optimiser, schedule and step that a later run resumes from."""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openbook.errors import OpenbookError

STATE = "training-state.pt"


@dataclass
class Settings:
    """How to train: the recipes' defaults (see ``../shared/models/README.md``) are set by each recipe."""

    epochs: float = 3.0
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.1  # share of the steps
    seed: int = 0
    device: str = "auto"  # auto, cpu or cuda
    bf16: bool | None = None  # None: on CUDA, and on CPU where it pays (see pick_bf16)
    max_steps: int | None = None  # stop early (for a bounded run); the schedule still spans max_steps
    save_every: int = 200  # steps between checkpoints
    resume: bool = True


def overridden(defaults: Settings, **overrides: Any) -> Settings:
    """A recipe's ``defaults`` with the given settings (those not None) replaced."""
    return replace(defaults, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class Progress:
    """What a progress callback receives after every step."""

    step: int
    total: int
    loss: float  # running mean over the last steps
    seconds: float
    eta: float


@dataclass
class Result:
    """The run: steps done, the mean loss of the first and the last tenth of it, time, device, precision."""

    steps: int
    first_loss: float | None  # None when no loss is known (a run resumed from a checkpoint without them)
    last_loss: float | None
    seconds: float
    device: str
    bf16: bool
    resumed_from: int

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def pick_device(name: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise OpenbookError(f"unknown device {name!r}: use auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise OpenbookError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(name)


def pick_bf16(device: torch.device, asked: bool | None) -> bool:
    """bf16 autocast: on CUDA, and on CPUs with native bf16 arithmetic (AVX-512 BF16 or AMX), where a training step
    was measured to take ~12% less CPU time than float32 (see docs/training.md)."""
    if asked is not None:
        return asked
    if device.type == "cuda":
        return True
    return bool({"avx512_bf16", "amx_bf16"} & _cpu_flags())


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(
    model: torch.nn.Module,
    batches: Callable[[int], Sequence[Any]],
    loss_fn: Callable[[torch.nn.Module, Any, torch.device], torch.Tensor],
    settings: Settings,
    state_dir: Path,
    progress: Callable[[Progress], None] | None = None,
) -> Result:
    """Train ``model`` for ``settings.epochs`` over ``batches(epoch)`` (a deterministic list for each epoch), keeping a
    checkpoint in ``state_dir`` every ``save_every`` steps and at the end; a run finding one there resumes after its
    last step (the same batches are skipped, so the run ends as an uninterrupted one would)."""
    device = pick_device(settings.device)
    bf16 = pick_bf16(device, settings.bf16)
    seed_all(settings.seed)
    model.to(device).train()
    per_epoch = len(batches(0))
    if per_epoch == 0:
        raise OpenbookError("no training batches: the training file yields no examples")
    total = math.ceil(settings.epochs * per_epoch)
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    optimizer = _optimizer(model, settings)
    warm = int(settings.warmup * total)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm))
    )
    losses: list[float] = []  # every step's loss, kept in the checkpoint so a resumed run reports the whole run
    step = _resume(model, optimizer, schedule, state_dir / STATE, losses) if settings.resume else 0
    resumed_from = step
    began = time.perf_counter()
    epoch = step // per_epoch
    while step < total:
        epoch_batches = batches(epoch)
        for batch in epoch_batches[step - epoch * per_epoch :]:
            if step >= total:
                break
            autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
            with autocast:
                loss = loss_fn(model, batch, device)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(float(loss.detach()))
            if step % settings.save_every == 0:
                _save_state(model, optimizer, schedule, step, state_dir / STATE, losses)
            if progress:
                done = step - resumed_from
                spent = time.perf_counter() - began
                recent = losses[-20:]
                progress(Progress(step, total, sum(recent) / len(recent), spent, spent / done * (total - step)))
        epoch += 1
    _save_state(model, optimizer, schedule, step, state_dir / STATE, losses)
    tenth = max(1, len(losses) // 10)
    return Result(
        steps=step,
        first_loss=float(np.mean(losses[:tenth])) if losses else None,
        last_loss=float(np.mean(losses[-tenth:])) if losses else None,
        seconds=time.perf_counter() - began,
        device=device.type,
        bf16=bf16,
        resumed_from=resumed_from,
    )


def _optimizer(model: torch.nn.Module, settings: Settings) -> torch.optim.Optimizer:
    """AdamW, without weight decay on biases and LayerNorm weights."""
    decay, plain = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (plain if param.ndim < 2 else decay).append(param)
    groups = [{"params": decay, "weight_decay": settings.weight_decay}, {"params": plain, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=settings.lr)


def _save_state(model, optimizer, schedule, step: int, path: Path, losses: list[float]) -> None:
    """Write the checkpoint next to its final name, then rename: an interrupted save leaves the last one whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(
        {
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "rng": torch.get_rng_state(),
            "losses": losses,
        },
        partial,
    )
    os.replace(partial, path)


def _resume(model, optimizer, schedule, path: Path, losses: list[float]) -> int:
    if not path.is_file():
        return 0
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"])
    losses[:] = state.get("losses", [])[: int(state["step"])]
    return int(state["step"])
