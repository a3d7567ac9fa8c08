"""Dataset sources: the bundled sets, folders, Hugging Face datasets, torchvision, `--data` specs.

Everything runs offline: fixture data is built from what scikit-learn and scikit-image ship
(or from numpy/Pillow), any attempt to open an internet socket fails the test, and
TRANSLATE_HOME and the `datasets` caches point into the test's tmp_path.
"""

from __future__ import annotations

import gzip
import socket
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from translate.builtins import sources as builtin_sources
from translate.data.sources import (
    PHOTOS_HELDOUT,
    FolderSource,
    HFSource,
    InMemorySource,
    TorchvisionSource,
    digits_source,
    lfw_source,
    photos_source,
)
from translate.errors import DataError, ImageError
from translate.plugins import load_plugins, open_source

BUILTIN_SOURCES = {"digits", "lfw", "photos", "folder", "hf", "torchvision", "unpaired",
                   "aligned", "paired", "hf-paired"}


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's TRANSLATE_HOME, and no internet: any TCP/UDP connect fails the test."""
    home = isolated_home
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"a test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return home


@pytest.fixture(scope="module")
def registry():
    return load_plugins()



@pytest.fixture
def hf_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`datasets` offline, with every cache it writes inside tmp_path.

    `datasets.config` reads the environment once, at import, so the module attributes are
    patched as well as the variables.
    """
    datasets = pytest.importorskip("datasets")
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(cache))
    config = datasets.config
    monkeypatch.setattr(config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(config, "HF_DATASETS_CACHE", cache / "datasets")
    monkeypatch.setattr(config, "HF_MODULES_CACHE", cache / "modules")
    monkeypatch.setattr(config, "DOWNLOADED_DATASETS_PATH", cache / "datasets" / "downloads")
    monkeypatch.setattr(config, "EXTRACTED_DATASETS_PATH",
                        cache / "datasets" / "downloads" / "extracted")
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    yield datasets
    if bars:
        datasets.enable_progress_bars()


def gray(value: int, size: tuple[int, int] = (6, 4)) -> Image.Image:
    return Image.new("L", size, value)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image)


def write_png(path: Path, value: int | tuple[int, ...] = 128, size: tuple[int, int] = (5, 4),
              mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)
    return path


def split_indices(source) -> tuple[list[int], list[int]]:
    return (source.split("train").indices.tolist(), source.split("heldout").indices.tolist())


# --- the split, on a small in-memory source --------------------------------------------------


def test_split_is_stratified_disjoint_and_covering():
    labels = [0] * 10 + [1] * 5 + [2] * 1
    source = InMemorySource("mem", [gray(i) for i in range(16)], labels=labels,
                            classes=("a", "b", "c"))
    train, heldout = split_indices(source)
    assert sorted(train + heldout) == list(range(16))
    assert not set(train) & set(heldout)
    held_labels = [labels[i] for i in heldout]
    assert held_labels.count(0) == 2 and held_labels.count(1) == 1
    assert 15 in train  # a class with one record keeps it for training
    part = source.split("heldout")
    assert list(part.labels()) == held_labels
    assert part.classes == ("a", "b", "c")
    assert part.name == "mem[heldout]"
    assert [part[i]["label"] for i in range(len(part))] == held_labels


def test_unlabelled_split_and_too_small_source():
    source = InMemorySource("mem", [gray(i) for i in range(10)])
    train, heldout = split_indices(source)
    assert len(heldout) == 2 and len(train) == 8
    assert "label" not in source[0]
    with pytest.raises(DataError, match="at least 2"):
        InMemorySource("one", [gray(0)]).split("train")


# --- bundled: digits --------------------------------------------------------------------------


def test_digits_records(digits):
    from sklearn.datasets import load_digits

    reference = load_digits()
    assert len(digits) == 1797
    assert digits.name == "digits"
    assert digits.classes == tuple(str(d) for d in range(10))
    assert list(digits.labels()) == reference.target.tolist()
    assert sorted(set(digits.labels())) == list(range(10))
    for index in (0, 1, 500, 1796):
        record = digits[index]
        image = record["image"]
        assert isinstance(image, Image.Image)
        assert image.size == (8, 8) and image.mode == "L"
        assert isinstance(record["label"], int) and record["label"] == reference.target[index]
        expected = np.round(reference.images[index] * 255 / 16).astype(np.uint8)
        np.testing.assert_array_equal(pixels(image), expected)
    stack = np.stack([pixels(digits[i]["image"]) for i in range(0, 1797, 7)])
    assert stack.max() == 255 and stack.min() == 0
    assert stack.mean() < 100  # white ink on a black background, not the other way round
    assert (stack[:, :, 0] == 0).mean() > 0.8  # the left column is background


def test_digits_split(digits):
    train, heldout = split_indices(digits)
    assert not set(train) & set(heldout)
    assert sorted(train + heldout) == list(range(1797))
    assert abs(len(heldout) / 1797 - 0.25) < 0.01
    labels = np.asarray(digits.labels())
    for label in range(10):
        in_class = np.flatnonzero(labels == label)
        share = np.isin(in_class, heldout).mean()
        assert 0.2 < share < 0.3, (label, share)
    assert set(labels[train]) == set(labels[heldout]) == set(range(10))
    assert split_indices(digits_source()) == (train, heldout)
    assert split_indices(digits_source()) == (train, heldout)
    assert len(digits.split("train")) + len(digits.split("heldout")) == 1797


# --- bundled: lfw ---------------------------------------------------------------------------


def test_lfw_is_the_100_faces():
    from skimage.data import lfw_subset

    everything = lfw_subset()
    lfw = lfw_source()
    assert len(lfw) == 100
    assert lfw.name == "lfw"
    faces = np.stack([pixels(lfw[i]["image"]) for i in range(100)])
    assert faces.shape == (100, 25, 25) and faces.dtype == np.uint8
    assert all(lfw[i]["image"].mode == "L" for i in (0, 99))
    expected = np.round(np.clip(everything[:100], 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(faces, expected)
    non_faces = np.round(np.clip(everything[100:], 0, 1) * 255).astype(np.uint8)
    assert not any((faces == other).all(axis=(1, 2)).any() for other in non_faces)
    train, heldout = split_indices(lfw)
    assert len(heldout) == 20 and len(train) == 80
    assert sorted(train + heldout) == list(range(100))
    assert split_indices(lfw_source()) == (train, heldout)


# --- bundled: photos --------------------------------------------------------------------------


def test_photos_are_rgb_and_hold_out_whole_photos(photos):
    from skimage.data import chelsea
    from sklearn.datasets import load_sample_images

    sample = load_sample_images()
    china = sample.images[[Path(f).stem for f in sample.filenames].index("china")]
    held = {"chelsea": chelsea(), "china": china}
    assert set(PHOTOS_HELDOUT) == set(held)

    assert len(photos) >= 8
    assert photos.classes is None and "label" not in photos[0]
    assert all(photos[i]["image"].mode == "RGB" for i in range(len(photos)))

    heldout = photos.split("heldout")
    train = photos.split("train")
    assert len(heldout) == 2 and len(train) == len(photos) - 2
    held_arrays = [pixels(heldout[i]["image"]) for i in range(len(heldout))]
    assert sorted(a.shape for a in held_arrays) == sorted(a.shape for a in held.values())
    for name, array in held.items():
        assert sum(np.array_equal(array, h) for h in held_arrays) == 1, name
        for i in range(len(train)):
            candidate = pixels(train[i]["image"])
            assert not np.array_equal(candidate, array), f"{name} is in the training part"
    assert split_indices(photos) == split_indices(photos_source())


def test_photos_can_hold_out_other_photos(photos):
    from skimage.data import astronaut, coffee

    chosen = open_source("photos:astronaut, coffee")
    assert len(chosen) == len(photos)
    heldout = chosen.split("heldout")
    assert len(heldout) == 2
    assert np.array_equal(pixels(heldout[0]["image"]), astronaut())
    assert np.array_equal(pixels(heldout[1]["image"]), coffee())
    assert split_indices(chosen) != split_indices(photos)  # chelsea and china now train


@pytest.mark.parametrize(("argument", "message"), [
    ("cat", r"photos:cat: no photo named 'cat' \(the photos: astronaut, "),
    (",", "name at least one photo to hold out"),
    ("astronaut,coffee,chelsea,rocket,immunohistochemistry,hubble_deep_field,retina,"
     "motorcycle,china,flower", "leave at least one to train on"),
])
def test_photos_refuse_a_bad_held_out_list(argument, message):
    with pytest.raises(DataError, match=message) as caught:
        photos_source(argument)
    assert "\n" not in str(caught.value)


# --- FolderSource -------------------------------------------------------------------------


def test_folder_of_unlabelled_images(tmp_path: Path):
    root = tmp_path / "flat"
    write_png(root / "b.png", (0, 0, 255))
    Image.new("RGB", (7, 3), (255, 0, 0)).save(root / "a.jpg", quality=95)
    Image.new("RGB", (4, 4), (0, 255, 0)).save(root / "c.JPEG", format="JPEG")
    write_png(root / ".hidden.png", 0)
    (root / "notes.txt").write_text("not an image")
    (root / "data.csv").write_text("a,b\n")
    (root / "empty-dir").mkdir()

    source = FolderSource(root)
    assert [f.name for f in source.files] == ["a.jpg", "b.png", "c.JPEG"]
    assert len(source) == 3
    assert source.classes is None and source.labels() is None
    assert source.name == str(root)
    record = source[1]
    assert set(record) == {"image"}
    assert isinstance(record["image"], Image.Image) and record["image"].mode == "RGBA"
    assert record["image"].getpixel((0, 0)) == (0, 0, 255, 255)
    red = source[0]["image"]
    assert red.size == (7, 3)
    assert all(abs(a - b) <= 8 for a, b in zip(red.getpixel((3, 1)), (255, 0, 0, 255),
                                                strict=True))


def test_folder_of_class_subfolders(tmp_path: Path):
    root = tmp_path / "labelled"
    for name, count in (("zebra", 2), ("cat", 3), ("dog", 1)):
        for i in range(count):
            write_png(root / name / f"{i}.png", (i * 40, 0, 0))
    write_png(root / "cat" / "nested" / "deep.png", 9)  # sub-folders of a class belong to it
    (root / "cat" / "readme.md").write_text("cats")
    (root / "cat" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "no-images").mkdir()
    (root / "no-images" / "x.txt").write_text("x")
    (root / "labels.csv").write_text("not an image at the top level")

    source = FolderSource(root)
    assert source.classes == ("cat", "dog", "zebra")
    assert len(source) == 4 + 1 + 2
    assert list(source.labels()) == [0, 0, 0, 0, 1, 2, 2]
    assert [source[i]["label"] for i in range(len(source))] == [0, 0, 0, 0, 1, 2, 2]
    assert all(isinstance(source[i]["label"], int) for i in range(len(source)))
    assert [f.parent.name for f in source.files].count("nested") == 1
    train, heldout = split_indices(source)
    assert sorted(train + heldout) == list(range(7))
    assert 4 in train  # dog's only image stays in training


def test_folder_ignores_hidden_folders(tmp_path: Path):
    root = tmp_path / "labelled"
    write_png(root / "cat" / "0.png", 10)
    write_png(root / "dog" / "0.png", 20)
    write_png(root / ".thumbnails" / "0.png", 30)
    write_png(root / "cat" / ".ipynb_checkpoints" / "0-checkpoint.png", 40)
    source = FolderSource(root)
    assert source.classes == ("cat", "dog")
    assert len(source) == 2


def test_empty_folder_is_a_one_line_data_error(tmp_path: Path):
    root = tmp_path / "nothing here"
    root.mkdir()
    (root / "notes.txt").write_text("no pictures")
    write_png(root / ".hidden.png")
    (root / "empty-class").mkdir()
    with pytest.raises(DataError) as caught:
        FolderSource(root)
    message = str(caught.value)
    assert str(root) in message and "no images" in message
    assert "\n" not in message


def test_missing_folder_is_a_data_error(tmp_path: Path):
    missing = tmp_path / "missing"
    with pytest.raises(DataError, match="no such folder") as caught:
        FolderSource(missing)
    assert str(missing) in str(caught.value)
    a_file = write_png(tmp_path / "file.png")
    with pytest.raises(DataError):
        FolderSource(a_file)


def test_corrupt_image_fails_when_read_not_when_listed(tmp_path: Path):
    root = tmp_path / "flat"
    write_png(root / "good.png", (1, 2, 3))
    bad = root / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    source = FolderSource(root)  # listing only: nothing decoded yet
    assert len(source) == 2
    index = [f.name for f in source.files].index("bad.png")
    assert source[1 - index]["image"].getpixel((0, 0)) == (1, 2, 3, 255)
    with pytest.raises(ImageError) as caught:
        source[index]
    assert "bad.png" in str(caught.value)
    assert "\n" not in str(caught.value)


# --- open_source ----------------------------------------------------------------------------


def test_open_source_by_name(registry):
    source = registry.open_source("digits")
    assert len(source) == 1797 and source.name == "digits"


def test_open_source_folder_spec_and_bare_path(tmp_path: Path, registry,
                                               monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "imgs"
    write_png(root / "a.png")
    write_png(root / "b.png")
    by_spec = registry.open_source(f"folder:{root}")
    assert isinstance(by_spec, FolderSource) and len(by_spec) == 2
    by_path = registry.open_source(str(root))
    assert isinstance(by_path, FolderSource) and by_path.root == root
    monkeypatch.chdir(tmp_path)
    relative = registry.open_source("imgs")  # exists, no separator, not a source name
    assert isinstance(relative, FolderSource) and len(relative) == 2


def test_open_source_unknown_name_lists_known_sources(registry):
    with pytest.raises(DataError) as caught:
        registry.open_source("no-such-source")
    message = str(caught.value)
    assert "no-such-source" in message
    for name in BUILTIN_SOURCES:
        assert name in message
    with pytest.raises(DataError):
        registry.open_source("no-such-source:argument")


@pytest.mark.parametrize("spec", ["folder", "folder:", "hf", "torchvision:"])
def test_open_source_needs_an_argument(spec: str, registry):
    with pytest.raises(DataError, match="needs"):
        registry.open_source(spec)


def test_sources_registered_by_the_builtin_plugin(registry):
    assert set(registry.sources) >= BUILTIN_SOURCES
    for name in BUILTIN_SOURCES:
        entry = registry.sources[name]
        assert entry.name == name and callable(entry.factory) and entry.help
        assert entry.plugin == "builtin-sources"
    assert not [p for p in registry.problems if "builtin-sources" in p]


def test_hookimpl_registers_every_builtin_source():
    registered: list[tuple] = []
    builtin_sources.register_dataset_sources(lambda *args: registered.append(args))
    assert {args[0] for args in registered} == BUILTIN_SOURCES


# --- HFSource (offline) ---------------------------------------------------------------------


def save_hf_dataset(datasets, path: Path) -> list[Image.Image]:
    images = [Image.new("L", (6, 4), 30 * i) for i in range(6)]
    dataset = datasets.Dataset.from_dict(
        {"picture": images, "kind": [0, 1, 2, 0, 1, 2], "caption": list("abcdef")})
    dataset = dataset.cast_column("picture", datasets.Image())
    dataset = dataset.cast_column("kind", datasets.ClassLabel(names=["ant", "bee", "cow"]))
    dataset.save_to_disk(str(path))
    return images


def test_hf_saved_to_disk(tmp_path: Path, hf_offline, registry):
    path = tmp_path / "saved"
    save_hf_dataset(hf_offline, path)
    source = registry.open_source(f"hf:{path}")
    assert isinstance(source, HFSource)
    assert source.name == f"hf:{path}"
    assert len(source) == 6
    assert source.classes == ("ant", "bee", "cow")
    assert (source.image_column, source.label_column) == ("picture", "kind")
    assert list(source.labels()) == [0, 1, 2, 0, 1, 2]
    for index in range(6):
        record = source[index]
        assert isinstance(record["image"], Image.Image)
        assert record["image"].size == (6, 4)
        assert pixels(record["image"]).max() == 30 * index
        assert type(record["label"]) is int and record["label"] == index % 3
    train, heldout = split_indices(source)
    assert sorted(train + heldout) == list(range(6))
    assert len(heldout) == 3  # one of each class (two records per class)


def write_imagefolder(root: Path) -> None:
    for split, count in (("train", 3), ("test", 2)):
        for label, colour in (("cat", (200, 0, 0)), ("dog", (0, 0, 200))):
            for i in range(count):
                write_png(root / split / label / f"{label}{i}.png", colour, size=(5, 3))


def test_hf_local_imagefolder(tmp_path: Path, hf_offline):
    root = tmp_path / "imagefolder"
    write_imagefolder(root)
    source = HFSource(str(root))
    assert len(source) == 6
    assert source.classes == ("cat", "dog")
    assert sorted(source.labels()) == [0, 0, 0, 1, 1, 1]
    for index in range(len(source)):
        record = source[index]
        assert isinstance(record["image"], Image.Image) and record["image"].size == (5, 3)
        expected = (200, 0, 0) if record["label"] == 0 else (0, 0, 200)
        assert record["image"].convert("RGB").getpixel((2, 1)) == expected
    test = HFSource(f"{root}?split=test")
    assert len(test) == 4 and test.classes == ("cat", "dog")
    with pytest.raises(DataError, match=r"cannot load|no split"):
        HFSource(f"{root}?split=validation")


def test_hf_query_options(tmp_path: Path, hf_offline):
    files = [write_png(tmp_path / "files" / f"{i}.png", 20 * i, size=(3, 3), mode="L")
             for i in range(4)]
    dataset = hf_offline.Dataset.from_dict({
        "path": [str(f) for f in files], "answer": [1, 0, 1, 0],
        "thumb": [Image.new("L", (2, 2), 7)] * 4,
    }).cast_column("thumb", hf_offline.Image())
    dataset.save_to_disk(str(tmp_path / "paths"))
    # A string column of file paths, chosen by name; the Image column is not the one used.
    source = HFSource(f"{tmp_path / 'paths'}?image=path&label=answer&split=ignored")
    assert (source.image_column, source.label_column) == ("path", "answer")
    assert source.classes is None  # a plain integer label column has no class names
    assert list(source.labels()) == [1, 0, 1, 0]
    record = source[2]
    assert record["label"] == 1
    assert record["image"].size == (3, 3) and pixels(record["image"].convert("L")).max() == 40
    # Without options the Image column is found by its feature type.
    default = HFSource(str(tmp_path / "paths"))
    assert default.image_column == "thumb" and default.label_column is None
    assert "label" not in default[0]

    saved = tmp_path / "saved"
    save_hf_dataset(hf_offline, saved)
    relabelled = HFSource(f"{saved}?image=picture&label=kind")
    assert relabelled.classes == ("ant", "bee", "cow")
    with pytest.raises(DataError, match="no image column"):
        HFSource(f"{saved}?image=nope")


def test_hf_dataset_dict_split_option(tmp_path: Path, hf_offline):
    images = [Image.new("L", (4, 4), v) for v in (10, 20, 30)]
    dataset = hf_offline.Dataset.from_dict({"image": images}).cast_column(
        "image", hf_offline.Image())
    hf_offline.DatasetDict({"train": dataset, "test": dataset.select([2])}).save_to_disk(
        str(tmp_path / "dict"))
    assert len(HFSource(str(tmp_path / "dict"))) == 3
    test = HFSource(f"{tmp_path / 'dict'}?split=test")
    assert len(test) == 1 and pixels(test[0]["image"]).max() == 30


def test_hf_without_an_image_column_names_the_columns(tmp_path: Path, hf_offline):
    hf_offline.Dataset.from_dict({"text": ["a", "b"], "score": [1, 2]}).save_to_disk(
        str(tmp_path / "text"))
    with pytest.raises(DataError, match="no image column") as caught:
        HFSource(str(tmp_path / "text"))
    message = str(caught.value)
    assert "text" in message and "score" in message and "?image=" in message
    assert "\n" not in message


def test_hf_unreachable_dataset_is_a_data_error_offline(tmp_path: Path, hf_offline):
    with pytest.raises(DataError, match="cannot load"):
        HFSource("no-such-user/no-such-dataset")
    with pytest.raises(DataError, match="cannot load"):
        HFSource(str(tmp_path / "missing"))


def test_hf_string_label_column_is_refused_or_mapped(tmp_path: Path, hf_offline):
    path = tmp_path / "saved"
    save_hf_dataset(hf_offline, path)
    try:
        source = HFSource(f"{path}?label=caption")
    except DataError as error:  # refusing up front, naming the column, is fine
        assert "caption" in str(error)
        return
    assert source.classes is not None
    assert isinstance(source[0]["label"], int)


def test_hf_missing_label_column_is_a_data_error(tmp_path: Path, hf_offline):
    path = tmp_path / "saved"
    save_hf_dataset(hf_offline, path)
    with pytest.raises(DataError, match="nope"):
        HFSource(f"{path}?label=nope")


# --- TorchvisionSource ------------------------------------------------------------------------


def idx_images(images: np.ndarray) -> bytes:
    count, rows, cols = images.shape
    return struct.pack(">IIII", 0x00000803, count, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 0x00000801, len(labels)) + labels.astype(np.uint8).tobytes()


def write_mnist(root: Path, train: int = 40, test: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-format files (28x28 digits from scikit-learn) where torchvision's MNIST looks."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.stack([
        np.asarray(Image.fromarray(np.uint8(np.round(d * 255 / 16))).resize((28, 28),
                                                                            Image.BILINEAR))
        for d in digits.images[: train + test]])
    labels = digits.target[: train + test]
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    parts = {"train": slice(0, train), "t10k": slice(train, train + test)}
    for prefix, part in parts.items():
        image_bytes, label_bytes = idx_images(images[part]), idx_labels(labels[part])
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(image_bytes)
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(label_bytes)
        # The archives torchvision downloads, as well; it reads the unpacked files.
        (raw / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(image_bytes))
        (raw / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(label_bytes))
    return images[:train], labels[:train]


@pytest.fixture
def no_torchvision_download(monkeypatch: pytest.MonkeyPatch):
    import torchvision.datasets as tvd

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("torchvision tried to download")

    monkeypatch.setattr(tvd.MNIST, "download", refuse)
    monkeypatch.setattr(tvd.utils, "download_url", refuse)


def test_torchvision_mnist_from_local_files(home: Path, registry, no_torchvision_download,
                                           monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRANSLATE_OFFLINE", "1")
    images, labels = write_mnist(home / "torchvision")
    source = registry.open_source("torchvision:mnist")
    assert isinstance(source, TorchvisionSource)
    assert source.name == "torchvision:mnist"
    assert len(source) == 40
    assert source.classes is not None and len(source.classes) == 10
    assert source.classes[3].startswith("3")
    assert list(source.labels()) == labels.tolist()
    for index in (0, 7, 39):
        record = source[index]
        assert record["image"].mode == "L" and record["image"].size == (28, 28)
        np.testing.assert_array_equal(pixels(record["image"]), images[index])
        assert type(record["label"]) is int and record["label"] == labels[index]
    train, heldout = split_indices(source)
    assert sorted(train + heldout) == list(range(40))
    assert TorchvisionSource("MNIST").labels() == source.labels()  # names are case-blind


def test_torchvision_offline_without_files(home: Path, no_torchvision_download,
                                           monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRANSLATE_OFFLINE", "1")
    with pytest.raises(DataError) as caught:
        TorchvisionSource("mnist")
    message = str(caught.value)
    assert "downloads are off" in message and "offline" in message
    assert str(home / "torchvision") in message
    assert not (home / "torchvision" / "MNIST" / "raw").exists()


def test_torchvision_unknown_dataset(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRANSLATE_OFFLINE", "1")
    with pytest.raises(DataError, match="no dataset 'no-such-set'"):
        TorchvisionSource("no-such-set")


@pytest.mark.parametrize("name", ["imagefolder", "places365"])
def test_torchvision_unusable_class_is_a_data_error(name: str, no_torchvision_download,
                                                    monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRANSLATE_OFFLINE", "1")
    with pytest.raises(DataError):
        TorchvisionSource(name)
