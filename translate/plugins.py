"""Plugin discovery: entry points in the `translate` group, each loaded in isolation.

A plugin that fails to import (whatever it raises, SystemExit included: only Ctrl-C goes
through), implements a hook that does not exist, or declares an invalid translator is
reported in one line and skipped; the others keep working.
`TRANSLATE_DISABLE_PLUGINS=a,b` blocks plugins by entry-point name.

Loading a plugin imports only its entry-point module; what it contributes (translators,
sources, importers) is collected on first use, so `translate --help` never imports torch
as long as entry-point modules stay light (the built-in plugins import their networks
inside their hooks).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import pluggy

from translate import hookspecs
from translate.errors import PluginError, TranslateError

if TYPE_CHECKING:
    from pathlib import Path

    from translate.data.source import Source, SourceFactory
    from translate.hub.importers import Importer
    from translate.translator import Translator

ENTRY_POINT_GROUP = "translate"
DISABLE_ENV = "TRANSLATE_DISABLE_PLUGINS"

# Parts of the host that are shaped like plugins; they register like everyone else
# and can be blocked by the same names.
DEFAULT_PLUGINS = {
    "builtin-sources": "translate.builtins.sources",
    "tensorboard": "translate.builtins.tensorboard",
}


@dataclass(frozen=True)
class SourceEntry:
    """A registered `--data` source."""

    name: str
    factory: SourceFactory
    help: str
    plugin: str


class Registry:
    """Everything the loaded plugins contributed, and what went wrong loading them.

    `translators`, `sources` and `importers` are collected from the plugins' hooks on
    first access; collections given to the constructor (tests, a demo of chosen
    translators) are used as they are. `report`, when set, hears each problem as it is
    found; `owner` maps "translator:NAME" (and so on) to the plugin that provided it.
    """

    def __init__(self, pm: pluggy.PluginManager, *,
                 translators: dict[str, type[Translator]] | None = None,
                 sources: dict[str, SourceEntry] | None = None,
                 importers: dict[str, Importer] | None = None) -> None:
        self.pm = pm
        self.owner: dict[str, str] = {}
        self.problems: list[str] = []
        self.report: Callable[[str], None] | None = None
        self._translators, self._sources, self._importers = translators, sources, importers
        self._muted: set[tuple[str, str]] = set()

    @property
    def translators(self) -> dict[str, type[Translator]]:
        if self._translators is None:
            self._translators = {}
            _collect(self, "register_translators", _add_translator)
        return self._translators

    @property
    def sources(self) -> dict[str, SourceEntry]:
        if self._sources is None:
            self._sources = {}
            _collect(self, "register_dataset_sources", _add_source)
        return self._sources

    @property
    def importers(self) -> dict[str, Importer]:
        if self._importers is None:
            self._importers = {}
            _collect(self, "register_importers", _add_importer)
        return self._importers

    def problem(self, text: str) -> None:
        self.problems.append(text)
        if self.report is not None:
            self.report(text)

    def translator(self, name: str) -> type[Translator]:
        """The translator class registered under name, or a one-line error listing the others."""
        try:
            return self.translators[name]
        except KeyError:
            known = ", ".join(sorted(self.translators)) or "none installed"
            raise PluginError(f"no translator named {name!r} (available: {known})") from None

    def open_source(self, spec: str) -> Source:
        """`--data SPEC` opened through the registered sources."""
        from translate.data.sources import open_source

        return open_source(spec, self)

    def load(self, folder: str | Path, *, device: str = "cpu") -> Translator:
        """Load a weights folder, whichever installed translator it names."""
        from translate.hub.layout import read_meta

        return self.translator(read_meta(folder)["translator"]).from_pretrained(
            folder, device=device)

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook on every plugin; one that raises is reported once, then muted."""
        for plugin_name, result in _call_each(self.pm, hook_name, kwargs):
            if isinstance(result, BaseException) and (hook_name, plugin_name) not in self._muted:
                self._muted.add((hook_name, plugin_name))
                print(f"translate: plugin {plugin_name!r} failed in {hook_name} and is muted: "
                      f"{_one_line(result)}", file=sys.stderr)


def load_plugins(disabled: Iterable[str] | None = None) -> Registry:
    """Discover, validate and collect every installed plugin."""
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    registry = Registry(pm)
    blocked = set(disabled if disabled is not None else _disabled_from_env())
    for name in blocked:
        pm.set_blocked(name)

    for name, module in DEFAULT_PLUGINS.items():
        if not pm.is_blocked(name):
            _load_isolated(registry, name, lambda m=module, n=name: pm.register(
                importlib.import_module(m), name=n))

    for name, providers in sorted(_entry_points().items()):
        if pm.is_blocked(name):
            continue
        if len(providers) > 1:
            registry.problem(
                f"plugin {name!r} skipped: provided by several distributions "
                f"({', '.join(sorted(providers))}); uninstall all but one")
            continue
        _load_isolated(registry, name, lambda n=name: pm.load_setuptools_entrypoints(
            ENTRY_POINT_GROUP, name=n))

    return registry


