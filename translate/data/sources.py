"""The concrete dataset sources: folders, Hugging Face datasets, torchvision, the bundled sets.

`--data` names one as `NAME[:ARGUMENT]`; an existing path means a folder. Plugins add
sources through the `register_dataset_sources` hook; the host's own are registered by
`translate.builtins.sources`. What a source is: `translate.data.source`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
from PIL import Image

from translate.data.images import open_image
from translate.data.source import InMemorySource, Source, SourceFactory, Split, Subset
from translate.errors import DataError
from translate.paths import is_offline, translate_home

__all__ = [
    "PHOTOS_HELDOUT", "FolderSource", "HFSource", "InMemorySource", "Source", "SourceFactory",
    "Split", "Subset", "TorchvisionSource", "digits_source", "lfw_source", "open_source",
    "photos_source",
]

class FolderSource(Source):
    """A folder of images, or of class sub-folders of images (labels from folder names)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"{root}: no such folder")
        self.name = str(root)
        top = image_files(self.root)
        # Each class folder is scanned once: a large dataset can hold many thousand files.
        by_class = {p.name: files for p in sorted(self.root.iterdir())
                    if p.is_dir() and not p.name.startswith(".")
                    and (files := image_files(p, recursive=True))}
        if top or not by_class:
            self.files, self._labels = top, None
        else:
            self.classes = tuple(by_class)
            self.files = [file for files in by_class.values() for file in files]
            self._labels = [label for label, files in enumerate(by_class.values())
                            for _ in files]
        if not self.files:
            looked_for = ", ".join(_extensions()[:6])
            raise DataError(f"{root}: no images found (looked for {looked_for}, …)")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record: dict[str, Any] = {"image": open_image(self.files[index], mode="RGBA")}
        if self._labels is not None:
            record["label"] = self._labels[index]
        return record

    def labels(self) -> Sequence[int] | None:
        return self._labels


class HFSource(Source):
    """A Hugging Face `datasets` dataset, by Hub name or local path, with an image column."""

    def __init__(self, spec: str) -> None:
        name, _, query = spec.partition("?")
        options = dict(parse_qsl(query))
        self.name = f"hf:{spec}"
        try:
            import datasets
        except ImportError:
            raise DataError("the hf: source needs the `datasets` package") from None
        split = options.get("split", "train")
        try:
            local = Path(name).expanduser()
            if local.is_dir() and (local / "state.json").exists():  # written by save_to_disk
                loaded = datasets.load_from_disk(str(local))
            else:
                loaded = datasets.load_dataset(name, split=split)
        except Exception as error:
            raise DataError(f"hf:{name}: cannot load ({type(error).__name__}: "
                            f"{str(error).splitlines()[0] if str(error) else ''})") from None
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise DataError(f"hf:{name}: no split {split!r} (has {', '.join(loaded)})")
            loaded = loaded[split]
        features = loaded.features
        image_column = options.get("image") or next(
            (k for k, v in features.items() if isinstance(v, datasets.Image)), None)
        if image_column not in features:
            raise DataError(f"hf:{name}: no image column (columns: {', '.join(features)}); "
                            "name it with ?image=COLUMN")
        label_column = options.get("label") or next(
            (k for k, v in features.items() if isinstance(v, datasets.ClassLabel)), None)
        self.dataset, self.image_column, self.label_column = loaded, image_column, label_column
        if label_column is not None:
            if label_column not in features:
                raise DataError(f"hf:{name}: no label column {label_column!r} "
                                f"(columns: {', '.join(features)})")
            feature = features[label_column]
            if isinstance(feature, datasets.ClassLabel):
                self.classes = tuple(feature.names)
            elif not (isinstance(feature, datasets.Value)
                      and feature.dtype.startswith(("int", "uint"))):
                raise DataError(f"hf:{name}: label column {label_column!r} holds {feature}, "
                                "not class ids; cast it to a ClassLabel or leave out ?label=")

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.dataset[int(index)]
        image = row[self.image_column]
        if not isinstance(image, Image.Image):
            image = open_image(image["path"] if isinstance(image, dict) else image, mode="RGBA")
        record: dict[str, Any] = {"image": image}
        if self.label_column is not None:
            record["label"] = int(row[self.label_column])
        return record

    def labels(self) -> Sequence[int] | None:
        return None if self.label_column is None else list(self.dataset[self.label_column])


class TorchvisionSource(Source):
    """A torchvision dataset by class name (`mnist`, `fashionmnist`, `cifar10`, …)."""

    def __init__(self, dataset_name: str) -> None:
        import inspect

        import torchvision.datasets as tvd

        self.name = f"torchvision:{dataset_name}"
        lookup = {n.lower(): n for n in dir(tvd) if isinstance(getattr(tvd, n), type)}
        cls_name = lookup.get(dataset_name.lower().replace("-", "").replace("_", ""))
        if cls_name is None:
            raise DataError(f"torchvision has no dataset {dataset_name!r}")
        cls = getattr(tvd, cls_name)
        root = translate_home() / "torchvision"
        params = inspect.signature(cls).parameters
        if "download" not in params:
            raise DataError(f"{self.name}: {cls_name} cannot be opened by name (no download)")
        kwargs: dict[str, Any] = {"train": True} if "train" in params else (
            {"split": "train"} if "split" in params else {})
        try:
            self.dataset = cls(str(root), download=False, **kwargs)
        except (TypeError, ValueError) as error:  # e.g. a dataset whose splits are not "train"
            raise DataError(f"{self.name}: cannot open it by name ({type(error).__name__}: "
                            f"{str(error).splitlines()[0] if str(error) else ''})") from None
        except (RuntimeError, FileNotFoundError, OSError) as missing:
            if is_offline():
                raise DataError(f"{self.name}: not found under {root} and downloads are off "
                                f"(offline mode)") from None
            try:
                self.dataset = cls(str(root), download=True, **kwargs)
            except Exception as error:
                raise DataError(f"{self.name}: not under {root} ({missing}) and download failed "
                                f"({type(error).__name__})") from None
        classes = getattr(self.dataset, "classes", None)
        self.classes = tuple(map(str, classes)) if classes is not None else None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, label = self.dataset[int(index)]
        record: dict[str, Any] = {"image": image}
        if isinstance(label, int) and self.classes is not None:
            record["label"] = label
        return record

    def labels(self) -> Sequence[int] | None:
        targets = getattr(self.dataset, "targets", None)
        return None if targets is None or self.classes is None else [int(t) for t in targets]


