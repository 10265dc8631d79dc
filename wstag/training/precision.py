"""Which numeric precision a run trains in (config key ``training.precision``).

``32`` is the paper's float32. ``bf16`` trains under bfloat16 autocast (Lightning's
``bf16-mixed``): convolutions, the GRU and the FC run in bf16, while the weights,
BatchNorm's running statistics, the scoring head, pooling and the loss stay float32.
``auto`` picks bf16 only where the hardware computes it natively (a CUDA GPU with bf16,
or a CPU with AMX or AVX512-BF16), because emulated bf16 is slower than float32. On the
CPU this project was measured on (AMX), a demo epoch takes 64-67 s in bf16 against 72 s.
"""

from __future__ import annotations

import torch

PRECISIONS = ("32", "bf16", "auto")
_LIGHTNING = {"32": "32-true", "bf16": "bf16-mixed"}


def native_bf16() -> bool:
    """True where bf16 matmuls and convolutions run in hardware (not emulated)."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:  # private but stable helpers; absent on non-x86 builds
        return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    except AttributeError:
        return False


def resolve_precision(setting: str) -> str:
    """``training.precision`` -> ``32`` or ``bf16`` for this machine."""
    if setting not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {setting!r}")
    if setting == "auto":
        return "bf16" if native_bf16() else "32"
    return setting


def lightning_precision(setting: str) -> str:
    """``training.precision`` -> the Trainer's ``precision`` argument."""
    return _LIGHTNING[resolve_precision(setting)]
