"""Files the suite writes aside and renames: whole or not at all."""
import pytest

from vla_bench.results import written_whole


def test_a_finished_write_replaces_the_file_and_leaves_nothing_beside_it(tmp_path):
    path = tmp_path / "leaderboard.csv"
    path.write_text("old")
    with written_whole(path) as partial:
        partial.write_text("new")
    assert path.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["leaderboard.csv"]


def test_a_write_that_raises_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    path = tmp_path / "leaderboard.csv"
    path.write_text("old")
    with pytest.raises(ValueError):
        with written_whole(path) as partial:
            partial.write_text("half")
            raise ValueError("the writer failed")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["leaderboard.csv"]
