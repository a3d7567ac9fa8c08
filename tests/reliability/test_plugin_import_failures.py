"""Plugin import failures (ImportError, SystemExit): one plugin's failure costs only itself.

A plugin whose import raises anything but KeyboardInterrupt (SystemExit included, which
used to end `translate list` with exit 1 and nothing listed) is reported in one line and
skipped; the CLI and the other plugins keep working. Also in tests/plugins/test_loading.py.
"""

from __future__ import annotations

import pytest

from translate.cli import main
from translate.plugins import load_plugins

FAILURES = {
    "ImportError": ("import not_a_module_anywhere\n",
                    "ModuleNotFoundError: No module named 'not_a_module_anywhere'"),
    "SystemExit(1)": ("raise SystemExit(1)\n", "SystemExit: 1"),
    "SystemExit(0)": ("import sys\nsys.exit(0)\n", "SystemExit: 0"),
    "SystemExit(text)": ("raise SystemExit('no GPU here, bye')\n", "SystemExit: no GPU here, bye"),
    "a RuntimeError": ("raise RuntimeError('CUDA driver too old')\n",
                       "RuntimeError: CUDA driver too old"),
}
REGISTER_EXITS = """
from translate import hookimpl

@hookimpl
def register_translators(register):
    raise SystemExit(3)
"""


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_plugin_failing_at_import_is_skipped_and_the_cli_lists_the_rest(
        install_plugin, capsys, failure):
    source, reason = FAILURES[failure]
    install_plugin(source, entry_point="broken")
    code = main(["list"], registry=load_plugins())
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"warning: plugin 'broken' skipped: {reason}\n" in err
    assert "digits       class-conditional generation  [plugin digits]" in out
    assert "broken" not in out.split("plugins: ")[1]
    assert "Traceback" not in err


def test_a_plugin_exiting_in_a_register_hook_loses_only_its_contributions(install_plugin,
                                                                          capsys):
    install_plugin(REGISTER_EXITS, entry_point="quitter")
    code = main(["list"], registry=load_plugins())
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "warning: plugin 'quitter' failed in register_translators: SystemExit: 3\n" in err
    assert "digits " in out


def test_keyboard_interrupt_is_not_swallowed(install_plugin):
    install_plugin("raise KeyboardInterrupt\n", entry_point="interrupted")
    with pytest.raises(KeyboardInterrupt):
        load_plugins()


def test_a_failing_plugin_does_not_change_what_the_others_do(install_plugin, capsys, tmp_path):
    install_plugin("raise SystemExit(1)\n", entry_point="broken")
    code = main(["infer", "digits", "--count", "2", "--out", str(tmp_path)],
                registry=load_plugins())
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"wrote 2 image(s) to {tmp_path}" in out
    assert len(list(tmp_path.glob("*.png"))) == 2
