"""A class decorator that checks every attrs field against its annotation on construction.

Named constructors validate values with their rules; this check covers every other way a model
object is made (``attrs.evolve``, direct construction, storage reads), so a wrong type is a
:class:`ValidationError` naming the field instead of bad data stored and failing later.
Supported annotations: ``str``, ``int`` (a ``bool`` is not an ``int`` here), ``float`` (an
``int`` is accepted; NaN and infinities are not), ``bool``, ``datetime``, enums and other
classes, ``X | None``, ``tuple[X, ...]``, ``frozenset[X]``, ``Mapping[str, str]`` and ``Any``.
"""

from __future__ import annotations

import contextlib
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from learnprog.errors import LearnprogError, ValidationError

C = TypeVar("C", bound=type)
T = TypeVar("T")
_Check = Callable[[object], bool]


def _anything(value: object) -> bool:
    return True


def _checker(annotation: Any) -> _Check:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return _anything
    if origin in (typing.Union, types.UnionType):
        options = [_checker(a) for a in args]
        if len(options) == 2 and type(None) in args:  # X | None: the common case, made fast
            inner = options[0] if args[1] is type(None) else options[1]
            return lambda v: v is None or inner(v)
        return lambda v: any(check(v) for check in options)
    if annotation is type(None):
        return lambda v: v is None
    if annotation is bool:
        return lambda v: isinstance(v, bool)
    if annotation is str:
        return lambda v: type(v) is str or isinstance(v, str)
    if annotation is int:
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if annotation is float:
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    if origin is tuple:
        item = _checker(args[0]) if args else (lambda v: True)
        return lambda v: isinstance(v, tuple) and all(item(i) for i in v)
    if origin is list:
        item = _checker(args[0]) if args else _anything
        if item is _anything:
            return lambda v: isinstance(v, list)
        return lambda v: isinstance(v, list) and all(item(i) for i in v)
    if origin is frozenset:
        item = _checker(args[0]) if args else (lambda v: True)
        return lambda v: isinstance(v, frozenset) and all(item(i) for i in v)
    if origin in (Mapping, typing.Mapping, dict):
        key, value = (_checker(args[0]), _checker(args[1])) if args else (_anything, _anything)
        if value is _anything:
            return lambda v: isinstance(v, Mapping) and all(key(k) for k in v)
        return lambda v: isinstance(v, Mapping) and all(key(k) and value(x) for k, x in v.items())
    if isinstance(annotation, type):
        return lambda v: isinstance(v, annotation)
    raise TypeError(f"unsupported annotation {annotation!r}")  # a programming error


def _expression(annotation: Any, env: dict[str, Any], v: str = "v") -> str:
    """Return a Python expression that is true when the variable ``v`` fits ``annotation``.

    Simple annotations become inline tests (fast: this runs for every model object made), and
    so do the keys and values of a mapping of simple types (an audit entry's changes); other
    containers call a checker function put in ``env``.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return "True"
    if annotation is type(None):
        return f"{v} is None"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(f"({_expression(a, env, v)})" for a in args)
    if annotation is bool:
        return f"{v}.__class__ is bool"
    if annotation is str:
        return f"({v}.__class__ is str or isinstance({v}, str))"
    if annotation is int:
        return f"({v}.__class__ is int or (isinstance({v}, int) and not isinstance({v}, bool)))"
    if annotation is float:
        return f"(isinstance({v}, (int, float)) and not isinstance({v}, bool) and _isfinite({v}))"
    if origin is None and isinstance(annotation, type):
        name = f"_t{len(env)}"
        env[name] = annotation
        return f"isinstance({v}, {name})"
    if origin is list and args in ((), (Any,)):
        return f"isinstance({v}, list)"
    if origin in (Mapping, typing.Mapping, dict) and args and v == "v":  # one level inline
        env["_Mapping"] = Mapping
        key, value = _expression(args[0], env, "k"), _expression(args[1], env, "x")
        return f"(isinstance(v, _Mapping) and all(({key}) and ({value}) for k, x in v.items()))"
    name = f"_c{len(env)}"
    env[name] = _checker(annotation)
    return f"{name}({v})"


def checked(cls: C) -> C:
    """Make ``cls.__init__`` check each field's value against its annotation.

    The check is compiled once per class into one function of inline tests. Where the
    class's own rules (``__attrs_post_init__``) fail on a value of the wrong type
    (``0 <= "50"``), the error is the check's, naming the field, not a ``TypeError``.

    Raises (from the decorated class's constructor):
        ValidationError: a field holds a value of the wrong type; the error names the field.
    """
    hints = typing.get_type_hints(cls)
    env: dict[str, Any] = {"_isfinite": math.isfinite}
    lines = ["def _check(self):"]
    for f in attrs.fields(cls):
        lines.append(f"    v = self.{f.name}")
        hint = hints[f.name]
        args = typing.get_args(hint)
        if typing.get_origin(hint) in (Mapping, typing.Mapping, dict) and args:
            # a mapping's items in a loop (an audit entry's changes): no generator per object
            env["_Mapping"] = Mapping
            key, value = _expression(args[0], env, "k"), _expression(args[1], env, "x")
            lines.append(f"    if not isinstance(v, _Mapping): return {f.name!r}, v")
            lines.append("    for k, x in v.items():")
            lines.append(f"        if not (({key}) and ({value})): return {f.name!r}, v")
        else:
            lines.append(f"    if not ({_expression(hint, env)}): return {f.name!r}, v")
    lines.append("    return None")
    exec(compile("\n".join(lines), f"<checks of {cls.__name__}>", "exec"), env)
    check: Callable[[Any], tuple[str, Any] | None] = env["_check"]
    original: Callable[..., None] = vars(cls)["__init__"]

    def refuse_wrong_types(self: Any) -> None:
        bad = check(self)
        if bad is not None:
            name, value = bad
            raise ValidationError(
                f"{cls.__name__}.{name} cannot be {type(value).__name__} {value!r:.80}",
                field=name,
                value=value,
            )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        try:
            original(self, *args, **kwargs)
        except LearnprogError:
            raise
        except Exception:
            # The class's own rules (__attrs_post_init__) compared a value of the wrong type
            # ('0 <= "50"'): that wrong type is the error to give, once every field is set.
            with contextlib.suppress(AttributeError):  # attrs failed before every field was set
                refuse_wrong_types(self)
            raise
        if check(self) is not None:  # the common case asks check() alone
            refuse_wrong_types(self)

    __init__.__doc__ = original.__doc__
    cls.__init__ = __init__  # type: ignore[misc]
    cls.__unchecked_init__ = original  # type: ignore[attr-defined]
    return cls


def from_storage(cls: type[T], **values: Any) -> T:
    """Make a :func:`checked` class's object from values that storage checked when written.

    For storage adapters reading millions of rows (reports): the class's attrs ``__init__``
    runs (converters included) but not the annotation checks, which the values passed when
    they were stored. Anything else must use the class itself.
    """
    obj = cls.__new__(cls)
    cls.__unchecked_init__(obj, **values)  # type: ignore[attr-defined]
    return obj
