"""Model cards: Hub metadata plus the exact command that produced the weights.

The card is rendered from `config.json` alone, so a folder is self-describing and
`translate push` can (re)write the card without the plugin being installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from translate.files import atomic_write_bytes

LIBRARY_NAME = "gan-translate"

# The closest Hub pipeline tag for each task, so the Hub files the model correctly.
PIPELINE_TAGS = {
    "unconditional generation": "unconditional-image-generation",
    "class-conditional generation": "unconditional-image-generation",
    "paired translation": "image-to-image",
    "unpaired translation": "image-to-image",
    "super-resolution": "image-to-image",
    "inpainting": "image-to-image",
}


def render_model_card(meta: dict[str, Any], *, repo_id: str | None = None) -> str:
    """The README.md text for a folder whose config.json holds `meta`."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData  # slow to import

    name = meta["translator"]
    task = meta.get("task", "")
    provenance = meta.get("provenance", {})
    metrics: dict[str, float] = meta.get("metrics", {})
    data = provenance.get("data")
    pipeline_tag = PIPELINE_TAGS.get(task, "image-to-image")
    card_data = ModelCardData(
        library_name=LIBRARY_NAME,
        pipeline_tag=pipeline_tag,
        tags=["gan", LIBRARY_NAME, f"{LIBRARY_NAME}-{name}", "pytorch", "safetensors"],
        datasets=[data] if data else None,
        metrics=sorted(metrics) or None,
        model_name=repo_id or name,
        eval_results=[
            EvalResult(task_type=pipeline_tag, dataset_type=data or "unknown",
                       dataset_name=f"{data or 'unknown'} (held-out split)",
                       metric_type=key, metric_name=key, metric_value=value)
            for key, value in sorted(metrics.items())
        ] or None,
    )
    model = meta.get("model", {})
    training = meta.get("training", meta.get("config", {}))
    config_rows = "\n".join(f"| `{k}` | `{json.dumps(v)}` |" for k, v in
                            [*model.items(), *training.items()])
    metric_rows = "\n".join(f"| {k} | {v:.4g} |" for k, v in sorted(metrics.items()))
    weights = repo_id or "PATH_TO_THIS_FOLDER"
    sections = [
        f"# {name}: {meta.get('description', task)}",
        f"A {task} GAN for gan-translate (`pip install gan-translate`).",
        "## How these weights were made",
        f"```bash\n{provenance.get('command', '(command not recorded)')}\n```",
        f"Trained for {provenance.get('steps', '?')} steps on `{data or '?'}` with gan-translate "
        f"{provenance.get('library_version', '?')}{_hardware(provenance)}. "
        f"{provenance.get('notes', '')}".strip(),
        *_source(provenance),
        "## Evaluation (held-out data)",
        "| metric | value |\n|---|---|\n" + metric_rows if metrics else "Not evaluated.",
        "## Use",
        f"```bash\ntranslate infer {name} --weights {weights} --out out/\n```",
        "## Config",
        (f"Architecture `{model['arch']}`; the first {len(model)} rows are the `model` block "
         "that the networks are built from, the rest how they were trained.\n\n"
         if "arch" in model else "") + "| key | value |\n|---|---|\n" + config_rows,
    ]
    content = f"---\n{card_data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n"
    return str(ModelCard(content))


def _source(provenance: dict[str, Any]) -> list[str]:
    """Where converted weights came from: the published file they reproduce."""
    if "source_repo" not in provenance:
        return []
    rows = [("repo", f"[{provenance['source_repo']}](https://huggingface.co/"
                     f"{provenance['source_repo']})"),
            ("commit", f"`{provenance.get('source_commit', '?')}`"),
            ("file", f"`{provenance.get('source_file', '?')}`"),
            ("sha256", f"`{provenance.get('source_sha256', '?')}`"),
            ("size", f"{provenance.get('source_size', '?')} bytes"),
            ("licence (as the source's card states it)",
             str(provenance.get("source_licence", "not stated")))]
    table = "\n".join(f"| {key} | {value} |" for key, value in rows)
    return ["## Source", "Converted, without retraining, from a checkpoint published in its "
            "authors' own format:", "| | |\n|---|---|\n" + table]


def _hardware(provenance: dict[str, Any]) -> str:
    if "device" not in provenance:
        return ""
    seconds = provenance.get("train_seconds")
    took = f", {seconds:.0f} s of training" if seconds is not None else ""
    return (f" ({provenance.get('processes', 1)} process(es) on {provenance['device']}, "
            f"precision {provenance.get('precision', 'no')}{took})")


def write_model_card(folder: str | Path, *, repo_id: str | None = None) -> Path:
    """(Re)write folder/README.md from folder/config.json."""
    folder = Path(folder)
    meta = json.loads((folder / "config.json").read_text())
    path = folder / "README.md"
    atomic_write_bytes(path, render_model_card(meta, repo_id=repo_id).encode())
    return path
