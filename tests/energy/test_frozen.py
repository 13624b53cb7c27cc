"""``set_directly``: the same instances as the dataclass's own ``__init__`` builds, still frozen."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from enphase_secure.energy.frozen import set_directly


@dataclass(frozen=True, slots=True)
class Plain:
    a: float
    b: tuple[int, ...] = ()
    c: str | None = "x"


@set_directly
@dataclass(frozen=True, slots=True)
class Direct:  # Plain with the cheaper __init__
    a: float
    b: tuple[int, ...] = ()
    c: str | None = "x"


def test_the_same_fields_defaults_and_errors_as_the_dataclass_init() -> None:
    cases: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((1.0,), {}),
        ((1.0, (2,)), {"c": None}),
        ((), {"a": 3.0, "c": "y"}),
    ]
    for args, kwargs in cases:
        direct, plain = Direct(*args, **kwargs), Plain(*args, **kwargs)  # type: ignore[arg-type]
        assert dataclasses.astuple(direct) == dataclasses.astuple(plain)
    assert Direct(1.0) == Direct(a=1.0, b=(), c="x")
    with pytest.raises(TypeError):
        Direct()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Direct(1.0, d=2)  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Direct(1.0).a = 2.0  # type: ignore[misc]
    assert dataclasses.replace(Direct(1.0), c=None) == Direct(1.0, (), None)


def test_only_for_frozen_slotted_dataclasses_with_plain_defaults() -> None:
    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(slots=True)
    class Mutable:
        a: int

    for cls in (Factory, Mutable):
        with pytest.raises(TypeError):
            set_directly(cls)
