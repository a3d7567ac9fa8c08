"""Unpaired data: the `unpaired:` source (reference layout, two specs) and UnpairedDataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from translate.builtins import sources as builtin_sources
from translate.data.source import InMemorySource, Source
from translate.data.sources import FolderSource
from translate.data.unpaired import (
    UnpairedDataset,
    UnpairedSource,
    domain_indices,
    reference_layout_source,
    unpaired_source,
)
from translate.errors import DataError


def write_images(folder: Path, count: int, colour: tuple[int, int, int]) -> None:
    folder.mkdir(parents=True)
    for index in range(count):
        Image.new("RGB", (20 + index, 18), colour).save(folder / f"{index}.png")


def reference_layout(root: Path, *, test_folders: bool = True) -> Path:
    parts = [("trainA", 5, (255, 0, 0)), ("trainB", 3, (0, 0, 255))]
    if test_folders:
        parts += [("testA", 2, (200, 0, 0)), ("testB", 2, (0, 0, 200))]
    for name, count, colour in parts:
        write_images(root / name, count, colour)
    return root


def open_folder(spec: str) -> Source:
    """The opener a registry would be: here, only folders."""
    return FolderSource(spec)


def two_domains(count_a: int = 6, count_b: int = 9, size: int = 24) -> UnpairedSource:
    """A in red shades, B in blue shades (each image its own shade)."""
    reds = [Image.new("RGB", (size + 4, size), (100 + 10 * i, 0, 0)) for i in range(count_a)]
    blues = [Image.new("RGB", (size + 4, size), (0, 0, 100 + 10 * i)) for i in range(count_b)]
    return UnpairedSource.from_images("test", classes=("red", "blue"), train=(reds, blues),
                                      heldout=(reds[:2], blues[:2]))


# ---- the unpaired: source ---------------------------------------------------------------------


def test_reference_layout_holds_out_the_test_folders(tmp_path):
    source = unpaired_source(str(reference_layout(tmp_path / "h2z")), opener=open_folder)
    assert source.classes == ("A", "B")
    assert source.split("train").labels() == [0] * 5 + [1] * 3
    heldout = source.split("heldout")
    assert heldout.labels() == [0, 0, 1, 1]
    assert heldout[0]["image"].getpixel((0, 0))[:3] == (200, 0, 0)


def test_reference_layout_without_test_folders_holds_out_a_share_of_each_domain(tmp_path):
    source = reference_layout_source(reference_layout(tmp_path / "h2z", test_folders=False))
    assert source.split("heldout").labels() == [0, 1]
    assert source.split("train").labels() == [0] * 4 + [1] * 2


def test_two_sources_make_one_unpaired_set_each_split_on_its_own(tmp_path):
    write_images(tmp_path / "horses", 10, (255, 0, 0))
    write_images(tmp_path / "zebras", 5, (0, 0, 255))
    opened = []

    def opener(spec: str) -> Source:
        opened.append(spec)
        return FolderSource(spec)

    source = unpaired_source(f"{tmp_path / 'horses'}, {tmp_path / 'zebras'}", opener=opener)
    assert opened == [str(tmp_path / "horses"), str(tmp_path / "zebras")]
    assert source.split("train").labels() == [0] * 8 + [1] * 4
    assert source.split("heldout").labels() == [0] * 2 + [1] * 1


@pytest.mark.parametrize(("argument", "message"), [
    (None, "needs a folder"),
    ("not-a-folder", "not a folder, and not two sources"),
])
def test_a_bad_argument_is_one_line(argument, message):
    with pytest.raises(DataError, match=message) as error:
        unpaired_source(argument, opener=open_folder)
    assert "\n" not in str(error.value)


def test_a_folder_without_train_folders_names_what_is_missing(tmp_path):
    write_images(tmp_path / "h2z" / "trainA", 2, (0, 0, 0))
    with pytest.raises(DataError, match=r"missing trainB/"):
        reference_layout_source(tmp_path / "h2z")


def test_an_empty_domain_is_refused(tmp_path):
    empty = InMemorySource("empty", [], heldout=[])
    full = InMemorySource("full", [Image.new("RGB", (4, 4))], heldout=[])
    with pytest.raises(DataError, match="domain B has no images"):
        UnpairedSource("x", train=(full, empty), heldout=(full, full))


def test_the_host_registers_unpaired_and_opens_both_specs_through_the_registry(tmp_path):
    registered = {}
    builtin_sources.register_dataset_sources(
        lambda name, factory, help="": registered.update({name: (factory, help)}))
    factory, help = registered["unpaired"]
    assert "trainA/" in help and "SPEC_A,SPEC_B" in help
    write_images(tmp_path / "a", 5, (255, 0, 0))
    write_images(tmp_path / "b", 5, (0, 0, 255))
    # folder:SPEC is a registry name, which only the registry's open_source knows.
    source = factory(f"folder:{tmp_path / 'a'},folder:{tmp_path / 'b'}")
    assert source.split("train").labels() == [0] * 4 + [1] * 4


# ---- from records to tensors ----------------------------------------------------------------


def test_b_is_drawn_independently_of_a_and_reproducibly():
    data = UnpairedDataset(two_domains().split("train"), size=16, load_size=20, mode="RGB",
                           train=True)
    items = [data[(3, seed)] for seed in range(12)]
    assert torch.equal(data[(3, 5)]["B"], items[5]["B"])
    assert len({round(item["A"][0].mean().item(), 4) for item in items}) == 1  # A is record 3
    distinct_b = {round(item["B"][2].mean().item(), 4) for item in items}
    assert len(distinct_b) >= 5  # the same A index meets many different B images
    assert all(item["A"].shape == (3, 16, 16) for item in items)


def test_heldout_items_pair_a_with_b_by_index_and_domains_stack_unaugmented():
    data = UnpairedDataset(two_domains().split("train"), size=16, mode="RGB", train=False)
    assert len(data) == 9 and data.classes == ("red", "blue")
    assert torch.equal(data[7]["A"], data[1]["A"])  # 6 A images: index 7 wraps to 1
    reds, blues = data.domain(0), data.domain(1)
    assert reds.shape == (6, 3, 16, 16) and blues.shape == (9, 3, 16, 16)
    assert (reds[:, 0] > -1).all() and (reds[:, 2] == -1).all()
    assert (blues[:, 2] > -1).all() and (blues[:, 0] == -1).all()


def test_one_labelled_source_with_two_classes_is_unpaired_data():
    images = [Image.new("RGB", (16, 16), (255 * (i % 2), 0, 0)) for i in range(20)]
    source = InMemorySource("days", images, labels=[i % 2 for i in range(20)],
                            classes=("day", "night"))
    data = UnpairedDataset(source.split("train"), size=8, mode="RGB", train=False)
    assert data.classes == ("day", "night")
    assert data.domain(0)[:, 0].mean() < 0 < data.domain(1)[:, 0].mean()


def test_data_that_is_not_two_domains_is_refused_in_one_line(tmp_path):
    reference_layout(tmp_path / "h2z")
    four_classes = FolderSource(tmp_path / "h2z")  # opened as a folder, not as unpaired:
    with pytest.raises(DataError, match="use --data unpaired:PATH") as error:
        domain_indices(four_classes)
    assert "\n" not in str(error.value)
    unlabelled = InMemorySource("plain", [Image.new("RGB", (4, 4))] * 3)
    with pytest.raises(DataError, match="found no domain labels"):
        UnpairedDataset(unlabelled, size=4, mode="RGB", train=True)
