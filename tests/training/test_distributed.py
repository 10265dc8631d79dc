"""Training on several processes: the trainer section, disjoint shards, metrics gathered over ranks, and a
real 2-process DDP run (gloo, CPU) launched by torchrun as on a cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.metrics import roc_auc_score
from torch.utils.data import DataLoader

from wstag.errors import ConfigError
from wstag.provenance import config_hash
from wstag.training.config import parse_experiment
from wstag.training.distributed import gather_arrays, shard_loader

REPO = Path(__file__).resolve().parents[2]


# -- the trainer section ---------------------------------------------------------------
def test_the_trainer_section_defaults_to_one_device_and_leaves_the_hash_alone():
    plain = parse_experiment({"name": "x"}, "x.yaml")
    explicit = parse_experiment({"name": "x", "trainer": {"devices": 1, "num_nodes": 1, "strategy": "auto"}}, "x.yaml")
    assert plain.trainer.world_size == 1 and plain.trainer.lightning_strategy() == "auto"
    before = plain.to_dict()  # the config as it was before the section (and lr_schedule) existed
    del before["trainer"]
    for key in ("lr_schedule", "optimizer", "weight_decay", "warmup_epochs", "splice"):
        before["training"].pop(key, None)
    assert explicit.hash() == plain.hash() == config_hash(before)
    two = parse_experiment({"name": "x"}, "x.yaml", ["trainer.devices=2", "trainer.num_nodes=3"])
    assert two.hash() != plain.hash()  # the global batch is per device: another experiment
    assert two.trainer.world_size == 6 and two.trainer.lightning_strategy() == "ddp"


@pytest.mark.parametrize("overrides, message", [
    (["trainer.devices=0"], r"x.yaml: trainer.devices must be an integer >= 1, got 0"),
    (["trainer.devices=auto"], r"trainer.devices must be int, got 'auto'"),
    (["trainer.devices=true"], r"trainer.devices must be int"),
    (["trainer.num_nodes=-1"], r"trainer.num_nodes must be an integer >= 1, got -1"),
    (["trainer.strategy=ddp_spawn"], r"trainer.strategy must be one of \['auto', 'ddp'\], got 'ddp_spawn'"),
    (["trainer.accelerator=tpu"], r"trainer.accelerator must be one of"),
    (["trainer.gpus=2"], r"unknown keys in 'trainer': \['gpus'\]"),
])
def test_bad_trainer_settings_are_refused_in_one_line_naming_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_experiment({"name": "x"}, "x.yaml", overrides)
    assert "\n" not in str(info.value)


# -- shards ------------------------------------------------------------------------------
def _indices(loader: DataLoader, epoch: int = 0) -> list[int]:
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)
    return list(loader.sampler)


def test_training_shards_are_disjoint_and_a_permutation_per_seed_and_epoch():
    data = list(range(11))
    loader = DataLoader(data, batch_size=2, shuffle=True)
    assert shard_loader(loader, 1, 0, train=True, seed=0) is loader  # one process: untouched
    shards = {(seed, epoch, rank): _indices(shard_loader(loader, 2, rank, train=True, seed=seed), epoch)
              for seed in (0, 1) for epoch in (0, 1) for rank in (0, 1)}
    for seed in (0, 1):
        for epoch in (0, 1):
            a, b = shards[seed, epoch, 0], shards[seed, epoch, 1]
            assert len(a) == len(b) == 5 and not set(a) & set(b)  # one clip of 11 sits out, none repeats
            again = _indices(shard_loader(loader, 2, 0, train=True, seed=seed), epoch)
            assert again == a  # deterministic per (seed, epoch, rank)
    assert shards[0, 0, 0] != shards[0, 1, 0] and shards[0, 0, 0] != shards[1, 0, 0]


def test_validation_shards_are_disjoint_and_together_the_whole_split_once():
    loader = DataLoader(list(range(11)), batch_size=4, shuffle=False)
    shards = [_indices(shard_loader(loader, 3, rank, train=False, seed=0)) for rank in range(3)]
    assert sorted(i for s in shards for i in s) == list(range(11))
    with pytest.raises(ConfigError, match="validation split has 2 clips, fewer than the 3 training processes"):
        shard_loader(DataLoader([0, 1]), 3, 0, train=False, seed=0)


def _gather_on_rank(rank: int, world: int, init: str, results) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    rng = np.random.default_rng(rank)
    n = 5 + 3 * rank  # uneven shards
    labels, scores = rng.random(n) > 0.5, rng.random(n).astype(np.float32)
    y, s = gather_arrays(labels, scores)
    results.put((rank, labels, scores, y, s))
    dist.destroy_process_group()


def test_tag_auc_inputs_are_gathered_from_every_rank_in_rank_order(tmp_path):
    """The pairs behind val/tag_auc: each rank ends with all of them, so the AUC is the whole split's."""
    ctx = mp.get_context("fork")  # the test module is imported already: no second start-up
    results = ctx.Queue()
    init = f"file://{tmp_path / 'rendezvous'}"
    procs = [ctx.Process(target=_gather_on_rank, args=(r, 2, init, results)) for r in range(2)]
    for p in procs:
        p.start()
    got = sorted((results.get(timeout=120) for _ in procs), key=lambda r: r[0])
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    all_labels = np.concatenate([got[0][1], got[1][1]])
    all_scores = np.concatenate([got[0][2], got[1][2]])
    for _, _, _, y, s in got:
        assert np.array_equal(y, all_labels) and np.array_equal(s, all_scores)
    assert roc_auc_score(got[0][3], got[0][4]) == roc_auc_score(got[1][3], got[1][4])
    one = np.arange(3.0)
    assert gather_arrays(one)[0] is one  # no process group: the rank's own arrays


