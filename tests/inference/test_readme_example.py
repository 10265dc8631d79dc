"""The README's Python example, run verbatim on a tiny untrained model and a generated wav."""

import contextlib
import io
import re
from pathlib import Path

import torch

from tests.inference.tiny import make_model_dir, write_clip

EXAMPLE = '''\
from wstag import Grounder

grounder = Grounder.load("default")  # the shipped model, or a model folder; a GPU if there is one
recording = grounder.encode("my.wav")  # the audio encoder runs once; or encode(array, sample_rate=rate)
for d in grounder.ground(recording, ["a dog barks", "a man speaks"], threshold=0.5, median=5):
    print(f"{d.phrase}: {d.onset:.2f}-{d.offset:.2f} s (peak {d.peak:.2f})")
scores = grounder.scores(recording, ["rain falls"])  # more phrases cost a dot product each
print(scores.times[:3], scores.probabilities[:3, 0])  # frame starts (s), probabilities
'''

README = Path(__file__).resolve().parents[2] / "README.md"


def _model_that_hears_the_clip(folder: Path, wav: Path) -> Path:
    """An untrained model whose words all point along the clip's mean frame embedding,
    so every frame scores above 0.5 and the example's loop prints something."""
    from wstag.audio.io import load_audio
    from wstag.models.checkpoint import load_model, save_model

    make_model_dir(folder)
    model, vocab, _ = load_model(folder)
    with torch.no_grad():
        emb, _ = model.from_waveform(torch.from_numpy(load_audio(wav))[None])
        mean = emb[0].mean(0)
        model.text_encoder.embedding.weight[2:] = 4 * mean / mean.dot(mean)
    return save_model(folder, model, vocab)


def test_the_readme_example_runs_verbatim(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_clip(tmp_path / "my.wav")
    # A folder named "default" in the working directory: an existing path wins over the shipped name.
    _model_that_hears_the_clip(tmp_path / "default", tmp_path / "my.wav")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(EXAMPLE, "README example", "exec"), {"__name__": "readme_example"})
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"a dog barks: 0\.00-5\.00 s \(peak 0\.\d\d\)", lines[0]), lines
    assert re.fullmatch(r"a man speaks: 0\.00-5\.00 s \(peak 0\.\d\d\)", lines[1]), lines
    assert lines[2].startswith("[0.   0.04 0.08]") and len(lines) >= 3
    assert len(EXAMPLE.splitlines()) <= 10


def test_the_readme_shows_this_example():
    """Once the README carries the example, it must be this one (so the tested code is the shown code)."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    shown = [b for b in blocks if "from wstag import Grounder" in b]
    assert shown, "README.md must show the Python example"
    assert shown[0] == EXAMPLE
