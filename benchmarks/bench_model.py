"""Grounding-model speed of several presets, side by side in one run (printed, not asserted).

    python benchmarks/bench_model.py [--presets cpu,cpu_fast,qgca] [--batch 32] [--phrases 8]
        [--rounds 5] [--seconds 10] [--threads N] [--device cpu] [--bf16] [--malloc-tuning]
        [--override '{"cpu_fast": {"audio_encoder": {...}}}']

For each preset: parameter counts, the time of one training step (forward + backward +
Adam on cached log-mel, clip BCE with linear-softmax pooling, as phrase-level training
does) and of inference from waveforms (log-mel included, eval mode) and from cached
log-mel features (the model alone), all in ms per clip, and each preset's ratio to the
first; then the phrase side alone (text encoder + similarity on frames already encoded),
in microseconds per clip and phrase: what grounding many phrases in one recording costs
on top of encoding it once. ``qgca`` is ``cpu_fast`` with QGCA's query graph and
cross-gating attention (docs/qgca.md); its phrases are parsed once, before timing (the
one-off parse cost is printed apart). The presets are timed in alternation,
round after round, and the median round is reported, so a machine whose speed drifts
(another process, frequency scaling) slows every preset alike and the ratios hold.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from wstag.audio.frames import DEFAULT_GRID
from wstag.models.factory import build_model, count_parameters
from wstag.models.pooling import linear_softmax_pool
from wstag.text.dependencies import spacy_heads
from malloc_tuning import keep_freed_memory  # beside this script: run it as python benchmarks/bench_model.py

VOCAB = 5000  # about the size of an AudioCaps-scale vocabulary
WORDS = 4  # tokens per phrase
#: Benchmark names that are not presets: a preset with sections replaced.
VARIANTS = {"qgca": {"preset": "cpu_fast", "text_encoder": {"kind": "graph"}, "interaction": {"kind": "cross_gating"}}}
#: Word strings for the ids (the query graph parses words): nonsense, but one parse per phrase all the same.
VOCAB_WORDS = ["<pad>", "<unk>", *(f"w{i}" for i in range(2, VOCAB))]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class _Bench:
    """One preset's model, optimiser and inputs; ``train_step`` and ``infer`` return seconds."""

    def __init__(self, config: dict, args: argparse.Namespace, device: torch.device) -> None:
        torch.manual_seed(0)
        self.device, self.bf16 = device, args.bf16
        self.model = build_model(config, VOCAB, words=VOCAB_WORDS).to(device)
        b, n = args.batch, args.phrases
        n_samples = int(args.seconds * DEFAULT_GRID.sample_rate)
        t_feat = DEFAULT_GRID.n_feature_frames(n_samples)
        n_mels = self.model.audio_encoder.config.n_mels
        self.feats = torch.randn(b, t_feat, n_mels, device=device) * 10 - 40  # (B, T, M)
        self.feat_lengths = torch.full((b,), t_feat, dtype=torch.long, device=device)
        self.tokens = torch.randint(2, VOCAB, (b, n, WORDS), device=device)  # (B, N, L)
        self.token_lengths = torch.randint(1, WORDS + 1, (b, n), device=device)  # (B, N)
        self.targets = (torch.rand(b, n, device=device) < 0.3).float()  # (B, N)
        self.audio = torch.randn(b, n_samples, device=device) * 0.1  # (B, n)
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.parse_ms = None  # per distinct phrase, once per process: the query graph's parse
        if not self.model.scores_by_dot_product:
            spacy_heads(("warm", "up"))  # loads the parser: its seconds are a start-up cost, not a phrase's
            t0 = time.perf_counter()
            with torch.no_grad():
                self.model.encode_text(self.tokens.reshape(b * n, -1), self.token_lengths.reshape(b * n))
            self.parse_ms = 1000 * (time.perf_counter() - t0) / (b * n)
        self.model.eval()
        with torch.no_grad():
            self.emb, _ = self.model.encode_audio(self.feats, self.feat_lengths)  # (B, T, D): for score_phrases

    def train_step(self) -> float:
        self.model.train()
        _sync(self.device)
        t0 = time.perf_counter()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            probs, mask = self.model(self.feats, self.feat_lengths, self.tokens, self.token_lengths)  # (B, T, N)
        clip = linear_softmax_pool(probs.float(), mask).clamp(1e-7, 1 - 1e-7)  # (B, N)
        loss = F.binary_cross_entropy(clip, self.targets)
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimiser.step()
        _sync(self.device)
        return time.perf_counter() - t0

    def infer(self, from_waveform: bool = True) -> float:
        """Seconds for the batch: log-mel (unless ``from_waveform`` is False: cached features) + model."""
        self.model.eval()
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            _sync(self.device)
            t0 = time.perf_counter()
            if from_waveform:
                emb, _ = self.model.from_waveform(self.audio)  # (B, T, D)
            else:
                emb, _ = self.model.encode_audio(self.feats, self.feat_lengths)
            text = self.model.encode_text(self.tokens[0], self.token_lengths[0])  # (N, D)
            self.model.frame_phrase_probs(emb, text)  # (B, T, N)
            _sync(self.device)
            return time.perf_counter() - t0

    def score_phrases(self) -> float:
        """Seconds for the phrase side alone: N phrases against the batch's encoded frames."""
        self.model.eval()
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            _sync(self.device)
            t0 = time.perf_counter()
            text = self.model.encode_text(self.tokens[0], self.token_lengths[0])
            self.model.frame_phrase_probs(self.emb, text)  # (B, T, N)
            _sync(self.device)
            return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="cpu,cpu_fast", help=f"comma-separated model presets (or {sorted(VARIANTS)})")
    parser.add_argument("--override", default=None,
                        help='JSON {preset: {section: {key: value}}} merged over those presets')
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--phrases", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (after 2 warm-up rounds)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the forward passes")
    parser.add_argument("--malloc-tuning", action="store_true",
                        help="glibc reuses freed memory instead of mmap (wstag.runtime.keep_freed_memory)")
    args = parser.parse_args()
    tuned = keep_freed_memory() if args.malloc_tuning else False
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    overrides = json.loads(args.override) if args.override else {}
    names = [p.strip() for p in args.presets.split(",") if p.strip()]
    benches = {name: _Bench({**VARIANTS.get(name, {"preset": name}), **overrides.get(name, {})}, args, device)
               for name in names}
    print(f"{device.type}, {torch.get_num_threads()} threads, batch {args.batch} x {args.seconds:g} s, "
          f"{args.phrases} phrases, {'bf16 autocast' if args.bf16 else 'float32'}, malloc tuned: {tuned}; "
          f"median of {args.rounds} rounds")

    # train, inference, from features, phrases alone
    times: dict[str, list[list[float]]] = {n: [[], [], [], []] for n in names}
    for round_ in range(args.rounds + 2):  # the first rounds warm up allocators and kernels
        for name, bench in benches.items():
            measured = (bench.train_step(), bench.infer(), bench.infer(from_waveform=False), bench.score_phrases())
            if round_ >= 2:
                for series, t in zip(times[name], measured):
                    series.append(t)

    ms = {n: [1000 * statistics.median(series) / args.batch for series in times[n]] for n in names}
    base = ms[names[0]]
    print(f"| preset | audio encoder params | total params | train ms/clip | inference ms/clip "
          f"| of which model (from log-mel) | train vs {names[0]} | inference vs {names[0]} "
          f"| model inference vs {names[0]} | s per 2,000-clip epoch | phrase side µs/(clip x phrase) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        counts = count_parameters(benches[name].model)
        tr, inf, feat, phrases = ms[name]
        print(f"| {name} | {counts['audio_encoder']:,} | {counts['total']:,} | {tr:.1f} | {inf:.2f} | {feat:.2f} "
              f"| {tr / base[0]:.2f} | {inf / base[1]:.2f} | {feat / base[2]:.2f} | {2000 * tr / 1000:.0f} "
              f"| {1000 * phrases / args.phrases:.1f} |")
    for name in names:
        if benches[name].parse_ms is not None:
            print(f"{name}: dependency parse {benches[name].parse_ms:.2f} ms per distinct phrase, once per process")
    print(f"peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:,.0f} MiB")


if __name__ == "__main__":
    main()
