"""Group token sequences by the prefix they share, so a backend runs each prefix once.

The studies score many items after one persona + instructions prefix. A backend that
runs the shared prefix once, copies its KV cache over the group's rows and then runs only
each row's suffix evaluates ``P + sum_i (L_i - P)`` tokens instead of ``sum_i L_i``
(``P`` the prefix length, ``L_i`` the sequence lengths).

:func:`prefix_groups` partitions sequences into such groups. In lexicographic order the
longest prefix shared by a run of sequences is the minimum of its neighbours' common
prefixes, so the candidate groups are the nodes of the token trie. Each run of the sorted
sequences is either one group (cost ``P + sum_i (L_i - P) + overhead``, the overhead
standing for the extra forward passes a group costs) or split where its neighbours'
common prefix is shortest, whichever evaluates fewer tokens; a sequence left alone (and
any group whose sharing would not pay) runs unshared, in ordinary padded batches.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

# Tokens a shared group must save to pay for its extra forward passes (a prefix pass,
# and a suffix pass the group cannot share with other groups).
GROUP_OVERHEAD_TOKENS = 64
# Sequences considered together (bounds the recursion depth and the work per call).
WINDOW = 512


@dataclass(frozen=True)
class PrefixGroup:
    """Indices of sequences that share their first ``prefix`` tokens (0: run unshared)."""

    prefix: int
    members: tuple[int, ...]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of ``a`` and ``b``."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def prefix_groups(
    seqs: Sequence[Sequence[int]],
    caps: Sequence[int],
    overhead: int = GROUP_OVERHEAD_TOKENS,
) -> list[PrefixGroup]:
    """Partition the indices of ``seqs`` into groups sharing a prefix.

    ``caps[i]`` is the longest prefix sequence ``i`` may share (the first position whose
    logits are read comes after the prefix, in the suffix pass). Groups of one member,
    or whose sharing would save fewer than ``overhead`` tokens, have ``prefix == 0``.
    The partition depends only on the set of (sequence, cap) pairs, not on their order.
    """
    order = sorted(range(len(seqs)), key=lambda i: (list(seqs[i]), caps[i], i))
    groups: list[PrefixGroup] = []
    for start in range(0, len(order), WINDOW):
        window = order[start : start + WINDOW]
        lcp = [
            min(common_prefix(seqs[a], seqs[b]), caps[a], caps[b])
            for a, b in itertools.pairwise(window)
        ]
        lengths = [len(seqs[i]) for i in window]
        _, chosen = _best(0, len(window), lcp, lengths, overhead)
        for prefix, lo, hi in chosen:
            if prefix:
                groups.append(PrefixGroup(prefix, tuple(window[lo:hi])))
            else:
                groups.extend(PrefixGroup(0, (i,)) for i in window[lo:hi])
    return groups


def _best(
    lo: int, hi: int, lcp: list[int], lengths: list[int], overhead: int
) -> tuple[int, list[tuple[int, int, int]]]:
    """Fewest tokens to evaluate sorted positions ``lo:hi``: (cost, [(prefix, lo, hi)])."""
    alone = sum(lengths[lo:hi])
    if hi - lo == 1:
        return alone, [(0, lo, hi)]
    floor = min(lcp[lo : hi - 1])
    split_cost, split = 0, []
    cut = lo
    for k in range(lo, hi):
        if k == hi - 1 or lcp[k] == floor:
            cost, parts = _best(cut, k + 1, lcp, lengths, overhead)
            split_cost += cost
            split += parts
            cut = k + 1
    together = alone - floor * (hi - lo - 1) + overhead
    if floor > 0 and together < min(split_cost, alone):
        return together, [(floor, lo, hi)]
    if alone <= split_cost:
        return alone, [(0, lo, hi)]
    return split_cost, split
