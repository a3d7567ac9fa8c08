"""The `translate` command line.

Per-translator commands (`train NAME`, `infer NAME`, `eval NAME`, `import NAME`) are
built from what each translator declares, so `translate infer NAME --help` shows
that translator's own options and a new plugin needs no CLI code.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from translate.cli.params import click_parameters, option_name, positional_image
from translate.config import config_fields, describe_type, field_docs, field_type
from translate.device import DEVICES, pick_device
from translate.errors import TranslateError
from translate.paths import translate_home
from translate.plugins import Registry, call_each, get_registry, plugin_names
from translate.version import __version__

if TYPE_CHECKING:
    from translate.translator import Translator

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# translate.inference.backends.BACKENDS, named here so --help imports no torch.
BACKENDS = ("auto", "eager", "channels_last", "compile", "onnxruntime", "openvino", "bf16",
            "openvino_bf16")
BACKEND_OPTION = click.Option(
    ["--backend"], type=click.Choice(BACKENDS), show_default="auto, or $TRANSLATE_BACKEND",
    default=lambda: os.environ.get("TRANSLATE_BACKEND", "auto"),
    help="Inference engine. auto: on the CPU, the fastest engine installed that matches "
         "PyTorch within 1e-4 (ONNX Runtime with gan-translate[fast]; built once, cached "
         "under $TRANSLATE_HOME/cache); on CUDA, PyTorch. bf16 and openvino_bf16: several "
         "times faster on CPUs with AMX, within 0.1 of PyTorch fp32, not exact.")


class TranslatorGroup(click.Group):
    """A group whose subcommands are the installed translators (or importers)."""

    def __init__(self, *args: Any, build: Callable[[str], click.Command | None],
                 names: Callable[[], list[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._build, self._names = build, names

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._names()

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._build(name)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if self._build(name) is None and not name.startswith("-"):
            known = ", ".join(self._names()) or "none installed"
            raise click.UsageError(f"no translator {name!r} here (available: {known})", ctx)
        return super().resolve_command(ctx, args)


def build_cli(registry: Registry) -> click.Group:
    """The whole command tree for the plugins in registry."""

    @click.group(context_settings=CONTEXT)
    @click.version_option(__version__, prog_name="translate")
    def cli() -> None:
        """Image-to-image translation with GAN plugins.

        Train a translator on your data (or a bundled set), run it on images, measure it
        on held-out data, and share the weights on the Hugging Face Hub. `translate list`
        shows what is installed.
        """

    # The registry collects translators on first use: `translate --help` never needs them.
    def names() -> list[str]:
        return sorted(registry.translators)

    def translator(name: str) -> type[Translator] | None:
        return registry.translators.get(name)

    @cli.command("list", context_settings=CONTEXT)
    def list_command() -> None:
        """Show plugins, translators, data sources and where each translator's weights come from."""
        from translate.hub.resolve import resolve_weights

        for name in names():
            cls = registry.translators[name]
            try:
                weights = resolve_weights(cls).describe()
            except TranslateError as error:
                weights = str(error)
            plugin = registry.owner[f"translator:{name}"]
            click.echo(f"{name:<12} {cls.task.value}  [plugin {plugin}]")
            click.echo(f"{'':<12} {cls.description}")
            click.echo(f"{'':<12} weights: {weights}")
        if not registry.translators:
            click.echo("no translators installed")
        click.echo("\ndata sources (--data):")
        for name, entry in sorted(registry.sources.items()):
            click.echo(f"  {name:<12} {entry.help}")
        if registry.importers:
            click.echo("\ncheckpoint importers (translate import):")
            for name, importer in sorted(registry.importers.items()):
                click.echo(f"  {name:<12} {importer.description}")
        click.echo(f"\nplugins: {', '.join(plugin_names(registry))}")

    def built(make: Callable[..., click.Command]) -> Callable[[str], click.Command | None]:
        return lambda n: make(registry, cls) if (cls := translator(n)) else None

    cli.add_command(TranslatorGroup(
        "train", build=built(_train_command), names=names,
        help="Train a translator (see `translate train NAME --help`).", context_settings=CONTEXT))
    cli.add_command(TranslatorGroup(
        "infer", build=built(_infer_command), names=names,
        help="Run a translator and write PNG files.", context_settings=CONTEXT))
    cli.add_command(TranslatorGroup(
        "eval", build=built(_eval_command), names=names,
        help="Measure a translator on held-out data; prints JSON.", context_settings=CONTEXT))
    cli.add_command(TranslatorGroup(
        "import", build=lambda n: _import_command(registry, n) if n in registry.importers else None,
        names=lambda: sorted(registry.importers),
        help="Convert a reference implementation's checkpoint into a weights folder.",
        context_settings=CONTEXT))
    cli.add_command(TranslatorGroup(
        "export", build=built(_export_command), names=names,
        help="Export a translator's generators to ONNX, checked against PyTorch.",
        context_settings=CONTEXT))
    cli.add_command(push_command)
    cli.add_command(pull_command)
    cli.add_command(models_command)
    cli.add_command(verify_command)
    for problem in call_each(registry, "register_commands", cli=cli):
        registry.problem(problem)
    return cli


