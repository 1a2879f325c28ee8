"""Package discovery for the repository's layout (metadata lives in pyproject.toml).

The project keeps its top-level folders envs/, assets/ and baselines/ but installs them under
the vla_bench namespace, because those names are generic or taken on PyPI. Every package under
each folder is found here, so a new subpackage can never be left out of a wheel.
"""
from setuptools import find_packages, setup

# import name -> folder in the repository
PACKAGE_DIRS = {
    "vla_bench": "vla_bench",
    "vla_bench.envs": "envs",
    "vla_bench.assets": "assets",
    "vla_bench.baselines": "baselines",
}


def discover_packages() -> list[str]:
    packages = []
    for name, folder in PACKAGE_DIRS.items():
        packages += [name, *(f"{name}.{sub}" for sub in find_packages(folder))]
    return packages


setup(package_dir=PACKAGE_DIRS, packages=discover_packages())