# -- a real 2-process run ----------------------------------------------------------------
_CHILD = '''
import json, os, sys
from pathlib import Path

from wstag.training import datasets, phrase_level
from wstag.training.config import load_experiment
from wstag.training.run import train

data, out, config, *overrides = sys.argv[1:]
draws, gathered = [], []
get_item, gather = datasets.PhraseLevelDataset.__getitem__, phrase_level.gather_arrays


def recording_item(self, index):
    item = get_item(self, index)
    draws.append({"seed": self.seed, "epoch": self.epoch, "index": index, "tokens": item["tokens"]})
    return item


def recording_gather(*arrays):
    result = gather(*arrays)
    gathered.append({"local": len(arrays[0]), "all": len(result[0]),
                     "labels": result[0].astype(int).tolist(), "scores": result[1].tolist()})
    return result


datasets.PhraseLevelDataset.__getitem__ = recording_item
phrase_level.gather_arrays = recording_gather
result = train(load_experiment(config, overrides), Path(data), Path(out), enable_progress_bar=False)
Path(out, f"rank{os.environ['RANK']}.json").write_text(json.dumps({"draws": draws, "gathered": gathered}))
'''


@pytest.mark.slow
def test_two_processes_on_gloo_train_disjoint_shards_with_seeded_negatives(tiny_corpus, tmp_path):
    from wstag.data.audiogrounding import read_weak_v2
    from wstag.data.feature_cache import FeatureStore
    from wstag.sampling.random_sampler import RandomNegativeSampler
    from wstag.text.vocabulary import Vocabulary
    from wstag.training.datasets import PhraseLevelDataset

    child = tmp_path / "child.py"
    child.write_text(_CHILD)
    out, seed = tmp_path / "run", 3
    overrides = ["trainer.accelerator=cpu", "trainer.devices=2", "trainer.strategy=ddp", "training.max_epochs=2",
                 "training.batch_size=8", "training.threads=1", f"training.seed={seed}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(child), str(tiny_corpus), str(out), "configs/phrase_random_cpu.yaml", *overrides],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (out / "model" / "model.safetensors").is_file() and (out / "checkpoints" / "last.ckpt").is_file()
    saved = json.loads((out / "model" / "config.json").read_text())
    assert saved["experiment"]["trainer"]["devices"] == 2 and saved["epochs"] == 2
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]

    train_clips = [c for c in read_weak_v2(tiny_corpus / "train" / "weak.json") if c.phrases]
    n_val = len([c for c in read_weak_v2(tiny_corpus / "val" / "weak.json") if c.phrases])
    for epoch in (0, 1):
        shards = [{d["index"] for d in r["draws"] if d["seed"] == seed and d["epoch"] == epoch} for r in ranks]
        assert shards[0] and not shards[0] & shards[1]  # each rank its own clips
        assert len(shards[0] | shards[1]) == len(train_clips) - len(train_clips) % 2
    epoch_shards = [{d["index"] for d in ranks[0]["draws"] if d["seed"] == seed and d["epoch"] == e} for e in (0, 1)]
    assert epoch_shards[0] != epoch_shards[1]  # reshuffled per epoch
    val = [{d["index"] for d in r["draws"] if d["seed"] == seed + 1} for r in ranks]
    assert not val[0] & val[1] and len(val[0] | val[1]) == n_val  # validation: the whole split, once

    # Negatives: what one process with the same seed draws for that clip and epoch, on either rank.
    vocab = Vocabulary.load(out / "vocab.json")
    pool = [p.text for c in train_clips for p in c.phrases]
    reference = PhraseLevelDataset(train_clips, FeatureStore(tiny_corpus / "train" / "features.h5"), vocab,
                                   RandomNegativeSampler(pool), n_phrases=8, seed=seed)
    for r in ranks:
        for d in (d for d in r["draws"] if d["seed"] == seed):
            reference.epoch = d["epoch"]
            assert reference[d["index"]]["tokens"] == d["tokens"]

    # val/tag_auc: both ranks scored the same pairs, all of them, after every validation epoch
    # (n_phrases = 8 pairs per validation clip); train/tag_auc gathers the epoch's training pairs.
    val_gathers = [[g for g in r["gathered"] if g["all"] == 8 * n_val] for r in ranks]
    assert len(val_gathers[0]) == len(val_gathers[1]) >= 2  # one per validation epoch (and the sanity check)
    last = [g[-1] for g in val_gathers]
    assert last[0]["all"] == last[1]["all"] == last[0]["local"] + last[1]["local"]
    assert last[0]["labels"] == last[1]["labels"] and last[0]["scores"] == last[1]["scores"]
    train_gathers = [[g for g in r["gathered"] if g["all"] != 8 * n_val] for r in ranks]
    assert train_gathers[0] and train_gathers[0][-1]["all"] == train_gathers[1][-1]["all"]
    assert train_gathers[0][-1]["all"] == train_gathers[0][-1]["local"] + train_gathers[1][-1]["local"]