# ---- per-translator commands -----------------------------------------------------------------


def _train_command(registry: Registry, cls: type[Translator]) -> click.Command:
    def run(data: str | None, preset: str, assignments: tuple[str, ...], out: str | None,
            steps: int | None, init_from: str | None, resume: bool, device: str,
            quiet: bool) -> None:
        from accelerate import PartialState

        from translate.config import parse_assignments
        from translate.engine.trainer import train

        overrides = parse_assignments(assignments)
        if steps is not None:
            overrides["steps"] = str(steps)
        if init_from is not None:
            overrides["init_from"] = init_from
        config = cls.make_config(preset, overrides)
        source = registry.open_source(data or cls.datasets[0])
        out_dir = Path(out) if out else translate_home() / "runs" / cls.name
        weights = train(cls, config, train_source=source.split("train"),
                        heldout_source=source.split("heldout"), out_dir=out_dir, device=device,
                        resume=resume, progress=not quiet, observer=registry.notify,
                        command=_command_line())
        if PartialState().is_main_process:
            click.echo(f"weights written to {weights}")

    return click.Command(
        cls.name, callback=run, context_settings=CONTEXT,
        help=f"Train {cls.name}: {cls.description}",
        epilog=_config_epilog(cls),
        params=[
            click.Option(["--data"], metavar="SRC",
                         help=f"Training data: a folder or NAME[:ARG] (default: {cls.datasets[0]}; "
                              f"accepts {', '.join(cls.datasets)}). See `translate list`."),
            click.Option(["--preset"], type=click.Choice(list(cls.presets)), default="starter",
                         show_default=True, help="Named group of config values."),
            click.Option(["--set", "assignments"], multiple=True, metavar="KEY=VALUE",
                         help="Override one config value (repeatable); keys are listed below."),
            click.Option(["--out"], metavar="DIR",
                         help="Run folder for checkpoints, samples, TensorBoard logs and the "
                              "exported weights (default: $TRANSLATE_HOME/runs/NAME)."),
            click.Option(["--steps"], type=click.IntRange(1), help="Shortcut for --set steps=N."),
            click.Option(["--init-from"], metavar="WEIGHTS",
                         help="Fine-tune: start the generators from these weights (a folder, a "
                              "Hub repo, a pulled or curated name, starter), checked to be the "
                              "same architecture. Shortcut for --set init_from=WEIGHTS."),
            click.Option(["--resume"], is_flag=True,
                         help="Continue from the run folder's checkpoint."),
            click.Option(["--device"], type=click.Choice(DEVICES), default="auto",
                         show_default=True, help="auto picks CUDA when present."),
            click.Option(["--quiet", "-q"], is_flag=True, help="No progress bar."),
        ],
    )


def _config_epilog(cls: type[Translator]) -> str:
    docs = field_docs(cls.Config)
    defaults = cls.make_config("starter")
    lines = ["\b", "Config keys (value under the starter preset) and presets:"]
    for field in config_fields(cls.Config):
        kind = describe_type(field_type(cls.Config, field.name))
        value = getattr(defaults, field.name)
        lines.append(f"  {field.name} ({kind}) = {value!r}: {docs.get(field.name, '')}")
    for name, values in cls.presets.items():
        summary = ", ".join(f"{k}={v}" for k, v in values.items()) or "(defaults)"
        lines.append(f"  preset {name}: {summary}")
    return "\n".join(lines)


