from vla_bench.policy.base import Policy, TaskInfo
from vla_bench.policy.builtin import OraclePolicy, RandomPolicy

__all__ = ["OraclePolicy", "Policy", "RandomPolicy", "TaskInfo"]
