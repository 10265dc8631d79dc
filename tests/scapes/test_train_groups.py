"""`--train-groups`: which recordings a class keeps when its training sources are limited."""

from wstag.scapes.bank import SAMPLE_RATE, Recording
from wstag.scapes.build import limit_groups


def test_limit_groups_keeps_each_classs_largest_sources():
    def rec(name, cls, group):
        return Recording(name, cls, group, "train", name, "p", "GPL", "x", SAMPLE_RATE, 1, 1.0, 0.0, 1.0, -20.0, None, name)

    recs = [rec("d1", "dog", "a"), rec("d2", "dog", "b"), rec("d3", "dog", "b"), rec("d4", "dog", "c"),
            rec("r1", "rain", "z"), rec("r2", "rain", "y")]
    # dog: b has 2 takes, then a before c by name; rain: a tie of one take each, y before z
    assert [r.id for r in limit_groups(recs, 1)] == ["d2", "d3", "r2"]
    assert [r.id for r in limit_groups(recs, 2)] == ["d1", "d2", "d3", "r1", "r2"]
    assert limit_groups(recs, 9) == recs
    # a group name is a source, and one source may serve two classes: each class keeps its own
    shared = recs + [rec("c1", "cat", "a"), rec("c2", "cat", "x"), rec("c3", "cat", "x")]
    assert [r.id for r in limit_groups(shared, 1)] == ["d2", "d3", "r2", "c2", "c3"]
