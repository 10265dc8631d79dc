"""Grounding-model speed on the current device (printed, not asserted).

    python benchmarks/bench_model.py [--preset cpu] [--batch 32] [--phrases 32] [--steps 3]
        [--seconds 10] [--threads N] [--device cpu] [--override '{"audio_encoder": {...}}']

Prints the parameter counts, the time of one training step (forward + backward + Adam
on cached log-mel, clip BCE with linear-softmax pooling, as phrase-level training does)
and inference speed from waveforms (log-mel included) as clips/s and real-time factor.
This is how the ``cpu`` preset was sized for two CPU cores. Its floor is the CNN's first
block at full resolution (32 clips x 8 channels x 1001 frames x 64 mels: ~0.5 s forward
and backward on its own), so a step takes ~1.2 s and an epoch of 2,000 clips ~75 s.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from wstag.audio.frames import DEFAULT_GRID
from wstag.models.factory import build_model, count_parameters
from wstag.models.pooling import linear_softmax_pool
from wstag.runtime import keep_freed_memory

VOCAB = 5000  # about the size of an AudioCaps-scale vocabulary
WORDS = 4  # tokens per phrase


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--override", default=None, help="JSON dict merged over the preset")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--phrases", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (after 2 warm-ups)")
    parser.add_argument("--repeats", type=int, default=3, help="timed inference batches (after 1 warm-up)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the forward passes")
    parser.add_argument("--no-malloc-tuning", action="store_true",
                        help="keep glibc's default mmap behaviour (see keep_freed_memory)")
    args = parser.parse_args()
    tuned = False if args.no_malloc_tuning else keep_freed_memory()
    print(f"glibc malloc tuned to reuse freed memory: {tuned}")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)

    config: dict = {"preset": args.preset}
    if args.override:
        config.update(json.loads(args.override))
    model = build_model(config, VOCAB).to(device)
    counts = count_parameters(model)
    print(f"model {config}: channels {model.audio_encoder.config.channels}, embedding {model.embed_dim}"
          + (", bf16 autocast" if args.bf16 else ""))
    print(f"parameters: audio encoder {counts['audio_encoder']:,}, text encoder {counts['text_encoder']:,} "
          f"(vocabulary {VOCAB}), total {counts['total']:,}")

    b, n = args.batch, args.phrases
    n_samples = int(args.seconds * DEFAULT_GRID.sample_rate)
    t_feat = DEFAULT_GRID.n_feature_frames(n_samples)
    feats = torch.randn(b, t_feat, model.audio_encoder.config.n_mels, device=device) * 10 - 40  # (B, T, M)
    feat_lengths = torch.full((b,), t_feat, dtype=torch.long, device=device)
    tokens = torch.randint(2, VOCAB, (b, n, WORDS), device=device)  # (B, N, L)
    token_lengths = torch.randint(1, WORDS + 1, (b, n), device=device)  # (B, N)
    targets = (torch.rand(b, n, device=device) < 0.1).float()  # (B, N)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    model.train()
    times = []
    for step in range(args.steps + 2):
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            probs, mask = model(feats, feat_lengths, tokens, token_lengths)  # (B, T, N), (B, T)
        clip = linear_softmax_pool(probs.float(), mask).clamp(1e-7, 1 - 1e-7)  # (B, N)
        loss = F.binary_cross_entropy(clip, targets)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        _sync(device)
        if step >= 2:  # the first steps warm up allocators and kernels
            times.append(time.perf_counter() - t0)
    step_s = sum(times) / len(times)
    print(f"training step ({device.type}, {torch.get_num_threads()} threads, batch {b} x {args.seconds:g} s, "
          f"{n} phrases): {step_s:.3f} s mean, {min(times):.3f} s best -> "
          f"{2000 / b * step_s:.0f} s per 2,000-clip epoch")

    model.eval()
    audio = torch.randn(b, n_samples, device=device) * 0.1  # (B, n)
    lengths = torch.full((b,), n_samples, dtype=torch.long)
    times = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
        for rep in range(args.repeats + 1):
            _sync(device)
            t0 = time.perf_counter()
            emb, out_lengths = model.from_waveform(audio, lengths)  # (B, T, D)
            text = model.encode_text(tokens[0], token_lengths[0])  # (N, D)
            model.frame_phrase_probs(emb, text)  # (B, T, N)
            _sync(device)
            if rep:
                times.append(time.perf_counter() - t0)
    best = min(times)
    mean = sum(times) / len(times)
    print(f"inference from waveform (log-mel included), batch {b} x {args.seconds:g} s, {n} queries: "
          f"{b / mean:.0f} clips/s mean, {b / best:.0f} best -> {b * args.seconds / mean:.0f}x real time")


if __name__ == "__main__":
    main()
