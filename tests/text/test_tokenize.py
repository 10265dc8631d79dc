import json

import pytest

from wstag.text.tokenize import tokenize


@pytest.mark.parametrize(
    "caption, tokens",
    [
        ("A dog barks.", ["a", "dog", "barks"]),
        ("A man speaks, then a dog barks", ["a", "man", "speaks", ",", "then", "a", "dog", "barks"]),
        # AudioGrounding splits clitics off, like the Treebank tokeniser
        ("a man's voice", ["a", "man", "'s", "voice"]),
        ("a sports' vehicle", ["a", "sports", "'", "vehicle"]),
        # hyphenated words stay whole; ';' and '&' are tokens
        ("a high-pitched hum; sirens & horns", ["a", "high-pitched", "hum", ";", "sirens", "&", "horns"]),
        # AudioCaps punctuation that AudioGrounding dropped
        ("A dog barks. A man speaks!", ["a", "dog", "barks", "a", "man", "speaks"]),
        ('Someone says "hello" (twice)?', ["someone", "says", "hello", "twice"]),
        ("  ", []),
    ],
)
def test_hand_cases(caption, tokens):
    assert tokenize(caption) == tokens


def test_matches_every_audiogrounding_v1_caption(audiogrounding_v1_dir):
    """The token spans of the human phrases index these tokens, so all must match."""
    n = same = 0
    for split in ("train", "val"):
        data = json.loads((audiogrounding_v1_dir / f"{split}.json").read_text())
        pairs = {(c, tuple(data["tokens"][k])) for k, c in data["caption"].items()}
        n += len(pairs)
        same += sum(tokenize(c) == list(t) for c, t in pairs)
    assert n > 4000
    assert same == n
