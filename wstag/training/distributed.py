"""Training on several processes (DDP): each rank its own shard, metrics over all of them.

Lightning's own sampler injection pads an epoch with repeated clips so every rank gets
as many; here each rank gets a disjoint shard instead:

- training: ``DistributedSampler(drop_last=True, seed=training.seed)``, a permutation per
  (seed, epoch) cut into equal disjoint shards, at most ``world - 1`` clips left out of an
  epoch (different ones each epoch). Negatives stay seeded by (seed, epoch, clip index)
  in the datasets, so a clip draws the same negatives on whichever rank reads it;
- validation: rank r reads clips r, r + world, ... (disjoint, together exactly the
  split), and the metrics are over the whole split: ``val/loss`` through
  ``self.log(sync_dist=True)`` (Lightning sums the batch-weighted losses and the batch
  sizes over ranks), ``val/tag_auc`` from every rank's pairs (:func:`gather_arrays`).

With one process the loaders are handed through unchanged.
"""

from __future__ import annotations

import os
from typing import Iterator

import lightning as L
import numpy as np
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, Sampler

from wstag.errors import ConfigError


class ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world, ...`` of ``n``: disjoint shards that together are every index once."""

    def __init__(self, n: int, world: int, rank: int):
        self.n, self.world, self.rank = n, world, rank

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.n, self.world))

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.world))


def shard_loader(loader: DataLoader, world: int, rank: int, *, train: bool, seed: int) -> DataLoader:
    """``loader`` reading only rank ``rank``'s shard of ``world`` (the same loader when ``world`` is 1)."""
    if world == 1:
        return loader
    n = len(loader.dataset)
    if train:
        if n < world:
            raise ConfigError(f"the training split has {n} clips, fewer than the {world} training processes")
        sampler: Sampler[int] = DistributedSampler(loader.dataset, num_replicas=world, rank=rank,
                                                   shuffle=isinstance(loader.sampler, RandomSampler),
                                                   seed=seed, drop_last=True)
    else:
        if n < world:  # a rank without a validation batch would never join the metrics' reduction
            raise ConfigError(f"the validation split has {n} clips, fewer than the {world} training processes")
        sampler = ShardSampler(n, world, rank)
    return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler, collate_fn=loader.collate_fn,
                      num_workers=loader.num_workers, drop_last=loader.drop_last, pin_memory=loader.pin_memory,
                      persistent_workers=loader.persistent_workers)


class ShardedData(L.LightningDataModule):
    """The run's loaders, sharded for the rank this process turns out to be (known only inside fit)."""

    def __init__(self, train: DataLoader, val: DataLoader, seed: int):
        super().__init__()
        self.train, self.val, self.seed = train, val, seed

    def train_dataloader(self) -> DataLoader:
        t = self.trainer
        return shard_loader(self.train, t.world_size, t.global_rank, train=True, seed=self.seed)

    def val_dataloader(self) -> DataLoader:
        t = self.trainer
        return shard_loader(self.val, t.world_size, t.global_rank, train=False, seed=self.seed)


def gather_arrays(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each array concatenated over every rank (in rank order); the arrays themselves in one process."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return arrays
    gathered: list = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, arrays)
    return tuple(np.concatenate([g[i] for g in gathered]) for i in range(len(arrays)))


def launched_processes() -> int:
    """Training processes started at once by torchrun or srun (1 when this process is alone).

    Read before fit, when no process group exists yet: work that must happen once (a
    CLAP trained into the run folder) cannot be left to every rank.
    """
    for var in ("WORLD_SIZE", "SLURM_NTASKS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 1


def is_launch_rank_zero() -> bool:
    """True unless the launcher's environment names this process another rank."""
    return all(os.environ.get(v, "0") == "0" for v in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"))
