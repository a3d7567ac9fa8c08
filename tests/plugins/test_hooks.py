"""Every hook in translate.hookspecs, exercised through a plugin installed like a real one."""

from __future__ import annotations

import importlib

import pytest
import torch

from support.drawing import DrawTranslator, draw_config
from translate.cli import main
from translate.data.sources import digits_source
from translate.engine.trainer import train
from translate.hookspecs import hookspec
from translate.hub.pretrained import from_pretrained
from translate.plugins import load_plugins

HOOKS = [name for name in dir(importlib.import_module("translate.hookspecs"))
         if hasattr(getattr(importlib.import_module("translate.hookspecs"), name),
                    f"{hookspec.project_name}_spec")]


def test_every_hookspec_has_a_one_line_docstring_and_a_docs_entry():
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "hooks.md").read_text()
    module = importlib.import_module("translate.hookspecs")
    assert len(HOOKS) == 8
    for name in HOOKS:
        doc = getattr(module, name).__doc__
        assert doc and "\n" not in doc.strip(), name
        assert f"## {name}(" in docs, f"docs/hooks.md does not document {name}"


OBSERVER = """
from translate import hookimpl

calls = []

@hookimpl
def on_train_start(run):
    calls.append(("start", run.translator, run.start_step))

@hookimpl
def on_train_log(run, step, metrics):
    calls.append(("log", step, sorted(metrics)))

@hookimpl
def on_sample_grid(run, step, path):
    calls.append(("grid", step, path.name))

@hookimpl
def on_train_end(run, weights):
    calls.append(("end", weights.name))
"""

FAILING_OBSERVER = """
from translate import hookimpl

@hookimpl
def on_train_log(run, step, metrics):
    raise RuntimeError("logger is down")
"""


def tiny_train(tmp_path, registry):
    config = draw_config(batch_size=8, steps=4, log_every=2, sample_every=4, checkpoint_every=4,
                         evaluate_at_end="false")
    source = digits_source()
    return train(DrawTranslator, config, train_source=source.split("train"),
                 heldout_source=source.split("heldout"), out_dir=tmp_path / "run",
                 device="cpu", progress=False, observer=registry.notify, command="test")


def test_training_observers_see_start_logs_grids_and_end(tmp_path, install_plugin, capsys):
    module = install_plugin(OBSERVER, entry_point="observer")
    install_plugin(FAILING_OBSERVER, entry_point="flaky")
    registry = load_plugins()
    tiny_train(tmp_path, registry)
    calls = importlib.import_module(module).calls
    assert calls[0] == ("start", "draw", 0)
    logs = [c for c in calls if c[0] == "log"]
    assert [c[1] for c in logs] == [2, 4]
    assert {"D/real", "D/fake", "G/adversarial", "lr/G", "lr/D", "grad_norm/G",
            "images_per_second"} <= set(logs[0][2])
    assert ("grid", 4, "step_0000004.png") in calls
    assert calls[-1] == ("end", "weights")
    # The broken logger was reported once, then muted; training finished regardless.
    err = capsys.readouterr().err
    assert err.count("plugin 'flaky' failed in on_train_log and is muted: "
                     "RuntimeError: logger is down") == 1


def test_register_dataset_sources_adds_a_data_spec(install_plugin):
    install_plugin("""
        from translate import hookimpl
        from translate.data.sources import digits_source

        def evens(argument):
            source = digits_source()
            source.images = source.images[::2]
            source._labels = source._labels[::2]
            source.name = f"evens:{argument}"
            return source

        @hookimpl
        def register_dataset_sources(register):
            register("evens", evens, "every other bundled digit")
    """, entry_point="evens")
    registry = load_plugins()
    assert registry.sources["evens"].plugin == "evens"
    source = registry.open_source("evens:x")
    assert len(source) == 899 and source.name == "evens:x"


def test_register_commands_adds_a_cli_command(install_plugin, capsys):
    install_plugin("""
        import click
        from translate import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command()
            @click.argument("who")
            def hello(who):
                "Say hello."
                click.echo(f"hello {who}")
    """, entry_point="greeter")
    install_plugin("""
        from translate import hookimpl

        @hookimpl
        def register_commands(cli):
            raise RuntimeError("no commands today")
    """, entry_point="grumpy")
    registry = load_plugins()
    assert main(["hello", "world"], registry=registry) == 0
    out, err = capsys.readouterr()
    assert out == "hello world\n"
    assert "warning: plugin 'grumpy' failed in register_commands: RuntimeError" in err


IMPORTER = """
from translate import Param, hookimpl
from translate.hub.importers import Importer

# The "reference" layout names the generator "netG" instead of "G"; the user says its width.
def detect(state, width):
    return {"width": width} if all(k.startswith("netG.") for k in state) else None

def rename(state, config, role):
    return {k.replace("netG.", "G.", 1): v for k, v in state.items()}

@hookimpl
def register_translators(register):
    from support.drawing import DrawTranslator
    register(DrawTranslator)

@hookimpl
def register_importers(register):
    register(Importer(translator="draw", description="netG.* state dicts", detect=detect,
                      filter=rename, preset="starter",
                      options=(Param(name="width", kind="int", default=32, help="G width"),)))
"""


def test_register_importers_backs_translate_import(tmp_path, install_plugin, capsys):
    install_plugin(IMPORTER, entry_point="importer")
    registry = load_plugins()
    torch.manual_seed(0)
    source = DrawTranslator(draw_config(width=6))
    state = {f"module.netG.{k[2:]}": v for k, v in source.generators.state_dict().items()}
    torch.save({"state_dict": state}, tmp_path / "latest_net_G.pth")

    code = main(["import", "draw", str(tmp_path / "latest_net_G.pth"), "--out",
                 str(tmp_path / "imported"), "--width", "6"], registry=registry)
    assert code == 0, capsys.readouterr().err
    loaded = from_pretrained(tmp_path / "imported", expected=DrawTranslator)
    for key, value in source.generators.state_dict().items():
        assert torch.equal(value, loaded.generators.state_dict()[key])
    card = (tmp_path / "imported" / "README.md").read_text()
    assert "translate import draw" in card


class Payload:
    """Anything torch.load would have to unpickle by running code."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_import_refuses_pickles_that_carry_code(tmp_path, install_plugin, capsys):
    install_plugin(IMPORTER, entry_point="importer")
    torch.save({"state_dict": {"x": Payload()}}, tmp_path / "evil.pth")
    code = main(["import", "draw", str(tmp_path / "evil.pth"), "--out", str(tmp_path / "o")],
                registry=load_plugins())
    out, err = capsys.readouterr()
    assert code == 1 and "this must never run" not in out
    assert err.startswith("error: ") and "refused: the pickle asks for" in err
    assert "weights_only" not in err
    assert err.count("\n") == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("hook", HOOKS)
def test_each_hook_is_implemented_by_a_test_plugin(hook):
    from pathlib import Path

    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    assert f"def {hook}(" in sources, f"no test plugin implements {hook}"