def _infer_command(registry: Registry, cls: type[Translator]) -> click.Command:
    positional = positional_image(cls)

    def run(**values: Any) -> None:
        import torch

        with torch.no_grad():  # as the demo and the engine run `infer`: no autograd graph kept
            write_outputs(**values)

    def write_outputs(weights: str | None, revision: str | None, out: str, device: str,
                      backend: str, **values: Any) -> None:
        from translate.data.images import open_image, save_image
        from translate.data.masks import hole_mask
        from translate.hub.resolve import load_translator

        translator, resolved = load_translator(cls, weights, revision=revision,
                                               device=pick_device(device), registry=registry)
        click.echo(f"weights: {resolved.describe()}", err=True)
        translator.use_backend(backend)
        params = {p.name: values[p.name] for p in cls.inputs if p is not positional}
        for param in cls.inputs:
            if param.is_image and param is not positional and params.get(param.name):
                if param.kind == "mask":  # read with its alpha: a painted layer is a mask too
                    params[param.name] = hole_mask(open_image(params[param.name], mode="RGBA"))
                else:
                    params[param.name] = open_image(params[param.name], mode=cls.image_mode)
        out_dir = Path(out)
        written: list[Path] = []
        if positional is None:
            for index, image in enumerate(translator.infer(**params)):
                written.append(save_image(image, out_dir / f"{cls.name}-{index:03d}.png"))
            _echo_engines(translator)
            click.echo(f"wrote {len(written)} image(s) to {out_dir}")
            return
        # One bad input must not cost the others: each failure is told as it happens,
        # and the command fails at the end if any did.
        inputs, failed = values["inputs"], 0
        for path in inputs:
            try:
                image = open_image(path, mode="RGBA" if cls.keeps_alpha else cls.image_mode)
                for index, result in enumerate(translator.infer(**{positional.name: image},
                                                                **params)):
                    suffix = f"-{index}" if index else ""
                    written.append(save_image(result, out_dir / f"{Path(path).stem}{suffix}.png"))
            except TranslateError as error:
                if len(inputs) == 1:
                    raise
                failed += 1
                click.echo(f"error: {error}", err=True)
        if failed:
            raise TranslateError(f"{failed} of {len(inputs)} inputs failed (each told above); "
                                 f"wrote {len(written)} image(s) to {out_dir}")
        _echo_engines(translator)
        click.echo(f"wrote {len(written)} image(s) to {out_dir}")

    common = [
        click.Option(["--weights"], metavar="DIR_OR_REPO",
                     help="A weights folder or Hub repo id (default: latest training run, then "
                          "bundled starter weights, then the default Hub repo)."),
        click.Option(["--revision"], help="Hub revision to pin when --weights is a repo id."),
        click.Option(["--out"], metavar="DIR", default="translate-out", show_default=True,
                     help="Folder for the PNG files."),
        click.Option(["--device"], type=click.Choice(DEVICES), default="auto", show_default=True),
        BACKEND_OPTION,
    ]
    summary = ", ".join(option_name(p) for p in cls.inputs if p is not positional)
    return click.Command(
        cls.name, callback=run, context_settings=CONTEXT,
        help=f"Run {cls.name}: {cls.description}" + (f" Options of its own: {summary}."
                                                      if summary else ""),
        params=[*click_parameters(cls.inputs, positional), *common],
    )


def _echo_engines(translator: Translator) -> None:
    # --backend's choice made visible: which engine ran each generator, and why (auto's
    # fallbacks, a bf16 engine's inexactness), on stderr beside the "weights:" line.
    for name, engine in translator.engines().items():
        click.echo(f"engine {name}: {engine}", err=True)


def _eval_command(registry: Registry, cls: type[Translator]) -> click.Command:
    def run(weights: str | None, revision: str | None, data: str | None, device: str,
            backend: str) -> None:
        import torch

        from translate.hub.resolve import load_translator

        translator, resolved = load_translator(cls, weights, revision=revision,
                                               device=pick_device(device), registry=registry)
        click.echo(f"weights: {resolved.describe()}", err=True)
        translator.use_backend(backend)
        source = registry.open_source(data or cls.datasets[0])
        with torch.no_grad():
            metrics = translator.evaluate(source.split("heldout"), source.split("train"))
        _echo_engines(translator)
        click.echo(json.dumps(metrics, indent=2))

    return click.Command(
        cls.name, callback=run, context_settings=CONTEXT,
        help=f"Evaluate {cls.name} on the held-out split of its data; prints JSON metrics.",
        params=[
            click.Option(["--weights"], metavar="DIR_OR_REPO", help="As for infer."),
            click.Option(["--revision"], help="Hub revision to pin."),
            click.Option(["--data"], metavar="SRC",
                         help="Data whose held-out split is measured "
                              f"(default: {cls.datasets[0]})."),
            click.Option(["--device"], type=click.Choice(DEVICES), default="auto",
                         show_default=True),
            BACKEND_OPTION,
        ],
    )