@cache
def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    return load_plugins()


def open_source(spec: str) -> Source:
    """`--data SPEC` opened through the process-wide registry's sources."""
    return get_registry().open_source(spec)


def plugin_names(registry: Registry) -> list[str]:
    """Names of the loaded plugins, built-in ones included."""
    # A blocked name stays listed with no plugin behind it.
    return sorted(name for name, plugin in registry.pm.list_name_plugin() if plugin is not None)


# ---- loading ------------------------------------------------------------------------------


def _disabled_from_env() -> list[str]:
    return [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()]


def _entry_points() -> dict[str, set[str]]:
    """Entry-point name -> the distributions providing it."""
    providers: dict[str, set[str]] = defaultdict(set)
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP:
                providers[ep.name].add(dist.metadata["Name"] or "?")
    return providers


def _load_isolated(registry: Registry, name: str, load: Callable[[], Any]) -> None:
    """Load one plugin; if it fails to import or validate, unregister it and say why."""
    pm = registry.pm
    try:
        load()
        pm.check_pending()
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit too: a plugin must not end the program
        plugin = pm.get_plugin(name)
        if plugin is not None:
            pm.unregister(plugin)
        registry.problem(f"plugin {name!r} skipped: {_one_line(error)}")


def _collect(registry: Registry, hook_name: str, add: Callable[[Registry, str, Any], None]) -> None:
    """Call a register_* hook plugin by plugin, so one failure stays with its plugin."""
    for plugin_name, impl in _impls(registry.pm, hook_name):
        contributed: list[tuple[Any, ...]] = []

        def register(*item: Any, _into: list = contributed) -> None:
            _into.append(item)

        try:
            impl.function(**{arg: register for arg in impl.argnames})
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            registry.problem(f"plugin {plugin_name!r} failed in {hook_name}: {_one_line(error)}")
            continue
        for item in contributed:
            try:
                add(registry, plugin_name, *item)
            except TranslateError as error:
                registry.problem(f"plugin {plugin_name!r}: {error}")


def _add_translator(registry: Registry, plugin: str, cls: Any) -> None:
    from translate.translator import Translator

    if not (isinstance(cls, type) and issubclass(cls, Translator)):
        raise PluginError(f"registered {cls!r}, which is not a Translator subclass; skipped")
    cls.validate()
    _claim(registry, "translator", cls.name, plugin)
    registry._translators[cls.name] = cls


def _add_source(registry: Registry, plugin: str, name: str, factory: Any, help: str = "") -> None:
    if not callable(factory):
        raise PluginError(f"dataset source {name!r} has no callable factory; skipped")
    _claim(registry, "dataset source", name, plugin)
    registry._sources[name] = SourceEntry(name, factory, help, plugin)


def _add_importer(registry: Registry, plugin: str, importer: Any) -> None:
    from translate.hub.importers import Importer

    if not isinstance(importer, Importer):
        raise PluginError(f"registered {importer!r}, which is not an Importer; skipped")
    _claim(registry, "importer", importer.translator, plugin)
    registry._importers[importer.translator] = importer


def _claim(registry: Registry, kind: str, name: str, plugin: str) -> None:
    key = f"{kind}:{name}"
    if key in registry.owner:
        raise PluginError(f"{kind} {name!r} is already provided by plugin "
                          f"{registry.owner[key]!r}; duplicate skipped")
    registry.owner[key] = plugin


# ---- calling --------------------------------------------------------------------------------


def _impls(pm: pluggy.PluginManager, hook_name: str) -> list[tuple[str, Any]]:
    hook = getattr(pm.hook, hook_name, None)  # absent from a bare manager with no hookspecs
    impls = hook.get_hookimpls() if hook is not None else []
    return sorted(((impl.plugin_name, impl) for impl in impls), key=lambda pair: pair[0])


def _call_each(pm: pluggy.PluginManager, hook_name: str, kwargs: dict[str, Any]):
    """Yield (plugin name, result or exception) for each implementation of a hook."""
    for plugin_name, impl in _impls(pm, hook_name):
        try:
            yield plugin_name, impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            yield plugin_name, error


def call_each(registry: Registry, hook_name: str, **kwargs: Any) -> list[str]:
    """Call a hook on every plugin in isolation; return one line per plugin that failed."""
    return [f"plugin {name!r} failed in {hook_name}: {_one_line(result)}"
            for name, result in _call_each(registry.pm, hook_name, kwargs)
            if isinstance(result, BaseException)]


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
