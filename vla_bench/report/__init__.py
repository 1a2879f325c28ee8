"""Reports: `vla-bench report` (report.md, a self-contained report.html and PNG figures) and
the leaderboard's plot."""
from vla_bench.report.document import write_report
from vla_bench.report.figures import plot_leaderboard

__all__ = ["plot_leaderboard", "write_report"]