def _export_command(registry: Registry, cls: type[Translator]) -> click.Command:
    def run(weights: str | None, revision: str | None, fmt: str, out: str | None) -> None:
        from translate.hub.resolve import load_translator
        from translate.inference.export import check_onnx, export_onnx

        translator, resolved = load_translator(cls, weights, revision=revision,
                                               registry=registry)
        click.echo(f"weights: {resolved.describe()}", err=True)
        target = Path(out) if out else Path(f"{cls.name}.onnx")
        for name, network in translator.generators.items():
            # One file per generator: NAME.onnx, and NAME.G_B.onnx for a second one.
            path = target if name == next(iter(translator.generators)) else \
                target.with_name(f"{target.stem}.{name}{target.suffix}")
            inputs = translator.export_inputs(name)
            export_onnx(network, path, example=inputs[0])
            worst = check_onnx(path, network, inputs=inputs)
            shapes = "; ".join(" ".join(str(tuple(t.shape)) for t in case) for case in inputs)
            click.echo(f"{name}: wrote {path} (dynamic batch, height and width); ONNX Runtime "
                       f"matches PyTorch within {worst:.1e} on {shapes}")

    return click.Command(
        cls.name, callback=run, context_settings=CONTEXT,
        help=f"Export {cls.name}'s generators to ONNX (opset 18, dynamic batch, height and "
             "width), each checked against PyTorch on three input sizes within 1e-4. Needs "
             "gan-translate[fast].",
        params=[
            click.Option(["--weights"], metavar="DIR_OR_REPO", help="As for infer."),
            click.Option(["--revision"], help="Hub revision to pin."),
            click.Option(["--format", "fmt"], type=click.Choice(["onnx"]), default="onnx",
                         show_default=True),
            click.Option(["--out"], metavar="FILE", help=f"Default: ./{cls.name}.onnx"),
        ],
    )


def _import_command(registry: Registry, name: str) -> click.Command:
    importer = registry.importers[name]

    def run(file: str, out: str, **options: Any) -> None:
        from translate.hub.importers import import_checkpoint

        translator = import_checkpoint(importer, registry.translator(name), file, **options)
        more = [options[p.name] for p in importer.options if p.kind == "file" and options[p.name]]
        names = ", ".join(Path(name).name for name in (file, *more))
        # Say where the weights came from: a translator's card_notes describe its training.
        folder = translator.save_pretrained(out, provenance={
            "command": _command_line(), "imported_from": names,
            "notes": f"Imported from {names} by `translate import`."})
        click.echo(f"weights written to {folder}")

    return click.Command(
        name, callback=run, context_settings=CONTEXT,
        help=f"Import {name} weights: {importer.description}",
        params=[click.Argument(["file"], type=click.Path(dir_okay=False)),
                click.Option(["--out"], metavar="DIR", required=True,
                             help="Folder to write the Hub layout into."),
                *click_parameters(importer.options, None)],
    )


# ---- Hub sync ---------------------------------------------------------------------------------


@click.command("push", context_settings=CONTEXT)
@click.argument("folder", type=click.Path(file_okay=False))
@click.argument("repo_id")
@click.option("--private", is_flag=True, help="Create the repo as private.")
@click.option("--revision", help="Branch to push to (default: main).")
def push_command(folder: str, repo_id: str, private: bool, revision: str | None) -> None:
    """Upload a weights FOLDER to the Hub as REPO_ID, creating the repo and model card."""
    from translate.hub.sync import push

    click.echo(push(folder, repo_id, private=private, revision=revision))


