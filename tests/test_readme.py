"""The README's task tables are the ones the task docstrings generate (what
`vla-bench list tasks --markdown --domain DOMAIN` prints in a fresh process)."""
import re
from pathlib import Path

import pytest

from vla_bench.task.docs import markdown_table
from vla_bench.task.registry import list_tasks, task_entry

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("domain", ["manipulation", "navigation"])
def test_the_task_tables_equal_the_generated_ones(domain):
    block = re.search(rf"<!-- task-table: {domain} -->\n(.*?)\n<!-- end task-table -->", README, re.S)
    assert block, f"README has no generated {domain} task table"
    generated = markdown_table([task_entry(t) for t in list_tasks(domain, builtin_only=True)])
    assert block.group(1).strip() == generated
