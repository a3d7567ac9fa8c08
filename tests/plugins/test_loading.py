"""Discovery through entry points, with each plugin isolated from the others' failures."""

from __future__ import annotations

import pytest

from support.drawing import DrawTranslator
from translate.errors import PluginError
from translate.plugins import load_plugins, plugin_names

# A valid translator that reuses the test-only networks under another name.
OTHER_TRANSLATOR = """
from translate import hookimpl
from support.drawing import DrawTranslator

class Other(DrawTranslator):
    name = "{name}"

@hookimpl
def register_translators(register):
    register(Other)
"""

# The test-only translator itself, as a plugin provides it.
DRAW_PLUGIN = """
from translate import hookimpl

@hookimpl
def register_translators(register):
    from support.drawing import DrawTranslator
    register(DrawTranslator)
"""


@pytest.fixture
def draw_plugin(install_plugin):
    """The `draw` translator installed as the plugin `drawing`: a working plugin beside others."""
    install_plugin(DRAW_PLUGIN, entry_point="drawing")


def test_installed_plugins_and_builtins_are_discovered(draw_plugin):
    registry = load_plugins()
    assert registry.translators["draw"] is DrawTranslator
    assert registry.owner["translator:draw"] == "drawing"
    assert {"drawing", "builtin-sources", "tensorboard"} <= set(plugin_names(registry))
    assert registry.problems == []


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(install_plugin, draw_plugin):
    install_plugin("import not_a_module_anywhere\n", entry_point="broken")
    registry = load_plugins()
    assert registry.problems == [
        "plugin 'broken' skipped: ModuleNotFoundError: No module named 'not_a_module_anywhere'"]
    assert "draw" in registry.translators


def test_a_hook_that_does_not_exist_fails_validation(install_plugin, draw_plugin):
    install_plugin("""
        from translate import hookimpl

        @hookimpl
        def register_translatorz(register):
            pass
    """, entry_point="typo")
    registry = load_plugins()
    [problem] = registry.problems
    assert problem.startswith("plugin 'typo' skipped: PluginValidationError")
    assert "typo" not in plugin_names(registry)
    assert "draw" in registry.translators


def test_an_invalid_translator_is_skipped_but_valid_ones_stay(install_plugin):
    install_plugin("""
        from translate import Translator, hookimpl
        from support.drawing import DrawTranslator

        class NoFullPreset(DrawTranslator):
            name = "nofull"
            presets = {"starter": {}}

        class Fine(DrawTranslator):
            name = "fine"

        class Unfinished(Translator):
            name = "unfinished"

        @hookimpl
        def register_translators(register):
            register(NoFullPreset)
            register(Fine)
            register(Unfinished)
            register(object)
    """, entry_point="mixed")
    registry = load_plugins()
    assert "fine" in registry.translators and "nofull" not in registry.translators
    assert any("'nofull'" in p and "presets must include 'starter' and 'full'" in p
               for p in registry.problems)
    assert any("not a Translator subclass" in p for p in registry.problems)
    assert any("'unfinished'" in p and "methods not written: build_discriminators" in p
               for p in registry.problems)
    assert all("\n" not in p for p in registry.problems)


def test_a_duplicate_translator_name_is_a_clear_error(install_plugin, draw_plugin):
    install_plugin(OTHER_TRANSLATOR.format(name="draw"), entry_point="zz-clash")
    registry = load_plugins()
    assert registry.translators["draw"] is DrawTranslator
    assert registry.problems == ["plugin 'zz-clash': translator 'draw' is already provided "
                                 "by plugin 'drawing'; duplicate skipped"]


def test_the_same_entry_point_from_two_distributions_is_refused(install_plugin):
    install_plugin(OTHER_TRANSLATOR.format(name="one"), entry_point="twin", distribution="dist-a")
    install_plugin(OTHER_TRANSLATOR.format(name="two"), entry_point="twin", distribution="dist-b")
    registry = load_plugins()
    assert registry.problems == ["plugin 'twin' skipped: provided by several distributions "
                                 "(dist-a, dist-b); uninstall all but one"]


def test_a_register_hook_that_raises_loses_only_its_own_contributions(install_plugin,
                                                                      draw_plugin):
    install_plugin("""
        from translate import hookimpl
        from support.drawing import DrawTranslator

        class Half(DrawTranslator):
            name = "half"

        @hookimpl
        def register_translators(register):
            register(Half)
            raise RuntimeError("boom")
    """, entry_point="raiser")
    registry = load_plugins()
    assert "half" not in registry.translators and "draw" in registry.translators
    assert registry.problems == ["plugin 'raiser' failed in register_translators: "
                                 "RuntimeError: boom"]


def test_plugins_can_be_disabled_by_environment(monkeypatch, draw_plugin):
    monkeypatch.setenv("TRANSLATE_DISABLE_PLUGINS", "drawing, tensorboard")
    registry = load_plugins()
    assert "draw" not in registry.translators
    assert "tensorboard" not in plugin_names(registry)
    assert "builtin-sources" in plugin_names(registry)


def test_unknown_translator_names_the_available_ones(draw_plugin):
    available = r"no translator named 'nope' \(available: [a-z0-9_, -]*draw"
    with pytest.raises(PluginError, match=available):
        load_plugins().translator("nope")