@click.command("pull", context_settings=CONTEXT)
@click.argument("spec", metavar="REPO_ID[:FILE]|NAME")
@click.option("--revision", help="Branch, tag or commit to pin.")
@click.option("--out", metavar="DIR", help="Copy our-layout files here (default: only the cache).")
@click.pass_obj
def pull_command(obj: dict[str, Any], spec: str, revision: str | None, out: str | None) -> None:
    """Fetch weights from the Hub: a gan-translate repo, or a checkpoint in its authors' format.

    A foreign file (FILE, or the repo's only checkpoint) is detected from its keys and
    shapes, converted by the plugin that reads it and stored under $TRANSLATE_HOME/models/.
    NAME is a curated entry (`translate models`), pinned to its revision and sha256.
    Works offline from the cache.
    """
    from translate.hub.foreign import pull_any, split_spec
    from translate.hub.index import find_curated, pull_curated
    from translate.hub.sync import pull

    registry = obj["registry"]
    entry = find_curated(spec, registry.translators)
    if entry is not None:
        click.echo(pull_curated(entry, registry))
        return
    repo_id, filename = split_spec(spec)
    if out and filename is None:
        click.echo(pull(repo_id, revision=revision, local_dir=out))
        return
    click.echo(pull_any(spec, registry, revision=revision))


@click.command("models", context_settings=CONTEXT)
@click.argument("name", required=False, metavar="[NAME]")
@click.pass_obj
def models_command(obj: dict[str, Any], name: str | None) -> None:
    """List every set of weights this app can use, or show NAME's in detail.

    Bundled starters, training runs ($TRANSLATE_HOME/runs), imported and pulled models
    ($TRANSLATE_HOME/models) and the plugins' curated Hub entries, each with its plugin,
    architecture, source and licence, and whether it is ready, still to download or cannot
    be downloaded here. NAME is an entry's name (starter, run:RUN, pulled:NAME,
    RealESRGAN_x4plus, ...), or TRANSLATOR/NAME; a translator's name lists its entries.
    """
    from translate.hub.catalog import find_models, model_index

    registry = obj["registry"]
    if name is None or name in registry.translators:
        listed = [item for item in model_index(registry)
                  if name is None or item.entry.translator == name]
        _print_index(listed)
        return
    for number, item in enumerate(find_models(name, registry)):
        if number:
            click.echo()
        _print_entry(item)


def _print_index(listed: list[Any]) -> None:
    from translate.hub.catalog import format_count

    if not listed:
        click.echo("no weights found (no translators installed?)")
        return
    translator = None
    for item in listed:
        if item.entry.translator != translator:
            translator = item.entry.translator
            click.echo(f"{'' if item is listed[0] else chr(10)}{translator} "
                       f"[plugin {item.plugin or '?'}]")
        size = format_count(item.parameters) if item.parameters else "-"
        click.echo(f"  {item.entry.name:<34} {item.arch or '-':<18} {size:>8}  "
                   f"{item.licence or '-':<14} {item.status}")
        if item.source:
            click.echo(f"  {'':<34} {item.source}")
    ready = sum(item.status == "ready" for item in listed)
    click.echo(f"\n{len(listed)} entries, {ready} ready; `translate models NAME` for one, "
               "`translate pull NAME` fetches a curated one")


def _print_entry(item: Any) -> None:
    from translate.hub.catalog import format_count, summary

    entry, info, curated = item.entry, item.info, item.curated
    rows: list[tuple[str, Any]] = [
        ("name", entry.name), ("translator", entry.translator), ("plugin", item.plugin),
        ("kind", entry.kind), ("status", item.status), ("arch", item.arch),
        ("parameters", f"{item.parameters} ({format_count(item.parameters)})"
         if item.parameters else None),
        ("source", item.source), ("licence", item.licence)]
    if info is not None:
        rows += [("folder", entry.location), ("summary", summary(info, entry.kind)),
                 ("small CPU starter", "yes" if info.is_starter else None),
                 ("trained", f"{info.steps} steps" + (f" on {info.data}" if info.data else "")
                  if info.steps else None),
                 ("metrics", ", ".join(f"{k}={v:.4g}" for k, v in info.metrics.items())
                  or None),
                 ("card", info.card)]
    if curated is not None:
        rows += [("description", curated.description), ("repo", curated.repo),
                 ("file", curated.file + (f" (member {curated.member})" if curated.member
                                          else "")),
                 ("revision", curated.revision), ("sha256", curated.sha256),
                 ("cited", curated.source)]
        if entry.kind == "hub" and item.status != "cannot download offline":
            rows.append(("get it", f"translate pull {curated.name}"))
    for key, value in rows:
        if value is not None and value != "":
            click.echo(f"{key + ':':<19}{value}")


