"""Turning a translator's declared inputs into click arguments and options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from translate.types import Param

if TYPE_CHECKING:
    from translate.translator import Translator


def option_name(param: Param) -> str:
    return "--" + param.name.replace("_", "-")


def positional_image(cls: type[Translator]) -> Param | None:
    """The image input that the CLI takes as INPUT..., if the translator has one."""
    return next((p for p in cls.inputs if p.kind == "image"), None)


def click_parameters(params: tuple[Param, ...], positional: Param | None) -> list[click.Parameter]:
    """One click parameter per declared input."""
    built: list[click.Parameter] = []
    for param in params:
        if param is positional:
            built.append(click.Argument(["inputs"], nargs=-1, required=True, metavar="INPUT..."))
            continue
        built.append(_option(param))
    return built


def _option(param: Param) -> click.Option:
    help_text = param.help + (f" [default: {param.default}]" if param.default is not None else "")
    decls = [option_name(param), param.name]
    kwargs: dict[str, Any] = {"help": help_text, "default": param.default, "show_default": False}
    if param.kind == "bool":
        decls = [f"{option_name(param)}/--no-{param.name.replace('_', '-')}", param.name]
        kwargs["default"] = bool(param.default)
    elif param.kind in ("image", "mask"):
        kwargs.update(type=click.Path(dir_okay=False), metavar="FILE",
                      required=param.default is None)
    elif param.kind == "file":  # any other file, e.g. a second checkpoint; always optional
        kwargs.update(type=click.Path(dir_okay=False), metavar="FILE")
    elif param.kind == "choice":
        kwargs["type"] = click.Choice(param.choices)
    elif param.kind in ("int", "seed"):
        unbounded = param.low is None and param.high is None
        kwargs["type"] = click.INT if unbounded else click.IntRange(_bound(param.low),
                                                                    _bound(param.high))
    elif param.kind == "float":
        unbounded = param.low is None and param.high is None
        kwargs["type"] = click.FLOAT if unbounded else click.FloatRange(param.low, param.high)
    return click.Option(decls, **kwargs)


def _bound(value: float | None) -> int | None:
    return None if value is None else int(value)
