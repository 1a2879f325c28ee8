"""The data tasks draw on: object catalog, named colors, factor pools, instruction templates.

The JSON files beside this module are the single source of truth; this module only parses
them into typed records. Installed as `vla_bench.assets`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

ASSETS_DIR = Path(__file__).resolve().parent
POOLS = ("seen", "unseen")


@dataclass(frozen=True)
class ObjectKind:
    """One nameable object kind of the catalog."""

    name: str
    category: str
    shape_type: str  # box, sphere, cylinder, capsule, ellipsoid, solid, dumbbell, mesh, receptacle
    shape: dict[str, Any] = field(hash=False)
    mass: float
    size: float | None = None  # longest side in metres (meshes are scaled to it)
    graspable: bool = True
    stackable: bool = False
    rolls: bool = False
    tips: bool = False  # tall and narrow: falls over when pushed
    receptacle: str | None = None  # the preposition ("in" or "on") if things go in or on it
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class FurnitureKind:
    """A piece of furniture (or a large object) for the navigation rooms, built from primitives."""

    name: str
    footprint: tuple[float, float]  # half extents on the floor, metres
    rooms: tuple[str, ...]  # room kinds it is usually found in
    parts: tuple[dict[str, Any], ...] = field(hash=False)
    synonyms: tuple[str, ...] = ()


def _read(name: str) -> dict[str, Any]:
    data = json.loads((ASSETS_DIR / name).read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


@lru_cache(maxsize=None)
def catalog() -> dict[str, ObjectKind]:
    """All object kinds by name."""
    kinds = {}
    for name, entry in _read("objects.json").items():
        (shape_type, shape), = entry["shape"].items()
        kinds[name] = ObjectKind(
            name=name, category=entry["category"], shape_type=shape_type, shape=shape,
            mass=entry["mass"], size=entry.get("size"), graspable=entry.get("graspable", True),
            stackable=entry.get("stackable", False), rolls=entry.get("rolls", False), tips=entry.get("tips", False),
            receptacle=entry.get("receptacle"), synonyms=tuple(entry.get("synonyms", ())),
        )
    return kinds


@lru_cache(maxsize=None)
def furniture() -> dict[str, FurnitureKind]:
    """All furniture kinds by name."""
    return {name: FurnitureKind(name, tuple(e["footprint"]), tuple(e["rooms"]), tuple(e["parts"]),
                                tuple(e.get("synonyms", ())))
            for name, e in _read("furniture.json").items()}


@lru_cache(maxsize=None)
def colors() -> dict[str, tuple[float, float, float]]:
    """Named colors and their RGB in [0, 1]."""
    return {name: tuple(rgb) for name, rgb in _read("colors.json").items()}


@lru_cache(maxsize=None)
def factor_pools() -> dict[str, dict[str, list[Any]]]:
    """factor name -> {"seen": [...], "unseen": [...]}."""
    return {name: {pool: entry[pool] for pool in POOLS} for name, entry in _read("factors.json").items()}


@lru_cache(maxsize=None)
def instructions() -> dict[str, Any]:
    """Instruction templates per task family, and the named table regions."""
    return _read("instructions.json")


def data_path(relative: str) -> Path:
    """A file shipped by `pybullet_data` (meshes, textures)."""
    import pybullet_data

    return Path(pybullet_data.getDataPath()) / relative