@click.command("verify", context_settings=CONTEXT)
@click.argument("weights")
@click.option("--revision", help="Hub revision to pin when WEIGHTS is a repo id.")
def verify_command(weights: str, revision: str | None) -> None:
    """Check a weights folder (or a Hub repo id, pulled first) against its recorded sha256.

    Exits 0 when every recorded file matches, 1 when one does not or when the folder
    records no hashes (format 1: it can be loaded, but not verified).
    """
    from translate.hub.layout import verify_folder
    from translate.hub.pretrained import is_repo_id

    folder = Path(weights).expanduser()
    if not folder.is_dir() and is_repo_id(weights):
        from translate.hub.sync import pull

        folder = pull(weights, revision=revision)  # checks the cached blobs against their names
    for name, record in verify_folder(folder).items():
        click.echo(f"ok  {folder / name}  sha256 {record['sha256']}  {record['size']} bytes")


# ---- entry point ------------------------------------------------------------------------------


def _command_line() -> str:
    """The command being run, as a user would type it again (recorded in model cards)."""
    return click.get_current_context().find_root().obj["command"]


def main(argv: list[str] | None = None, registry: Registry | None = None) -> int:
    """Run the CLI; user errors print one line and exit 1, interrupts exit 130.

    Called with no `argv` (as the program), a second Ctrl-C ends the process at once
    with 130, whatever it is doing, so stopping is always prompt and never a traceback.
    """
    standalone = argv is None
    argv = sys.argv[1:] if argv is None else argv
    if standalone:
        _exit_on_second_interrupt()
    try:
        return _run(argv, registry)
    except KeyboardInterrupt as interrupt:
        if standalone:  # from here to the end of shutdown, a Ctrl-C means "stop now"
            _exit_on_next_interrupt()
        click.echo(f"interrupted: {interrupt}" if str(interrupt) else "interrupted", err=True)
        if standalone:
            # The run has stopped and saved what it keeps. Interpreter shutdown would put
            # the default SIGINT handler back, so a Ctrl-C during it would end the process
            # by the signal (exit -2) instead of with 130: end here instead.
            import os

            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130


def _exit_on_second_interrupt() -> None:
    """Exit with 130 the moment a second SIGINT or SIGTERM arrives.

    Python runs signal handlers only between bytecodes, so an interrupt that arrives
    during one long C++ call (a backward pass, a big write) waits for it to end. The
    interpreter also writes each signal's number to the wakeup fd as it arrives; a
    thread reading it sees the second one at once (torch releases the GIL in its ops).
    """
    import os
    import signal
    import threading

    read, write = os.pipe()
    os.set_blocking(write, False)
    try:
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    except ValueError:  # not the main thread: no signals to watch
        os.close(read)
        os.close(write)
        return
    stops = {int(signal.SIGINT), int(signal.SIGTERM)}

    def watch() -> None:
        seen = 0
        while data := os.read(read, 64):
            seen += sum(number in stops for number in data)
            if seen >= 2:
                os.write(2, b"\ninterrupted again: stopped at once\n")
                os._exit(130)

    threading.Thread(target=watch, name="translate-interrupts", daemon=True).start()


def _exit_on_next_interrupt() -> None:
    import os
    import signal

    def leave(_signum: int, _frame: Any) -> None:
        os._exit(130)

    signal.signal(signal.SIGINT, leave)
    signal.signal(signal.SIGTERM, leave)


def _run(argv: list[str], registry: Registry | None) -> int:
    try:
        registry = registry or get_registry()
        for problem in registry.problems:
            click.echo(f"warning: {problem}", err=True)
        # Problems found later (translators are collected on first use) are told at once.
        registry.report = lambda problem: click.echo(f"warning: {problem}", err=True)
        cli = build_cli(registry)
        cli.main(args=argv, prog_name="translate", standalone_mode=False,
                 obj={"command": shlex.join(["translate", *argv]), "registry": registry})
    except TranslateError as error:
        click.echo(f"error: {error}", err=True)
        return 1
    except click.exceptions.Abort as abort:
        # click turns Ctrl-C into Abort; the trainer's message says what was saved.
        cause = abort.__cause__
        raise KeyboardInterrupt(str(cause) if isinstance(cause, KeyboardInterrupt) else "") \
            from None
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    return 0
