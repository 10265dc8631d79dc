"""Section ``trainer`` of an experiment config: on which devices, and how many, a run trains.

One process per device (DDP): ``devices`` per node times ``num_nodes``. ``training.batch_size``
is per device, so the global batch is ``batch_size x devices x num_nodes``. Launch
several nodes (or one node's devices from outside) with ``torchrun`` or SLURM's ``srun``:
Lightning reads their environment, and refuses a ``devices`` / ``num_nodes`` that does
not match it. The precision stays ``training.precision`` (``auto``: bf16 where the
device computes it natively).

The section is left out of the config's dictionary (and so of its hash) while it holds
the defaults, one device on one node: every run keyed before the section existed keeps
its key.
"""

from __future__ import annotations

from dataclasses import dataclass

from wstag.errors import ConfigError

ACCELERATORS = ("auto", "cpu", "gpu", "cuda")
#: "ddp": every process runs the whole command (started by torchrun, srun, or by Lightning
#: from the first one), so everything before fit happens on every rank.
STRATEGIES = ("auto", "ddp")


@dataclass(frozen=True)
class TrainerConfig:
    accelerator: str = "auto"  # ACCELERATORS: "auto" takes a GPU when there is one
    devices: int = 1  # processes (GPUs, or CPU processes) per node
    num_nodes: int = 1
    strategy: str = "auto"  # STRATEGIES: "auto" is one process for one device, "ddp" for more

    def validate(self, where: str) -> "TrainerConfig":
        def bad(key: str, why: str) -> None:
            raise ConfigError(f"{where}: trainer.{key} {why}")

        for key in ("devices", "num_nodes"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                bad(key, f"must be an integer >= 1, got {value!r}")
        if self.accelerator not in ACCELERATORS:
            bad("accelerator", f"must be one of {list(ACCELERATORS)}, got {self.accelerator!r}")
        if self.strategy not in STRATEGIES:
            bad("strategy", f"must be one of {list(STRATEGIES)}, got {self.strategy!r}")
        return self

    @property
    def world_size(self) -> int:
        """Training processes in all: one per device."""
        return self.devices * self.num_nodes

    @property
    def is_default(self) -> bool:
        return self == TrainerConfig()

    def lightning_strategy(self) -> str:
        """The Trainer's ``strategy``: DDP as soon as there is more than one process."""
        if self.strategy == "auto":
            return "ddp" if self.world_size > 1 else "auto"
        return self.strategy
