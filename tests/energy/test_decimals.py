"""round3 gives round(value, 3) bit for bit: the same float, the same sign of zero, the same type."""

from __future__ import annotations

import math
import random
import struct

import pytest

from enphase_secure.energy.decimals import round3


def same(a: float, b: float) -> bool:
    return type(a) is type(b) and (struct.pack("<d", a) == struct.pack("<d", b) or (a != a and b != b))


def sampled(seed: int, count: int) -> list[float]:
    """Gateway-like values (mWh counters, their sums and differences with float noise), ties and
    values on either side of them, and values of every magnitude."""
    rng = random.Random(seed)
    values: list[float] = []
    for _ in range(count):
        mwh = rng.randint(-(10**10), 10**10)
        values += [
            mwh / 1000,
            mwh / 1000 + rng.choice([1e-9, -1e-9, 1e-12, -1e-12]),
            (mwh + 0.5) / 1000,
            (mwh + 0.5) / 1000 + rng.choice([1e-9, -1e-9]),
            rng.randint(0, 10**7) / 1000 - rng.randint(0, 10**7) / 1000,
            rng.uniform(-1e7, 1e7),
            rng.uniform(-1.0, 1.0) * 10.0 ** rng.randint(-20, 20),
        ]
    return values


EDGES = [
    0.0,
    -0.0,
    1e-4,
    -1e-4,
    0.0005,
    -0.0005,
    0.0015,
    0.49e-3,
    0.51e-3,
    -0.51e-3,
    2.675,  # a decimal tie that is not one in binary
    5e-324,
    8.79e9,
    8.8e9,  # 2**43 / 1000: the fast way's bound
    -8.8e9,
    1e16,
    1e300,
    -1e300,
    math.inf,
    -math.inf,
    math.nan,
]


@pytest.mark.parametrize("value", EDGES)
def test_edges(value: float) -> None:
    assert same(round3(value), round(value, 3))


@pytest.mark.parametrize("seed", range(4))
def test_sampled_values(seed: int) -> None:
    mismatches = [v for v in sampled(seed, 20_000) if not same(round3(v), round(v, 3))]
    assert mismatches == []


@pytest.mark.parametrize("value", [0, 7, -12_345_678, 10**20])
def test_an_integer_stays_an_integer(value: int) -> None:
    assert round3(value) == value
    assert type(round3(value)) is int
