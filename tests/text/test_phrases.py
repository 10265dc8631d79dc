import pytest

from wstag.data.parser_agreement import clip_agreement, disagreements, parser_agreement
from wstag.text.phrases import extract_phrases
from wstag.text.tokenize import tokenize

# Each case checked by hand against the AudioGrounding v1 annotators' convention.
CASES = [
    ("A man speaks loudly in the background, followed by two dogs barking.", ["a man speaks", "dogs barking"]),
    ("a dog barks while a woman talks", ["a dog barks", "a woman talks"]),
    ("an engine idles as a man speaks softly", ["an engine idles", "a man speaks"]),
    ("a dog barks and whimpers", ["a dog barks", "whimpers"]),
    ("a man speaking with several goats bleating", ["a man speaking", "several goats bleating"]),
    ("a car accelerates then a woman talks and a siren is triggered",
     ["a car accelerates", "a woman talks", "a siren is triggered"]),
    ("rain falls after thunder rumbles before birds chirp", ["rain falls", "thunder rumbles", "birds chirp"]),
    ("people talk in the background", ["people talk"]),
    ("a man speaking in a foreign language", ["a man speaking", "a foreign language"]),
    ("a woman's voice and a cat meowing", ["a woman", "voice", "a cat meowing"]),
    ("a high-pitched whining sound is present", ["a high-pitched whining sound"]),
    ("wind blows hard on a hard surface", ["wind blows", "a hard surface"]),
    ("a car is racing away very fast and its tires squeal a little", ["a car is racing", "tires squeal"]),
    ("a dog barks several times", ["a dog barks several times"]),
    ("birds can be heard chirping", ["birds", "be heard chirping"]),
    ("dogs barking in the distance", ["dogs barking", "the distance"]),
    ("a whistle blows briefly", ["a whistle blows briefly"]),
    ("in the background", []),
    ("and then", []),
    ("", []),
]


@pytest.mark.parametrize("caption, expected", CASES)
def test_hand_cases(caption, expected):
    assert [p.text for p in extract_phrases(caption)] == expected


@pytest.mark.parametrize("caption", [c for c, _ in CASES])
def test_spans_index_the_caption_tokens(caption):
    tokens = tokenize(caption)
    phrases = extract_phrases(caption)
    assert extract_phrases(tokens) == phrases  # a string and its tokens agree
    for p in phrases:
        assert p.text == " ".join(tokens[p.start_index : p.end_index + 1])
        assert p.segments is None
    starts = [p.start_index for p in phrases]
    assert starts == sorted(starts)


def test_hand_checked_spans():
    spans = [(p.start_index, p.end_index) for p in extract_phrases("A cat meows, then a woman's voice")]
    # tokens: a cat meows , then a woman 's voice
    assert spans == [(0, 2), (5, 6), (8, 8)]


def test_tokens_are_lowercased():
    assert [p.text for p in extract_phrases(["A", "Dog", "Barks"])] == ["a dog barks"]


# Measured: train exact 0.948, containing 0.993, precision 0.961;
#           val   exact 0.916, containing 0.996, precision 0.945.
@pytest.mark.parametrize(
    "split, n_phrases, exact, containing, precision",
    [("train", 12373, 0.94, 0.99, 0.95), ("val", 451, 0.90, 0.99, 0.93)],
)
def test_agreement_with_human_phrases(audiogrounding_v1_dir, split, n_phrases, exact, containing, precision):
    figures = parser_agreement(audiogrounding_v1_dir / f"{split}.json")
    assert figures["human_phrases"] == n_phrases
    assert figures["exact_share"] >= exact
    assert figures["containing_share"] >= containing
    assert figures["precision"] >= precision
    assert figures["exact"] <= figures["containing"] <= figures["human_phrases"]


def test_agreement_counts_on_a_hand_case():
    from wstag.records import Clip, Phrase

    tokens = tuple(tokenize("an adult female speaks and a cat meows"))
    # the v1 quirk: "an adult" + "female speaks"; the parser returns "an adult female speaks"
    human = (Phrase("an adult", 0, 1), Phrase("female speaks", 2, 3), Phrase("a cat meows", 5, 7))
    clip = Clip("x.wav", " ".join(tokens), tokens, human)
    figures = clip_agreement([clip])
    assert (figures["human_phrases"], figures["exact"], figures["containing"]) == (3, 1, 3)
    assert figures["parser_phrases"] == 2 and figures["precision"] == 0.5
    assert [d[1] for d in disagreements([clip])] == ["an adult", "female speaks"]
