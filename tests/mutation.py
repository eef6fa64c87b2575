"""Random damage to a file's bytes, drawn by hypothesis (for the fuzz tests)."""

from __future__ import annotations

from hypothesis import strategies as st


def mutated(data, content: bytes, *, edits: int, chunk: int) -> bytes:
    """``content`` after 1 to ``edits`` random edits: a byte flipped, the tail cut, up to
    ``chunk`` bytes inserted or deleted (``data`` is hypothesis's ``st.data()``)."""
    content = bytearray(content)
    for _ in range(data.draw(st.integers(1, edits))):
        where = data.draw(st.integers(0, len(content) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if action == "flip":
            content[where] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del content[where:]
        elif action == "insert":
            content[where:where] = data.draw(st.binary(min_size=1, max_size=chunk))
        else:
            del content[where : where + data.draw(st.integers(1, chunk))]
        if not content:
            break
    return bytes(content)
