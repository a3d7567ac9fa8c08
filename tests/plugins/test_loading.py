"""Discovery through entry points, with each plugin isolated from the others' failures."""

from __future__ import annotations

import pytest

from translate.errors import PluginError
from translate.plugins import load_plugins, plugin_names
from translate_digits.translator import DigitsTranslator

# A valid translator that reuses digits' networks under another name.
OTHER_TRANSLATOR = """
from translate import hookimpl
from translate_digits.translator import DigitsTranslator

class Other(DigitsTranslator):
    name = "{name}"

@hookimpl
def register_translators(register):
    register(Other)
"""


def test_installed_plugins_and_builtins_are_discovered():
    registry = load_plugins()
    assert registry.translators["digits"] is DigitsTranslator
    assert registry.owner["translator:digits"] == "digits"
    assert {"digits", "builtin-sources", "tensorboard"} <= set(plugin_names(registry))
    assert registry.problems == []


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(install_plugin):
    install_plugin("import not_a_module_anywhere\n", entry_point="broken")
    registry = load_plugins()
    assert registry.problems == [
        "plugin 'broken' skipped: ModuleNotFoundError: No module named 'not_a_module_anywhere'"]
    assert "digits" in registry.translators


def test_a_hook_that_does_not_exist_fails_validation(install_plugin):
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
    assert "digits" in registry.translators


def test_an_invalid_translator_is_skipped_but_valid_ones_stay(install_plugin):
    install_plugin("""
        from translate import Translator, hookimpl
        from translate_digits.translator import DigitsTranslator

        class NoFullPreset(DigitsTranslator):
            name = "nofull"
            presets = {"starter": {}}

        class Fine(DigitsTranslator):
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


def test_a_duplicate_translator_name_is_a_clear_error(install_plugin):
    install_plugin(OTHER_TRANSLATOR.format(name="digits"), entry_point="zz-clash")
    registry = load_plugins()
    assert registry.translators["digits"] is DigitsTranslator
    assert registry.problems == ["plugin 'zz-clash': translator 'digits' is already provided "
                                 "by plugin 'digits'; duplicate skipped"]


def test_the_same_entry_point_from_two_distributions_is_refused(install_plugin):
    install_plugin(OTHER_TRANSLATOR.format(name="one"), entry_point="twin", distribution="dist-a")
    install_plugin(OTHER_TRANSLATOR.format(name="two"), entry_point="twin", distribution="dist-b")
    registry = load_plugins()
    assert registry.problems == ["plugin 'twin' skipped: provided by several distributions "
                                 "(dist-a, dist-b); uninstall all but one"]


def test_a_register_hook_that_raises_loses_only_its_own_contributions(install_plugin):
    install_plugin("""
        from translate import hookimpl
        from translate_digits.translator import DigitsTranslator

        class Half(DigitsTranslator):
            name = "half"

        @hookimpl
        def register_translators(register):
            register(Half)
            raise RuntimeError("boom")
    """, entry_point="raiser")
    registry = load_plugins()
    assert "half" not in registry.translators and "digits" in registry.translators
    assert registry.problems == ["plugin 'raiser' failed in register_translators: "
                                 "RuntimeError: boom"]


def test_plugins_can_be_disabled_by_environment(monkeypatch):
    monkeypatch.setenv("TRANSLATE_DISABLE_PLUGINS", "digits, tensorboard")
    registry = load_plugins()
    assert "digits" not in registry.translators
    assert "tensorboard" not in plugin_names(registry)
    assert "builtin-sources" in plugin_names(registry)


def test_unknown_translator_names_the_available_ones():
    available = r"no translator named 'nope' \(available: [a-z, ]*digits"
    with pytest.raises(PluginError, match=available):
        load_plugins().translator("nope")