# -- what must happen once, before the ranks meet ------------------------------------------
def test_the_launchers_environment_tells_the_process_count_and_rank(monkeypatch):
    from wstag.training.distributed import is_launch_rank_zero, launched_processes

    for var in ("WORLD_SIZE", "SLURM_NTASKS", "RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(var, raising=False)
    assert launched_processes() == 1 and is_launch_rank_zero()
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    assert launched_processes() == 4 and not is_launch_rank_zero()
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "1")  # Lightning's own launcher names the others by local rank
    assert not is_launch_rank_zero()


def test_several_launched_processes_refuse_to_train_a_clap_each(monkeypatch, tmp_path):
    from wstag.records import Clip, Phrase
    from wstag.text.vocabulary import Vocabulary
    from wstag.training.run import make_sampler

    monkeypatch.setenv("WORLD_SIZE", "2")
    config = parse_experiment({"name": "x", "sampling": {"strategy": "similarity", "embeddings": "clap"}}, "x.yaml")
    clip = Clip("a.flac", "a dog barks", ("a", "dog", "barks"), (Phrase("a dog barks", 0, 2),))
    with pytest.raises(ConfigError, match="no CLAP yet .* 2 processes were launched; train once on one process"):
        make_sampler(config, ([clip], [clip], None, None), Vocabulary.build(["a dog barks"]), tmp_path)
