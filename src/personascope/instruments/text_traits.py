"""Big-Five trait vectors read from persona *texts* (no questionnaire), with validity.

Two measurements, shown side by side with the self-report inventory:

* **Lexicon** (:func:`lexicon_traits`): Goldberg's (1992) 100 unipolar trait adjectives;
  domain score s_d = (sum of marker keys) / (number of markers of d) in [-1, 1], missing
  when the text uses no marker of d. Validity: how many texts carry any evidence.
* **Anchor projection** (:func:`anchor_traits`): the text's sentence embedding e is
  compared with the two poles of each domain, built from the same 100 markers, each
  embedded in the sentence "A <adjective> person.":

      s_d = cos(e, mean_{i in d+} u_i) - cos(e, mean_{i in d-} u_i)

  where u_i are the unit-normalised anchor embeddings (semantic projection, Grand et al.
  2022). Validity (:func:`anchor_validity`): leave one anchor out, does it land on its own
  pole? (With all-MiniLM-L6-v2: O 85%, C 100%, E 65%, A 85%, N 85%. IPIP-50 items as
  anchors did worse, E 50%: the embedder barely separates "I talk a lot" from "I don't
  talk a lot".)

Neither is on the human questionnaire scale: they compare models with each other, not
with people. Scores are standardised over the pooled population before plotting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from personascope.instruments.adjectives import DOMAINS, lexicon_scores, load_markers
from personascope.metrics.embedding import Embedder

ANCHOR_SENTENCE = "A {} person."

# Verdict thresholds (share of texts with evidence; leave-one-out pole accuracy).
LEXICON_VALID, LEXICON_WEAK = 0.5, 0.2
ANCHOR_VALID, ANCHOR_WEAK = 0.8, 0.65


def verdict(value: float, valid: float, weak: float) -> str:
    return "valid" if value >= valid else "weak" if value >= weak else "invalid"


def lexicon_traits(texts: Sequence[str]) -> np.ndarray:
    """(n, 5) lexicon scores in DOMAINS order, NaN where a text has no marker of a domain."""
    rows = [lexicon_scores(text) for text in texts]
    return np.array(
        [[np.nan if row[d] is None else row[d] for d in DOMAINS] for row in rows], dtype=float
    )


def lexicon_validity(scores: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per domain: share of texts with any marker, and a verdict with its reason."""
    out = {}
    for j, domain in enumerate(DOMAINS):
        share = float(np.mean(~np.isnan(scores[:, j]))) if len(scores) else 0.0
        out[domain] = {
            "evidence_share": share,
            "verdict": verdict(share, LEXICON_VALID, LEXICON_WEAK),
            "reason": f"{share:.0%} of texts use a {domain} marker adjective",
        }
    return out


@dataclass(frozen=True)
class Anchors:
    """Unit item embeddings and their domains and keys (the poles' material)."""

    vectors: np.ndarray
    domains: tuple[str, ...]
    keys: np.ndarray
    texts: tuple[str, ...]

    def poles(self, skip: int | None = None) -> np.ndarray:
        """(5, 2, d): mean unit embedding of the + and - items of each domain."""
        keep = np.ones(len(self.domains), dtype=bool)
        if skip is not None:
            keep[skip] = False
        out = np.zeros((len(DOMAINS), 2, self.vectors.shape[1]))
        doms = np.asarray(self.domains)
        for j, domain in enumerate(DOMAINS):
            for k, key in enumerate((1, -1)):
                mask = keep & (doms == domain) & (self.keys == key)
                pole = self.vectors[mask].mean(axis=0)
                out[j, k] = pole / np.linalg.norm(pole)
        return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def load_anchors(embedder: Embedder) -> Anchors:
    markers = load_markers()
    texts = tuple(ANCHOR_SENTENCE.format(m.word) for m in markers)
    return Anchors(
        _unit(embedder.embed(list(texts))),
        tuple(m.domain for m in markers),
        np.array([m.key for m in markers]),
        texts,
    )


def project(vectors: np.ndarray, poles: np.ndarray) -> np.ndarray:
    """(n, 5) scores s_d = cos(e, pole+) - cos(e, pole-)."""
    u = _unit(np.asarray(vectors, dtype=float))
    return u @ poles[:, 0, :].T - u @ poles[:, 1, :].T


def anchor_traits(vectors: np.ndarray, anchors: Anchors) -> np.ndarray:
    return project(vectors, anchors.poles())


def anchor_validity(anchors: Anchors) -> dict[str, dict[str, Any]]:
    """Leave-one-out pole accuracy per domain: the share of anchors whose own domain
    score (poles rebuilt without the anchor) has the sign of the anchor's key."""
    hits: dict[str, list[bool]] = {d: [] for d in DOMAINS}
    for i, domain in enumerate(anchors.domains):
        score = project(anchors.vectors[i : i + 1], anchors.poles(skip=i))[0, DOMAINS.index(domain)]
        hits[domain].append(bool(np.sign(score) == anchors.keys[i]))
    out = {}
    for domain in DOMAINS:
        accuracy = float(np.mean(hits[domain]))
        out[domain] = {
            "pole_accuracy": accuracy,
            "verdict": verdict(accuracy, ANCHOR_VALID, ANCHOR_WEAK),
            "reason": (
                f"{accuracy:.0%} of {domain} anchor adjectives fall on their own pole "
                "when left out of it"
            ),
        }
    return out
