"""A cheaper ``__init__`` for the frozen, slotted dataclasses that every tick builds by the dozen.

A frozen dataclass's ``__init__`` sets each field with ``object.__setattr__`` (its own ``__setattr__``
refuses): the generic attribute machinery, twice the cost of calling the field's slot descriptor, which
is what ``set_directly`` does instead, with the same parameters and defaults. Instances stay frozen.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

Cls = TypeVar("Cls", bound=type[Any])


def set_directly(cls: Cls) -> Cls:
    """``cls`` (a frozen dataclass with slots, plain defaults) with an ``__init__`` that calls each
    field's slot setter; applied above ``@dataclass``."""
    fields = dataclasses.fields(cls)
    if not cls.__dataclass_params__.frozen or "__slots__" not in vars(cls) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: a frozen dataclass with slots and no __post_init__")
    if any(f.default_factory is not dataclasses.MISSING or not f.init or f.kw_only for f in fields):
        raise TypeError(f"{cls.__name__}: every field an argument, with a plain default if any")
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    signature = ", ".join(f"{f.name}=_default_{f.name}" if f.name in defaults else f.name for f in fields)
    body = "".join(f"\n    _set_{f.name}(self, {f.name})" for f in fields)
    scope: dict[str, Any] = {f"_set_{f.name}": getattr(cls, f.name).__set__ for f in fields}
    scope |= {f"_default_{name}": value for name, value in defaults.items()}
    exec(f"def __init__(self, {signature}) -> None:{body}", scope)  # noqa: S102  # as dataclasses does
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init
    return cls
