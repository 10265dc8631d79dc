import hashlib
import json

from wstag.provenance import code_commit, config_hash


def test_config_hash_is_canonical_and_sensitive() -> None:
    a = {"training": {"seed": 0, "lr": 0.001}, "model": {"preset": "cpu_fast"}}
    b = {"model": {"preset": "cpu_fast"}, "training": {"lr": 0.001, "seed": 0}}  # same, other key order
    assert config_hash(a) == config_hash(b)
    text = '{"model":{"preset":"cpu_fast"},"training":{"lr":0.001,"seed":0}}'
    assert config_hash(a) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert config_hash({**a, "training": {"seed": 1, "lr": 0.001}}) != config_hash(a)


def test_code_commit_names_a_commit_or_says_unknown() -> None:
    commit = code_commit()
    head = commit.removesuffix("-dirty")
    assert commit == "unknown" or (len(head) == 40 and all(c in "0123456789abcdef" for c in head))
    json.dumps(commit)
