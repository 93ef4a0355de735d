"""Where the runner's batches run: in this process (``local``) or on Ray actors (``ray``).

An executor implements :class:`personascope.runner.Executor`; the runner stays the only
writer to the store whatever executes the batches. The Ray executor is imported only when
it is asked for, so Ray is an optional dependency (``pip install 'personascope[ray]'``).
"""

from __future__ import annotations

from personascope.errors import ExecutorError
from personascope.runner import Executor, InProcessExecutor

EXECUTORS = ("local", "ray")


def make_executor(
    name: str = "local", address: str | None = None, workers: int | None = None
) -> Executor:
    """The executor called ``name``; ``address`` and ``workers`` configure Ray."""
    if name == "local":
        if address or workers:
            raise ExecutorError("--ray-address and --ray-workers need --executor ray")
        return InProcessExecutor()
    if name == "ray":
        from personascope.executors.ray_executor import RayExecutor

        return RayExecutor(address=address, workers=workers)
    raise ExecutorError(f"unknown executor {name!r} (choose from: {', '.join(EXECUTORS)})")
