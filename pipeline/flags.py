"""Command-line flags derived from the settings model: ``--web-port`` is ``DIPWIRE_WEB_PORT``.

Every field of :class:`~pipeline.settings.Settings` except the secrets (a
password on a command line shows in ``ps``) becomes a flag named after it; its
help is the field's description, its choices the field's ``Literal`` values,
and a flag given on the command line wins over the environment. Values are
validated by the model itself, so a flag and its variable accept the same
things (:func:`pipeline.exits.load_settings`).
"""

from __future__ import annotations

import argparse
import types
import typing
from typing import Any, Literal

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from pipeline.settings import Settings, env_name

__all__ = ["add_setting_flags", "given_flags", "setting_fields"]

_DEST = "setting__"
"""Prefix of the argparse destinations of setting flags, apart from a command's own options."""


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types of a union (``int | None`` gives ``int, None``), or the type itself."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def setting_fields() -> dict[str, FieldInfo]:
    """The fields that get a flag: all but the secrets."""
    return {
        name: field
        for name, field in Settings.model_fields.items()
        if SecretStr not in _members(field.annotation)
    }


def _default_text(name: str, field: FieldInfo) -> str:
    if name == "kafka_bootstrap_servers":
        return "unset: start the embedded broker"
    if field.default_factory is not None:
        return "none"
    value = field.default
    if isinstance(value, bool):
        return str(value).lower()
    return "unset" if value is None else repr(value) if value == "" else str(value)


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting to ``parser``, in a group of their own."""
    group = parser.add_argument_group(
        "settings", "each flag overrides its environment variable (see the README's Configuration)"
    )
    for name, field in setting_fields().items():
        kinds = _members(field.annotation)
        kind = kinds[0] if len(kinds) == 1 else kinds
        description = (field.description or "").replace("%", "%%")
        text = f"{description} [{env_name(name)}; default: {_default_text(name, field)}]".strip()
        options: dict[str, Any] = {"dest": _DEST + name, "default": None, "help": text}
        if isinstance(kind, tuple):  # ``int | Literal["auto"]``: N|auto
            options["metavar"] = "|".join(_metavar(k) for k in kind)
        elif kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is Literal:
            options["choices"] = [str(c) for c in typing.get_args(kind)]
        else:
            options["metavar"] = _metavar(kind)
        group.add_argument("--" + name.replace("_", "-"), **options)


def _metavar(kind: Any) -> str:
    if typing.get_origin(kind) is Literal:
        return "|".join(str(c) for c in typing.get_args(kind))
    if typing.get_origin(kind) is list:
        return "PATH[:PATH...]"
    names = {int: "N", float: "X", str: "TEXT"}
    return names.get(kind, "PATH")


def given_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The setting flags given on the command line, by field name."""
    return {
        key.removeprefix(_DEST): value
        for key, value in vars(args).items()
        if key.startswith(_DEST) and value is not None
    }
