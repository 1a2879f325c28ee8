"""vla-bench report: readable figures at 20 runs (checked on the rendered label boxes), per-factor
effects against twin train episodes, and a self-contained HTML report with episode videos."""
import base64
import itertools
import re

import numpy as np
import pytest

import vla_bench
from tests.report.made_runs import write_run
from vla_bench.cli import main
from vla_bench.report import document, figures
from vla_bench.report.effects import SEVERAL, factor_effects
from vla_bench.runner.video import write_video
from vla_bench.runner.worker import media_path
from vla_bench.splits import SPLITS

EVERY_TASK = vla_bench.list_tasks(builtin_only=True)


def _twenty_runs(tmp_path, policies=4, splits=tuple(SPLITS)[:5]):
    """`policies` x `splits` runs with long names, every task, some zero-success rows."""
    rng = np.random.default_rng(0)
    runs = []
    for p, split in itertools.product(range(policies), splits):
        outcomes = {t: [bool(x) for x in rng.random(4) < p / policies] for t in EVERY_TASK}
        runs.append(write_run(tmp_path / f"p{p}-{split}", f"a-long-policy-name-{p}", split, outcomes,
                              effort=8.0 + 10.0 * (p % 4)))  # jerk 20-95: log axes that span less than a decade
    return runs


def _text_boxes(figure):
    """The window extents of every visible text a reader must read apart: tick labels, titles,
    axis labels and legend entries, after rendering with the Agg renderer the PNG uses."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    texts = []
    for ax in figure.axes:
        for axis, (low, high) in ((ax.xaxis, sorted(ax.get_xlim())), (ax.yaxis, sorted(ax.get_ylim()))):
            for labels, locations in ((axis.get_majorticklabels(), axis.get_majorticklocs()),
                                      (axis.get_minorticklabels(), axis.get_minorticklocs())):
                drawn = [t for t, at in zip(labels, locations) if low <= at <= high]
                texts += [t for t in drawn if t.get_text()]  # matplotlib draws only the ticks inside the view
        texts += [t for t in (ax.title, ax.xaxis.label, ax.yaxis.label) if t.get_text()]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    for legend in figure.legends:
        texts += legend.get_texts()
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible()]


def _overlapping(figure):
    boxes = _text_boxes(figure)
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
            if box_a.overlaps(box_b) and box_a.width * box_a.height > 0 and box_b.width * box_b.height > 0]


@pytest.mark.parametrize("shape", [(4, tuple(SPLITS)[:5]), (20, ("train",))], ids=["4x5", "20x1"])
def test_figures_of_twenty_runs_have_no_overlapping_labels(tmp_path, shape):
    runs = document.load_runs(_twenty_runs(tmp_path, *shape), allow_partial=False)
    assert len(runs) == 20
    built = {"success": figures.success_by_split(document._success_rows(runs), "success"),
             "heatmap": figures.task_heatmaps(document._task_cells(runs)),
             "efficiency": figures.efficiency(document.per_domain(runs))}
    for name, figure in built.items():
        assert _overlapping(figure) == [], name


def test_zero_success_is_drawn(tmp_path):
    runs = document.load_runs([write_run(tmp_path / "zero", "never", "train", {"PickUp": [False] * 5})], False)
    figure = figures.success_by_split(document._success_rows(runs), "success")
    (line,) = [line for line in figure.axes[0].get_lines() if len(line.get_xdata()) == 1 and line.get_marker() == "o"]
    assert line.get_xdata()[0] == 0.0 and line.get_visible()


def test_factor_effects_pair_each_episode_with_its_twin_in_train():
    def record(split, task, k, success, perturbed=()):
        return {"episode_id": f"{split}/{task}/{k:03d}", "seed": 500 + k, "task": task, "success": success,
                "perturbed": list(perturbed)}

    train = [record("train", "PickUp", k, True) for k in range(10)]
    novel = [record("novel_environments", "PickUp", k, k >= 4, ["lighting"]) for k in range(6)]  # 4 of 6 lost
    novel += [record("novel_environments", "PickUp", k, True, ["camera"]) for k in range(6, 8)]
    novel += [record("novel_environments", "PickUp", k, False, ["camera", "friction"]) for k in range(8, 10)]
    effects = {e.factor: e for e in factor_effects("p", novel, train)}
    assert list(effects) == ["camera", "lighting", SEVERAL]
    assert effects["lighting"].pairs == 6 and effects["lighting"].difference == pytest.approx(-4 / 6)
    assert effects["lighting"].p_value == pytest.approx(2 / 2**4)
    assert effects["camera"].difference == 0.0 and effects[SEVERAL].difference == -1.0


def test_report_of_several_runs_writes_markdown_html_and_videos_into_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train = write_run(tmp_path / "runs" / "p-train", "p", "train", {"PickUp": [True, False, True]})
    write_run(tmp_path / "runs" / "p-novel_environments", "p", "novel_environments",
              {"PickUp": [False, False, True]}, perturbed={"PickUp": [["lighting"]] * 3})
    frames = [np.full((64, 64, 3), shade, np.uint8) for shade in range(0, 200, 20)]
    for k in (0, 1):
        write_video(media_path(train, "videos", "PickUp", f"train/PickUp/{k:03d}", ".mp4"), frames, "pick up the cube")
    recorded = write_run(tmp_path / "short" / "q-train", "q", "train", {"Stack": [False]})  # made only for videos
    write_video(media_path(recorded, "videos", "Stack", "train/Stack/000", ".mp4"), frames, "stack it")
    assert main(["report", "--gallery", str(recorded)]) == 0  # every run under runs/, into ./report
    out = tmp_path / "report"
    markdown = (out / "report.md").read_text()
    assert "| q |" not in markdown  # a gallery run enters no table
    assert "| p | lighting | 3 | 0.333 | 0.667 | -0.333 |" in markdown  # policy, factor, pairs, novel, train, effect
    page = (out / "report.html").read_text()
    assert page.count("<video") == 3 and "pick up" not in page  # the caption is on the frames, not the page
    assert page.count("class='success'") == 1 and page.count("class='failure'") == 2
    assert "<h3>Stack</h3>" in page
    video = re.search(r"data:video/mp4;base64,([A-Za-z0-9+/=]+)", page).group(1)
    assert base64.b64decode(video)[4:8] == b"ftyp"  # an MP4, inside the page
    assert "src='http" not in page and "src=\"http" not in page  # nothing fetched from elsewhere
    for name in ("success_by_split.png", "task_split_heatmap.png", "factor_effects.png", "safety_efficiency.png"):
        assert (out / name).stat().st_size > 0 and name in markdown


def test_a_partial_run_is_labelled_partial_in_the_report(tmp_path):
    partial = write_run(tmp_path / "partial", "p", "train", {"PickUp": [True] * 6}, planned=500)
    assert main(["report", str(partial), "--allow-partial"]) == 0
    markdown = (partial / "report" / "report.md").read_text()  # one run: its own folder
    assert "6 of 500 (partial)" in markdown and "p (partial)" in markdown
