import json

import pytest

from wstag.errors import ConfigError, QueryError
from wstag.text.vocabulary import Vocabulary

CAPTIONS = ["A dog barks and a man speaks", "A man speaks", "Birds chirp"]


def test_build_orders_by_count_then_alphabet() -> None:
    vocab = Vocabulary.build(CAPTIONS)
    assert vocab.itos[:2] == ["<pad>", "<unk>"]
    # a: 3, man/speaks: 2, then the singletons alphabetically
    assert vocab.words == ["a", "man", "speaks", "and", "barks", "birds", "chirp", "dog"]
    assert len(vocab) == 10
    assert Vocabulary.build(reversed(CAPTIONS)) == vocab  # order of captions does not matter


def test_min_count() -> None:
    assert Vocabulary.build(CAPTIONS, min_count=2).words == ["a", "man", "speaks"]
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build(CAPTIONS, min_count=0)


def test_encode_and_unknown_words() -> None:
    vocab = Vocabulary.build(CAPTIONS)
    assert vocab.encode("A man speaks") == [2, 3, 4]
    assert vocab.encode("a cat speaks loudly") == [2, 1, 4, 1]
    assert vocab.unknown_words("a cat speaks, cat loudly") == ["cat", ",", "loudly"]
    assert vocab.unknown_words("a dog barks") == []
    assert vocab.encode_tokens(["dog", "<pad>"]) == [9, 1]  # a literal special token is unknown
    assert "dog" in vocab and "<unk>" not in vocab


@pytest.mark.parametrize("phrase", ["", "   ", "."])
def test_empty_phrase_is_a_query_error(phrase: str) -> None:
    vocab = Vocabulary.build(CAPTIONS)
    with pytest.raises(QueryError, match="empty phrase"):
        vocab.encode(phrase)
    with pytest.raises(QueryError):
        vocab.unknown_words(phrase)
    with pytest.raises(QueryError):
        vocab.encode_tokens([])


def test_save_load_round_trip(tmp_path) -> None:
    vocab = Vocabulary.build(CAPTIONS)
    path = vocab.save(tmp_path / "sub" / "vocab.json")
    assert Vocabulary.load(path) == vocab
    assert [p.name for p in path.parent.iterdir()] == ["vocab.json"]  # no temp file left


def test_load_errors_name_the_file(tmp_path) -> None:
    path = tmp_path / "vocab.json"
    with pytest.raises(ConfigError, match=f"{path} does not exist"):
        Vocabulary.load(path)
    path.write_text("[1, 2")
    with pytest.raises(ConfigError, match=f"{path} is not valid JSON"):
        Vocabulary.load(path)
    path.write_text(json.dumps(["a", "b"]))
    with pytest.raises(ConfigError, match=f"{path} is not a wstag vocabulary"):
        Vocabulary.load(path)
    path.write_text(json.dumps({"format": "wstag-vocabulary", "version": 1, "words": ["a", "a"]}))
    with pytest.raises(ConfigError, match="duplicate"):
        Vocabulary.load(path)
    path.write_text(json.dumps({"format": "wstag-vocabulary", "version": 9, "words": []}))
    with pytest.raises(ConfigError, match="version 9"):
        Vocabulary.load(path)


def test_constructor_rejects_specials_and_empty_words() -> None:
    with pytest.raises(ValueError, match="<unk>"):
        Vocabulary(["a", "<unk>"])
    with pytest.raises(ValueError, match="non-empty"):
        Vocabulary(["a", ""])
