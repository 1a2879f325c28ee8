"""The safety supervisor: a stand-in for the human who would watch a real robot.

It sits between the policy and the environment (a Gymnasium wrapper) and steps in when a
command would be unsafe or the robot is stuck; each trigger is one intervention, logged with its
reason in `info["interventions"]`. Disabled, it only observes: it counts what it would have done
and changes nothing. `supervise(env)` picks the supervisor for the env's domain.
"""
from __future__ import annotations

import gymnasium as gym

from vla_bench.errors import UsageError
from vla_bench.supervisor.base import Supervisor
from vla_bench.supervisor.manipulation import ArmControls, ManipulationSupervisor, ManipulationSupervisorConfig
from vla_bench.supervisor.navigation import BaseControls, NavigationSupervisor, NavigationSupervisorConfig

REASONS = ("workspace", "table", "force", "stall", "obstacle")
SUPERVISORS: dict[str, type[Supervisor]] = {"manipulation": ManipulationSupervisor, "navigation": NavigationSupervisor}


def supervise(env: gym.Env, enabled: bool = True) -> Supervisor:
    """The safety supervisor for the env's domain."""
    domain = getattr(env.unwrapped, "domain", None)
    if domain not in SUPERVISORS:
        raise UsageError(f"no supervisor for domain {domain!r}; supervised domains: {', '.join(SUPERVISORS)}")
    return SUPERVISORS[domain](env, enabled)


__all__ = ["REASONS", "SUPERVISORS", "ArmControls", "BaseControls", "ManipulationSupervisor",
           "ManipulationSupervisorConfig", "NavigationSupervisor", "NavigationSupervisorConfig", "Supervisor",
           "supervise"]
