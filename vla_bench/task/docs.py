"""Task docstrings as the task's specification (ManiSkill's layout, plus episode length and expert).

Every registered task class has a docstring of this shape; `register_task` refuses one that
does not, and `vla-bench list tasks --markdown` renders the README's task tables from them:

    One line that says what the task asks.

    Optional paragraphs with more detail.

    Randomizations:
        - what varies from episode to episode, one item per line
    Success conditions:
        - name: what must hold, with its numbers (the names are the keys of
          info["success_conditions"])
    Episode length: N control steps (what one step is).
    Expert: how the scripted expert solves it.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

SECTIONS = ("Randomizations", "Success conditions", "Episode length", "Expert")
_HEADING = re.compile(rf"^({'|'.join(SECTIONS)}):\s*(.*)$")
_CONDITION = re.compile(r"^-\s*([a-z_]+):\s*(.+)$")


class TaskDocError(ValueError):
    """A task class's docstring does not follow the layout above."""


@dataclass(frozen=True)
class TaskDoc:
    summary: str
    description: str
    randomizations: tuple[str, ...]
    success_conditions: tuple[tuple[str, str], ...]  # (name, what must hold)
    episode_length: str
    expert: str

    @property
    def episode_steps(self) -> int:
        """The number of control steps the 'Episode length' section states."""
        match = re.match(r"(\d+)", self.episode_length)
        return int(match.group(1)) if match else -1


def parse_task_doc(cls: type) -> TaskDoc:
    """The TaskDoc of a task class; TaskDocError names what is missing."""
    text = inspect.cleandoc(cls.__doc__ or "")
    head, sections = _split_sections(text.splitlines())
    missing = [name for name in SECTIONS if name not in sections]
    if not head or missing:
        raise TaskDocError(f"{cls.__name__}'s docstring lacks {'a summary line' if not head else ''}"
                           f"{', ' if not head and missing else ''}{', '.join(missing)}; "
                           f"see vla_bench.task.docs for the layout")
    paragraphs = re.split(r"\n\s*\n", "\n".join(head))
    conditions = []
    for item in _items(sections["Success conditions"]):
        match = _CONDITION.match(item)
        if not match:
            raise TaskDocError(f"{cls.__name__}: a success condition reads '- name: what must hold', got {item!r}")
        conditions.append((match.group(1), match.group(2)))
    if not conditions:
        raise TaskDocError(f"{cls.__name__}'s docstring lists no success conditions")
    return TaskDoc(
        summary=" ".join(paragraphs[0].split()),
        description="\n\n".join(" ".join(p.split()) for p in paragraphs[1:] if p.strip()),
        randomizations=tuple(item.removeprefix("-").strip() for item in _items(sections["Randomizations"])),
        success_conditions=tuple(conditions),
        episode_length=" ".join(sections["Episode length"]).strip(),
        expert=" ".join(" ".join(sections["Expert"]).split()),
    )


def _split_sections(lines: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    head: list[str] = []
    sections: dict[str, list[str]] = {}
    current = head
    for line in lines:
        match = _HEADING.match(line)
        if match:
            current = sections.setdefault(match.group(1), [])
            if match.group(2):
                current.append(match.group(2))
        else:
            current.append(line)
    while head and not head[-1].strip():
        head.pop()
    return head, sections


def _items(lines: list[str]) -> list[str]:
    """Bullet items ('- ...'), with continuation lines joined to their item; text before the first
    bullet is a layout error, not something to drop."""
    items: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("-"):
            items.append(stripped)
        elif stripped and items:
            items[-1] += " " + stripped
        elif stripped:
            raise TaskDocError(f"a list section must start with '- ', got {stripped!r}")
    return items


def markdown_table(entries: list) -> str:
    """The README's task table for registry entries (one domain's, usually)."""
    rows = ["| task | what it asks | success (every condition) | episode steps |", "|---|---|---|---|"]
    for entry in entries:
        doc = entry.doc
        success = "; ".join(f"`{name}`: {text}" for name, text in doc.success_conditions)
        cells = [f"`{entry.name}`", doc.summary, success, str(entry.max_episode_steps)]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)
