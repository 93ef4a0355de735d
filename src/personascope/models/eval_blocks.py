"""Where a prompt is cut into evaluation batches (the llama.cpp backend's determinism rule).

llama.cpp's logits depend on how a prompt is split into batches, so every prompt is
evaluated in *canonical blocks*: a block ends after a paragraph break (text ending in a
blank line, ``"\\n\\n"``) or after ``BLOCK_SIZE`` tokens, whichever comes first, and the
last block ends with the prompt. Whether a block ends after token ``i`` depends only on
tokens ``0..i``, so two prompts sharing a prefix share its blocks: a cached prefix is
reused up to the last block end inside it, and the reused state is bit-identical to a
fresh evaluation.

Paragraph breaks are where prompts usually turn from a shared preamble (persona,
instructions, answer scale) to the part that varies (the item), so a prefix is reused
up to the item rather than up to the last multiple of 32 before it.
"""

from __future__ import annotations

from collections.abc import Sequence

BLOCK_SIZE = 32
SCHEME = f"blocks{BLOCK_SIZE}+paragraphs"  # part of llama.cpp results' cache keys


def ends_paragraph(pieces: Sequence[str]) -> list[bool]:
    """``ends[i]``: the text of tokens ``0..i`` ends with a blank line.

    ``pieces`` are the tokens' texts; tokenizers that split ``"\\n\\n"`` into two
    ``"\\n"`` tokens (SmolLM2) and those with one ``"\\n\\n"`` token (Gemma) agree.
    """
    ends: list[bool] = []
    tail = ""
    for piece in pieces:
        tail = (tail + piece)[-2:]
        ends.append(tail == "\n\n")
    return ends


def block_ends(paragraph_ends: Sequence[bool]) -> list[int]:
    """The positions where the rule ends a block: the positions a cached evaluation of
    any prompt with the same prefix can be resumed from.

    A block ends after token ``i`` (position ``i + 1``) if ``paragraph_ends[i]`` or the
    block has reached ``BLOCK_SIZE`` tokens. The prompt's last block ends at
    ``len(paragraph_ends)`` whether or not that position is listed.
    """
    ends: list[int] = []
    start = 0
    for i, paragraph in enumerate(paragraph_ends):
        if paragraph or i + 1 - start == BLOCK_SIZE:
            ends.append(i + 1)
            start = i + 1
    return ends
