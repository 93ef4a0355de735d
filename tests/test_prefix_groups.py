"""Grouping sequences by shared prefix: planted families come out as groups with their own
prefix, strays and unprofitable groups run alone, caps hold, and order does not matter."""

from __future__ import annotations

import random

from personascope.models.prefix_groups import prefix_groups


def partition(groups) -> set[tuple[int, frozenset[int]]]:
    return {(g.prefix, frozenset(g.members)) for g in groups}


def caps_for(seqs: list[list[int]]) -> list[int]:
    return [len(s) - 1 for s in seqs]


def test_families_share_their_own_prefix_and_a_stray_runs_alone():
    # two personas of 40 tokens that agree on their first 10, then 5 and 4 items each
    family_a = [[1] * 40 + [10 + i, 99] for i in range(5)]
    family_b = [[1] * 10 + [3] * 30 + [20 + i] for i in range(4)]
    stray = [7] * 30
    seqs = [*family_a, *family_b, stray]
    groups = prefix_groups(seqs, caps_for(seqs))
    assert partition(groups) == {
        (40, frozenset(range(5))),
        (40, frozenset(range(5, 9))),
        (0, frozenset({9})),
    }


def test_a_group_never_shares_past_a_members_cap():
    # each sequence is a prefix of the next; logits are read at each one's last token
    seqs = [[5] * 100, [5] * 100 + [6], [5] * 100 + [6, 7]]
    (group,) = prefix_groups(seqs, caps_for(seqs))
    assert group.prefix == 99
    assert sorted(group.members) == [0, 1, 2]
    (capped,) = prefix_groups(seqs, [99, 60, 101])
    assert capped.prefix == 60


def test_sharing_that_saves_less_than_its_overhead_is_not_done():
    seqs = [[4] * 40 + [1], [4] * 40 + [2]]  # sharing saves 40 tokens
    assert partition(prefix_groups(seqs, caps_for(seqs), overhead=64)) == {
        (0, frozenset({0})),
        (0, frozenset({1})),
    }
    assert partition(prefix_groups(seqs, caps_for(seqs), overhead=10)) == {(40, frozenset({0, 1}))}


def test_partition_does_not_depend_on_input_order():
    rng = random.Random(3)
    heads = [[rng.randrange(50) for _ in range(rng.randrange(20, 90))] for _ in range(6)]
    seqs = [h + [rng.randrange(50) for _ in range(rng.randrange(1, 15))] for h in heads * 5]
    want = {(g.prefix, frozenset(tuple(seqs[i]) for i in g.members)) for g in
            prefix_groups(seqs, caps_for(seqs))}  # fmt: skip
    order = list(range(len(seqs)))
    rng.shuffle(order)
    shuffled = [seqs[i] for i in order]
    got = prefix_groups(shuffled, caps_for(shuffled))
    assert {(g.prefix, frozenset(tuple(shuffled[i]) for i in g.members)) for g in got} == want
    assert sorted(i for g in got for i in g.members) == list(range(len(seqs)))