# ---- the bundled sets: real data that ships inside scikit-learn and scikit-image ------------


def digits_source(_: str | None = None) -> Source:
    """The 1797 labelled 8x8 digits of scikit-learn, as white-on-black greyscale."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = [Image.fromarray(np.uint8(np.round(img * 255 / 16))) for img in digits.images]
    return InMemorySource("digits", images, labels=digits.target.tolist(),
                          classes=tuple(str(d) for d in range(10)), heldout_fraction=0.25)


def lfw_source(_: str | None = None) -> Source:
    """The 100 25x25 greyscale faces of scikit-image's LFW subset (its non-faces excluded)."""
    from skimage.data import lfw_subset

    faces = lfw_subset()[:100]
    images = [Image.fromarray(np.uint8(np.round(np.clip(face, 0, 1) * 255))) for face in faces]
    return InMemorySource("lfw", images, heldout_fraction=0.2)


# Whole photos are held out (not crops), so no held-out pixel is ever trained on.
PHOTOS_HELDOUT = ("chelsea", "china")


@functools.cache
def _bundled_photos() -> dict[str, np.ndarray]:
    """{name: read-only pixels}, decoded once per process: decoding them all takes seconds,
    and every source, test and bench that opens `photos` would pay it again."""
    from skimage import data
    from sklearn.datasets import load_sample_images

    loaders = {name: getattr(data, name) for name in (
        "astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field",
        "retina")}
    images = {name: load() for name, load in loaders.items()}
    images["motorcycle"] = data.stereo_motorcycle()[0]
    sample = load_sample_images()
    for filename, array in zip(sample.filenames, sample.images, strict=True):
        images[Path(filename).stem] = array
    for array in images.values():
        array.flags.writeable = False
    return images


def photos_source(heldout: str | None = None) -> Source:
    """The RGB photos bundled with scikit-image and scikit-learn, `PHOTOS_HELDOUT` held out.

    `photos:NAME,NAME` holds out the photos named instead.
    """
    images = dict(_bundled_photos())  # the cached dict itself stays as it was decoded
    names = [n.strip() for n in heldout.split(",") if n.strip()] if heldout else PHOTOS_HELDOUT
    if unknown := [n for n in names if n not in images]:
        raise DataError(f"photos:{heldout}: no photo named {unknown[0]!r} "
                        f"(the photos: {', '.join(images)})")
    if not names or set(images) <= set(names):
        raise DataError(f"photos:{heldout}: name at least one photo to hold out and leave "
                        "at least one to train on")
    return InMemorySource("photos", [Image.fromarray(a).convert("RGB") for a in images.values()],
                          heldout=[i for i, name in enumerate(images) if name in names])


# ---- opening a --data spec --------------------------------------------------------------------


def open_source(spec: str, registry: Any = None) -> Source:
    """Open `NAME[:ARGUMENT]` through `registry.sources`; an existing path means a folder.

    `registry` is a `translate.plugins.Registry` (or anything with its `sources` mapping);
    `translate.plugins.open_source(spec)` opens through the process-wide one.
    """
    if registry is None:
        raise TypeError("open_source(spec) needs the registry whose sources it opens: call "
                        "translate.plugins.open_source(spec) instead")
    sources = registry.sources
    name, _, argument = spec.partition(":")
    if name not in sources and (os.sep in spec or Path(spec).expanduser().exists()):
        name, argument = "folder", spec
    entry = sources.get(name)
    if entry is None:
        known = ", ".join(sorted(sources))
        raise DataError(f"unknown data source {spec!r}: use a folder path or one of {known}")
    source = entry.factory(argument or None)
    if not getattr(source, "name", None) or source.name == "source":
        source.name = spec
    return source


def needs(argument: str | None, what: str) -> str:
    """The part after the colon of a `--data NAME:ARGUMENT`, or a one-line error."""
    if not argument:
        raise DataError(f"this source needs {what} after the colon")
    return argument


def _extensions() -> list[str]:
    Image.init()
    return sorted({ext for ext, fmt in Image.registered_extensions().items()
                   if fmt in Image.OPEN})


def image_files(folder: Path, recursive: bool = False) -> list[Path]:
    """The image files under folder (recursively if asked), hidden ones skipped, sorted."""
    extensions = set(_extensions())
    pattern = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in pattern if p.is_file() and p.suffix.lower() in extensions
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


_image_files = image_files  # the name plugins used before it was public
