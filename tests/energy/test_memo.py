"""last_call: the last result again only for the very same argument objects."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from enphase_secure.energy.memo import last_call


def counted() -> tuple[list[tuple[object, object]], Callable[[object, object], tuple[object, object]]]:
    calls: list[tuple[object, ...]] = []

    @last_call
    def pair(a: object, b: object) -> tuple[object, object]:
        calls.append((a, b))
        return (a, b)

    return calls, pair


A, B = (1.5, "x"), (2.5, "y")


@pytest.mark.parametrize(
    ("sequence", "computed"),
    [
        ([(A, B), (A, B)], 1),  # the same objects: computed once
        ([(A, B), (B, A)], 2),
        ([(A, B), (A, B), (B, B), (A, B)], 3),  # one entry: the last call only
        ([(A, B), ((*A,), B)], 2),  # equal but another object: computed again
        ([(None, None), (None, None)], 1),
    ],
)
def test_last_call(sequence: list[tuple[object, object]], computed: int) -> None:
    calls, pair = counted()
    for a, b in sequence:
        result = pair(a, b)
        assert result == (a, b)
        assert result[0] is a
        assert result[1] is b
    assert len(calls) == computed
