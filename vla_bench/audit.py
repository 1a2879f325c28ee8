"""`vla-bench audit RUN_DIR`: check a run's success predicates the way users check them, by
looking at the frames around the moment of success (or the end) beside the predicate's parts
over time, with flags for what a human should look at.

It reads the episodes recorded with `vla-bench run --record-video K`: their videos
(RUN_DIR/videos/<task>/<id>.mp4) and the step traces written beside them
(RUN_DIR/traces/<task>/<id>.json, one `vla_bench.runner.episode.trace_entry` per step from the
reset on). For up to N successes and N failures per task (flagged episodes first) it writes
OUT/images/<task>/<id>.png and OUT/audit.md. Task-agnostic: it reads only `success_conditions`,
`is_success` and `progress`, which every task's `info` carries.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vla_bench.errors import UsageError
from vla_bench.results import EPISODES_FILE, read_episodes
from vla_bench.runner.video import read_trace
from vla_bench.runner.worker import media_path

FLICKER_WINDOW = 10  # steps before the end in which a sub-condition that changes twice is a flicker
STRIP_OFFSETS = (-12, -6, -3, -2, -1, 0)  # the frames shown, relative to the success step or the end
FIGURE_SIZE = (12.0, 6.4)  # inches, at FIGURE_DPI: every audit PNG is 1200 x 640 pixels
FIGURE_DPI = 100

# Each flag, with the explanation audit.md gives it.
FLAG_HELP: dict[str, str] = {
    "FLICKER": f"Success was declared while a sub-condition changed value at least twice within the last "
               f"{FLICKER_WINDOW} steps before the end. The predicate may have been met by a passing moment (an "
               "object rolling or bouncing through the region, a grasp that slips and catches, a contact that "
               "comes and goes) rather than a settled state: watch the frames before the success.",
    "NEAR_MISS": "A failure in which every sub-condition held at the same step at least once. Either they held "
                 "too briefly (manipulation counts success only when all parts hold for 3 consecutive control "
                 "steps; the episode may also have run out of time while they held) or the policy undid them. "
                 "Check whether a human would call the frames at those steps a success.",
    "PROGRESS_BELOW_ONE": "A success whose task progress at the end is below 1: progress is 1 once the success "
                          "conditions hold, so the two measures disagree.",
    "CONDITIONS_FALSE_AT_SUCCESS": "A success whose sub-conditions were not all true at the end: the outcome "
                                   "and the predicate's parts disagree.",
    "SOLVED_AT_RESET": "A success declared at step 0 or 1, or one whose sub-conditions all held already in the "
                       "reset state: the episode may have asked for nothing (a scene that starts solved).",
    "ERROR": "The episode ended with an error (the policy broke the adapter contract, the simulation went "
             "unstable, or the environment could not be built): it counts as a failure whatever the predicate "
             "said, and its last frames may not show why.",
}


@dataclass(frozen=True)
class Flag:
    code: str  # a key of FLAG_HELP
    detail: str  # what happened in this episode, with step numbers


@dataclass
class AuditedEpisode:
    task: str
    episode_id: str
    instruction: str
    success: bool
    error: str
    steps: list[dict[str, Any]]  # the trace: steps[k] is the state after k steps
    video: Path
    flags: list[Flag] = field(default_factory=list)
    image: Path | None = None

    @property
    def outcome(self) -> str:
        return "success" if self.success else ("failure (error)" if self.error else "failure")

    @property
    def key_step(self) -> int:
        """The step the frames centre on: where success was first declared, else the last."""
        found = success_step(self.steps)
        return found if self.success and found is not None else len(self.steps) - 1


def success_step(steps: list[dict[str, Any]]) -> int | None:
    """The first step whose `is_success` is true (None if never)."""
    for index, entry in enumerate(steps):
        if entry.get("is_success"):
            return int(entry.get("step", index))
    return None


def _conditions(entry: dict[str, Any]) -> dict[str, bool]:
    return {name: bool(value) for name, value in (entry.get("success_conditions") or {}).items()}


def _all_hold(entry: dict[str, Any]) -> bool:
    conditions = _conditions(entry)
    return bool(conditions) and all(conditions.values())


def _step(steps: list[dict[str, Any]], index: int) -> int:
    return int(steps[index].get("step", index))


def _runs(values: list[bool]) -> list[tuple[int, int]]:
    """(first, last) indices of each run of True values."""
    runs, start = [], None
    for index, value in enumerate(values):
        if value and start is None:
            start = index
        if not value and start is not None:
            runs.append((start, index - 1))
            start = None
    if start is not None:
        runs.append((start, len(values) - 1))
    return runs


def episode_flags(steps: list[dict[str, Any]], success: bool, error: str = "",
                  window: int = FLICKER_WINDOW) -> list[Flag]:
    """The disagreements a human would want to look at in one episode (see FLAG_HELP), from its
    trace (`steps[k]`: `success_conditions`, `is_success` and `progress` after k steps), its
    recorded outcome and error."""
    flags: list[Flag] = []
    if error:
        flags.append(Flag("ERROR", error if len(error) <= 200 else error[:197] + "..."))
    if not steps:
        return flags
    last = len(steps) - 1
    names = list(_conditions(steps[0]) or _conditions(steps[-1]))
    if success:
        first = max(0, last - window)
        for name in names:
            values = [_conditions(steps[i]).get(name, False) for i in range(first, last + 1)]
            changes = [_step(steps, first + i) for i in range(1, len(values)) if values[i] != values[i - 1]]
            if len(changes) >= 2:
                off = [_step(steps, first + i) for i, v in enumerate(values) if not v]
                flags.append(Flag("FLICKER", f"`{name}` changed {len(changes)} times in steps "
                                             f"{_step(steps, first)}-{_step(steps, last)} (at steps "
                                             f"{', '.join(map(str, changes))}; false at {_list(off)})"))
        progress = steps[-1].get("progress")
        if isinstance(progress, (int, float)) and progress < 1 - 1e-6:
            flags.append(Flag("PROGRESS_BELOW_ONE", f"progress {progress:.2f} at the end (step {_step(steps, last)})"))
        false = [name for name, holds in _conditions(steps[-1]).items() if not holds]
        if false:
            flags.append(Flag("CONDITIONS_FALSE_AT_SUCCESS", f"{_names(false)} false at the end "
                                                             f"(step {_step(steps, last)})"))
        declared = success_step(steps)
        if declared is not None and declared <= 1:
            flags.append(Flag("SOLVED_AT_RESET", f"success declared at step {declared}"))
        elif _all_hold(steps[0]):
            held = _runs([_all_hold(entry) for entry in steps])[0][1]
            flags.append(Flag("SOLVED_AT_RESET", f"every sub-condition held in the reset state (step 0) and kept "
                                                 f"holding to step {_step(steps, held)}; success declared at step "
                                                 f"{declared if declared is not None else _step(steps, last)}"))
    else:
        runs = _runs([_all_hold(entry) for entry in steps])
        if runs:
            at_end = runs[-1][1] == last
            a, b = runs[-1] if at_end else max(runs, key=lambda run: (run[1] - run[0], run[0]))
            length = b - a + 1
            where = f"steps {_step(steps, a)}-{_step(steps, b)}" if b > a else f"step {_step(steps, a)}"
            held = f"{where} ({length} step{'s' * (length > 1)})"
            more = f"; all held {len(runs)} separate times" if len(runs) > 1 else ""
            if at_end:
                detail = f"every sub-condition held at the end, {held}, but the episode ended before success{more}"
            else:
                undone = [name for name, holds in _conditions(steps[b + 1]).items() if not holds]
                detail = (f"every sub-condition held at {held}, then {_names(undone)} became false at step "
                          f"{_step(steps, b + 1)}{more}")
            flags.append(Flag("NEAR_MISS", detail))
    return flags


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _list(steps: list[int], limit: int = 8) -> str:
    text = ", ".join(map(str, steps[:limit]))
    return text + (", ..." if len(steps) > limit else "")


# ------------------------------------------------------------------ the run's episodes
def traced_episodes(run_dir: Path) -> list[AuditedEpisode]:
    """Every episode of the run with both a video and a trace, outcome from episodes.jsonl (the
    trace's header for an episode the file lacks), flags computed. UsageError when there are none."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir} is not a folder; give the RUN_DIR a `vla-bench run` wrote")
    if not (run_dir / EPISODES_FILE).exists():
        raise UsageError(f"{run_dir} holds no {EPISODES_FILE}; give the RUN_DIR a `vla-bench run` wrote")
    how = "re-run the evaluation with --record-video K (the first K episodes per task get a video and a trace)"
    if not any((run_dir / "videos").rglob("*.mp4")):
        raise UsageError(f"{run_dir} has no episode videos to audit; {how}")
    records = {r["episode_id"]: r for r in read_episodes(run_dir)}
    episodes = []
    for path in sorted((run_dir / "traces").rglob("*.json")):
        trace = read_trace(path)
        record = records.get(trace.get("episode_id"), trace)
        video = media_path(run_dir, "videos", record["task"], record["episode_id"], ".mp4")
        if not video.exists():
            continue
        episode = AuditedEpisode(record["task"], record["episode_id"], record.get("instruction", ""),
                                 bool(record.get("success")), record.get("error") or "", trace.get("trace") or [], video)
        episode.flags = episode_flags(episode.steps, episode.success, episode.error)
        episodes.append(episode)
    if not episodes:
        raise UsageError(f"{run_dir} has videos but no step traces (recorded before `vla-bench audit` existed); {how}")
    return episodes


def sample(episodes: list[AuditedEpisode], per_task: int) -> list[AuditedEpisode]:
    """Up to `per_task` successes and `per_task` failures per task, flagged ones first, then by id."""
    chosen = []
    for task in dict.fromkeys(e.task for e in episodes):
        for outcome in (True, False):
            group = [e for e in episodes if e.task == task and e.success == outcome]
            chosen += sorted(group, key=lambda e: (not e.flags, e.episode_id))[:per_task]
    return chosen


def audit(run_dir: Path, out: Path | None = None, per_task: int = 3,
          episodes: list[AuditedEpisode] | None = None) -> Path:
    """Audit `run_dir` (or its already read `traced_episodes`): a PNG per sampled episode and
    audit.md in `out` (default RUN_DIR/audit). Returns the markdown file."""
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / "audit"
    everything = episodes if episodes is not None else traced_episodes(run_dir)
    chosen = sample(everything, per_task)
    out.mkdir(parents=True, exist_ok=True)
    for episode in chosen:
        episode.image = plot_episode(episode, media_path(out, "images", episode.task, episode.episode_id, ".png"))
    path = out / "audit.md"
    path.write_text(markdown(run_dir, out, everything, chosen, per_task))
    return path


# ------------------------------------------------------------------ the picture
def strip_steps(key: int, last: int) -> list[int]:
    """The trace indices the frame strip shows: around `key`, inside [0, last]."""
    return [min(max(key + offset, 0), last) for offset in STRIP_OFFSETS]


def read_frames(video: Path, indices: list[int]) -> dict[int, Any]:
    """Frames `indices` of an MP4 (an index past its end gives its last frame)."""
    import imageio.v2 as imageio

    wanted, frames, last = set(indices), {}, None
    with imageio.get_reader(video) as reader:
        for index, frame in enumerate(reader):
            last = (index, frame)
            if index in wanted:
                frames[index] = frame
            if index >= max(wanted):
                break
    for index in wanted - set(frames):
        if last is not None:
            frames[index] = last[1]
    return frames


def plot_episode(episode: AuditedEpisode, path: Path) -> Path:
    """The frame strip around the success (or the end), captioned with steps, above each
    sub-condition (0/1, staggered), all of them together, `is_success` and progress over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    steps = episode.steps
    last = max(len(steps) - 1, 0)
    key = episode.key_step
    shown = strip_steps(key, last)
    frames = read_frames(episode.video, shown)
    fig = plt.figure(figsize=FIGURE_SIZE, dpi=FIGURE_DPI)
    strip = fig.add_gridspec(1, len(shown), wspace=0.03, left=0.02, right=0.98, top=0.86, bottom=0.46)
    declared = success_step(steps) if episode.success else None
    for column, index in enumerate(shown):
        axis = fig.add_subplot(strip[0, column])
        frame = frames.get(index)
        if frame is not None:
            axis.imshow(frame)
        step = _step(steps, index) if steps else index
        mark = " (success)" if declared is not None and step == declared else (" (end)" if index == last else "")
        axis.set_title(f"step {step}{mark}", fontsize=9, color="green" if mark == " (success)" else "black")
        axis.set_xticks([])
        axis.set_yticks([])
    codes = ", ".join(dict.fromkeys(f.code for f in episode.flags)) or "no flags"
    instruction = episode.instruction if len(episode.instruction) <= 90 else episode.instruction[:87] + "..."
    fig.suptitle(f"{episode.episode_id}: {episode.outcome.upper()} - {codes}\n\"{instruction}\"", fontsize=11)

    plot = fig.add_axes((0.12, 0.08, 0.86, 0.32))
    x = np.array([_step(steps, i) for i in range(len(steps))])
    names = list(_conditions(steps[0]) or _conditions(steps[-1])) if steps else []
    rows = [(name, [_conditions(e).get(name, False) for e in steps]) for name in names]
    rows += [("all hold", [_all_hold(e) for e in steps]), ("is_success", [bool(e.get("is_success")) for e in steps])]
    labels, levels = [], []
    for row, (name, values) in enumerate(rows):
        base = 1.4 * row
        plot.step(x, base + np.asarray(values, dtype=float), where="post", lw=1.6,
                  color="black" if name == "all hold" else ("green" if name == "is_success" else f"C{row}"))
        labels.append(name)
        levels.append(base + 0.5)
    base = 1.4 * len(rows)
    progress = [float(e.get("progress") or 0.0) for e in steps]
    plot.plot(x, base + np.asarray(progress), color="purple", lw=1.4)
    labels.append("progress")
    levels.append(base + 0.5)
    for index in sorted(set(shown)):
        plot.axvline(_step(steps, index) if steps else index, color="0.8", lw=0.8, zorder=0)
    if declared is not None:
        plot.axvline(declared, color="green", lw=1.5, ls="--")
        plot.plot([declared], [base + 1.25], marker="*", color="green", ms=12, clip_on=False)
    if any(f.code == "FLICKER" for f in episode.flags) and len(x):
        plot.axvspan(x[max(0, last - FLICKER_WINDOW)], x[last], color="orange", alpha=0.15, zorder=0)
    plot.set_yticks(levels)
    plot.set_yticklabels(labels, fontsize=8)
    plot.set_ylim(-0.3, base + 1.5)
    plot.set_xlim(0, max(x[-1] if len(x) else 1, 1))
    plot.set_xlabel("step (grey: the frames above; green: success declared)", fontsize=8)
    plot.tick_params(axis="x", labelsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ the report
def markdown(run_dir: Path, out: Path, everything: list[AuditedEpisode], chosen: list[AuditedEpisode],
             per_task: int) -> str:
    from collections import Counter

    counts = Counter(code for e in everything for code in {f.code for f in e.flags})  # episodes per flag
    lines = [f"# Predicate audit of `{run_dir}`", "",
             f"{len(chosen)} episodes audited (up to {per_task} successes and {per_task} failures per task, flagged "
             f"ones first) of the {len(everything)} with a video and a trace. Each picture shows the frames around "
             "the step where success was first declared (or the end, for a failure), captioned with their step, "
             "above each part of the task's success predicate over time (0/1), all of them together, "
             "`is_success` and progress. Look at the frames and judge whether the outcome is right.", ""]
    if counts:
        lines += ["Flags over all traced episodes: " + ", ".join(f"{code} {n}" for code, n in sorted(counts.items())), ""]
    lines += ["## Flags", ""] + [f"- **{code}**: {text}" for code, text in FLAG_HELP.items()] + [""]
    lines += ["## Audited episodes", "", "| episode | outcome | steps | success step | final sub-conditions | flags |",
              "|---|---|---|---|---|---|"]
    for e in chosen:
        declared = success_step(e.steps)
        lines.append(f"| [{e.episode_id}](#{_anchor(e.episode_id)}) | {e.outcome} | {max(len(e.steps) - 1, 0)} | "
                     f"{'-' if declared is None else declared} | {_final(e)} | "
                     f"{', '.join(dict.fromkeys(f.code for f in e.flags)) or '-'} |")
    lines.append("")
    for task in dict.fromkeys(e.task for e in chosen):
        lines += [f"## {task}", ""]
        for e in (e for e in chosen if e.task == task):
            image = e.image.relative_to(out).as_posix() if e.image else ""
            lines += [f"### {e.episode_id}", "", f"- instruction: \"{e.instruction}\"", f"- outcome: **{e.outcome}**"
                      + (f" (success declared at step {success_step(e.steps)})" if e.success else
                         f" after {max(len(e.steps) - 1, 0)} steps"),
                      f"- final sub-conditions: {_final(e)}"]
            if e.error:
                lines.append(f"- error: {e.error}")
            if e.flags:
                lines.append("- flags:")
                lines += [f"  - **{f.code}**: {f.detail}" for f in e.flags]
            else:
                lines.append("- flags: none")
            lines += ["", f"![{e.episode_id}]({image})", ""]
    return "\n".join(lines)


def _final(episode: AuditedEpisode) -> str:
    conditions = _conditions(episode.steps[-1]) if episode.steps else {}
    return ", ".join(f"{name} {'yes' if holds else 'no'}" for name, holds in conditions.items()) or "-"


def _anchor(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")
