"""`vla-bench train rt1|bcz`: behaviour cloning on a LeRobot dataset of demonstrations.

Deterministic given `seed` on the CPU (sampling, augmentation and initialization draw from
seeded generators); on a GPU cuDNN picks its fastest kernels, which may differ in the last bits. Writes the checkpoint,
`<checkpoint>.loss.png` (training and validation loss) and `<checkpoint>.log.json`.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from vla_bench.baselines.checkpoint import load_checkpoint, pick_device, save_checkpoint
from vla_bench.baselines.data import Demonstrations, load_demonstrations
from vla_bench.baselines.layers import jitter_brightness_contrast, normalize_images, random_shift
from vla_bench.baselines.model import BaselineModel, compile_repeated_blocks
from vla_bench.baselines.registry import make_model
from vla_bench.data.lerobot.episode import KEYPOINTS
from vla_bench.errors import UsageError
from vla_bench.results import written_whole

log = logging.getLogger(__name__)
# the training log's names for each domain's keypoint error on held-out frames
KEYPOINT_HISTORY = {"manipulation": "validation_keypoint_cm", "navigation": "validation_goal_cm"}


@dataclass(frozen=True)
class TrainConfig:
    model: str
    data: Path
    out: Path
    steps: int = 4000
    batch_size: int = 128
    learning_rate: float = 3e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    shift_pixels: int = 6  # random-shift augmentation
    jitter: float = 0.1  # brightness/contrast augmentation
    validation_fraction: float = 0.05
    evaluate_every: int = 250
    seed: int = 0
    device: str = "auto"
    episodes_per_task: int | None = None  # train on each task's first N demonstrations (the data-scaling curve)
    snapshot_every: int | None = None  # also keep the weights every N steps (the training-steps curve)
    model_overrides: dict[str, Any] = field(default_factory=dict)
    # continue from this checkpoint's weights and configuration, with a fresh optimizer and schedule
    # over `steps` (a training longer than one sitting on a lent GPU, or fine-tuning on new data)
    init: Path | None = None
    # start the image encoder from this bcz checkpoint's FiLM-ResNet (rt2's and palme's with
    # vision="film_resnet"), then fine-tune it with the rest
    vision_from: Path | None = None
    # torch.compile the model's repeated blocks (BaselineModel.repeated_blocks): fewer, fused kernels
    # where launching eager ones is the bottleneck (rt2's and palme's 30 language-model blocks on a GPU)
    compile: bool = False


def train(config: TrainConfig, progress: bool = True) -> Path:
    from tqdm import tqdm

    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    # deterministic kernels on the CPU; on a GPU the fastest convolutions (bitwise determinism there
    # would cost several times the training time)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    model = _initial_model(config)
    if config.compile:  # before the data loads, so a model with nothing to compile fails at once
        compile_repeated_blocks(model)
    started = time.time()
    demos = load_demonstrations(config.data, model.config, config.episodes_per_task).to(device)
    load_seconds = time.time() - started
    log.info("loaded %d frames in %.1fs", len(demos), load_seconds)
    keypoints = model.config.keypoint_weight > 0
    if keypoints and not bool(demos.has_keypoints.any()):
        raise ValueError(f"keypoint_weight needs demonstrations that record {KEYPOINTS}; {config.data} has "
                         f"none (collected before vla-bench recorded it: collect them again)")
    train_frames, validation_frames = demos.split_episodes(config.validation_fraction, config.seed)
    for index, domain in enumerate(model.config.domains):
        frames = train_frames[demos.domain[train_frames] == index]
        if len(frames):
            model.set_proprio_statistics(domain, demos.proprio[frames].mean(0), demos.proprio[frames].std(0))
    weights = demos.task_balanced_weights(train_frames)
    model.to(device)

    trained = [p for p in model.parameters() if p.requires_grad]  # frozen pretrained weights stay out
    optimizer = torch.optim.AdamW(trained, lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _learning_rate_factor(step, config))
    generator = torch.Generator(device=device).manual_seed(config.seed)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    history: dict[str, list] = {"step": [], "train_loss": [], "validation_step": [], "validation_loss": []}
    located = [d for i, d in enumerate(model.config.domains) if bool((demos.has_keypoints & (demos.domain == i)).any())]
    if keypoints:
        history.update({KEYPOINT_HISTORY[d]: [] for d in located})
    pending: list[torch.Tensor] = []  # losses not yet copied to the host (copying each would stall the GPU)
    bar = tqdm(range(config.steps), unit="step", disable=not progress, desc=f"train {config.model}")
    for step in bar:
        model.train()
        picks = torch.multinomial(weights, config.batch_size, replacement=True, generator=generator)
        batch = demos.window(train_frames[picks], model.config.history, model.config.chunk)
        images = _augment(normalize_images(batch["images"]), config, generator)
        with autocast:
            features = model.encode_window(images, batch["language"])
            readouts = model.decide(features, batch["proprio"], batch["language"], batch["domain"])
            loss = model.loss(readouts, batch["targets"], batch["domain"])  # what train_loss records
            total = loss + model.config.keypoint_weight * model.keypoint_loss(
                readouts, features, batch["keypoints"], batch["has_keypoints"], batch["domain"]) if keypoints else loss
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        history["step"].append(step)
        pending.append(loss.detach())
        snapshot = bool(config.snapshot_every) and (step + 1) % config.snapshot_every == 0
        if (step + 1) % config.evaluate_every == 0 or step + 1 == config.steps or snapshot:
            history["train_loss"] += torch.stack(pending).float().cpu().tolist()
            pending.clear()
            if len(validation_frames):
                history["validation_step"].append(step + 1)
                loss_now, keypoint_cm = validate(model, demos, validation_frames, config.batch_size)
                history["validation_loss"].append(loss_now)
                for domain in located if keypoints else []:
                    history[KEYPOINT_HISTORY[domain]].append(keypoint_cm.get(domain))
                bar.set_postfix(loss=f"{history['train_loss'][-1]:.3f}", val=f"{history['validation_loss'][-1]:.3f}")
            path = _save(config, model, history, demos.task_names, steps_done=step + 1, frames=len(demos),
                         episodes=int(demos.episode.max()) + 1, load_seconds=load_seconds, started=started)
        if snapshot and step + 1 < config.steps:
            shutil.copyfile(path, snapshot_path(config.out, step + 1))
    return path


def _initial_model(config: TrainConfig) -> BaselineModel:
    """A fresh model, or the one `init` holds (in training mode: the loop sets it)."""
    if config.init is None:
        model = make_model(config.model, **config.model_overrides)
        if config.vision_from is not None:
            name, donor, _ = load_checkpoint(config.vision_from)
            model.start_vision_from(donor, f"{config.vision_from} ({name})")
            log.info("image encoder from %s", config.vision_from)
        return model
    if config.vision_from is not None:
        raise UsageError("--init continues a checkpoint's own image encoder; --vision-from cannot replace it")
    if config.model_overrides:
        raise UsageError("--init continues the checkpoint's own configuration; --config cannot change it")
    name, model, training = load_checkpoint(config.init)
    if name != config.model:
        raise UsageError(f"--init {config.init} holds a {name} checkpoint, not {config.model}")
    log.info("continuing %s after its %s steps", config.init, training.get("steps_done"))
    return model


def snapshot_path(checkpoint: Path, steps: int) -> Path:
    return Path(checkpoint).with_suffix(f".step-{steps}.safetensors")


def _save(config: TrainConfig, model, history: dict[str, list], task_names: tuple[str, ...], steps_done: int,
          frames: int, episodes: int, load_seconds: float, started: float) -> Path:
    """Checkpoint, log and loss plot; written at every validation too, so a cut-off run keeps its
    latest weights (the metadata says how many steps they had)."""
    training = {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
                "steps_done": steps_done, "device": str(next(model.parameters()).device), "frames": frames,
                "episodes": episodes, "load_seconds": round(load_seconds, 1),
                "train_seconds": round(time.time() - started - load_seconds, 1), "torch": torch.__version__,
                "final_train_loss": history["train_loss"][-1],
                "final_validation_loss": history["validation_loss"][-1] if history["validation_loss"] else None,
                **{f"final_{key}": history[key][-1] if history.get(key) else None
                   for key in KEYPOINT_HISTORY.values()},
                "tasks": list(task_names)}
    path = save_checkpoint(config.out, config.model, model, training)
    with written_whole(Path(config.out).with_suffix(".log.json")) as log:  # whole, as the checkpoint is
        log.write_text(json.dumps({"training": training, "history": history}) + "\n")
    plot_losses(history, Path(config.out).with_suffix(".loss.png"), title=f"{config.model} on {Path(config.data).name}")
    return path


@torch.no_grad()
def validate(model, demos: Demonstrations, frames: torch.Tensor, batch_size: int) -> tuple[float, dict[str, float]]:
    """On held-out frames, in one pass: the action loss, and per domain how far in centimetres at
    the mean the keypoint head places the keypoints (the task's in manipulation, the goals' in
    navigation; only domains with such frames, and none without a head): whether the encoder finds
    where things are."""
    model.eval()
    keypoints = model.config.keypoint_weight > 0
    loss, count = 0.0, 0
    error, located = torch.zeros(len(model.config.domains)), torch.zeros(len(model.config.domains))
    for chunk in frames.split(batch_size):
        batch = demos.window(chunk, model.config.history, model.config.chunk)
        features = model.encode_window(normalize_images(batch["images"]), batch["language"])
        readouts = model.decide(features, batch["proprio"], batch["language"], batch["domain"])
        loss += model.loss(readouts, batch["targets"], batch["domain"]).item() * len(chunk)
        count += len(chunk)
        for index in range(len(model.config.domains)) if keypoints else []:
            rows = batch["has_keypoints"] & (batch["domain"] == index)
            if rows.any():
                error[index] += model.keypoint_error_cm(readouts, features, batch["keypoints"], rows,
                                                        batch["domain"]).item() * int(rows.sum())
                located[index] += int(rows.sum())
    return loss / max(count, 1), {d: float(error[i] / located[i]) for i, d in enumerate(model.config.domains)
                                  if located[i]}


def _augment(images: torch.Tensor, config: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """The same shift and jitter for every frame of a window, independent per camera and sample."""
    b, h, cameras = images.shape[:3]
    per_view = images.transpose(1, 2).flatten(0, 1)  # (B*cameras, history, 3, H, W)
    stacked = per_view.flatten(1, 2)  # shifts apply to the whole history at once
    if config.shift_pixels:
        stacked = random_shift(stacked, config.shift_pixels, generator)
    if config.jitter:
        stacked = jitter_brightness_contrast(stacked, config.jitter, generator)
    # contiguous: CPU convolution backward crashed (segfault) on the strided view, torch 2.13
    return stacked.unflatten(1, (h, 3)).unflatten(0, (b, cameras)).transpose(1, 2).contiguous()


def _learning_rate_factor(step: int, config: TrainConfig) -> float:
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def plot_losses(history: dict[str, list], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 3.5))
    losses = np.asarray(history["train_loss"])
    window = max(1, len(losses) // 50)
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    ax.plot(history["step"], losses, color="tab:blue", alpha=0.2, linewidth=0.8)
    ax.plot(history["step"][window - 1:], smooth, color="tab:blue", label="train")
    if history["validation_loss"]:
        ax.plot(history["validation_step"], history["validation_loss"], "o-", color="tab:orange",
                markersize=3, label="validation (held-out episodes)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
