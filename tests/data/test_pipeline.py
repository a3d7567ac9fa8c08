"""From records to batches: ImageDataset transforms, StepSampler resumability, loaders."""

from __future__ import annotations

import itertools
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.pipeline import (
    ImageDataset,
    StepSampler,
    first_items,
    to_tensor,
    training_loader,
)
from translate.data.sources import FolderSource, InMemorySource

RED, BLUE = (255, 0, 0), (0, 0, 255)


def ramp_source(count: int = 1, size: int = 16) -> InMemorySource:
    """Images whose 256 pixels are all different, so any flip or shift shows."""
    base = np.arange(size * size, dtype=np.uint32).reshape(size, size) % 256
    images = [Image.fromarray(((base + 37 * i) % 256).astype(np.uint8)) for i in range(count)]
    return InMemorySource("ramp", images, labels=list(range(count)))


def banded(width: int, height: int, band: int, outside=RED, inside=BLUE,
           vertical: bool = True) -> Image.Image:
    """`outside` borders `band` pixels wide (left/right, or top/bottom) around `inside`."""
    array = np.empty((height, width, 3), np.uint8)
    array[:] = outside
    if vertical:
        array[:, band:width - band] = inside
    else:
        array[band:height - band, :] = inside
    return Image.fromarray(array)


def as_uint8(tensor: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] back to uint8 (H, W, C)."""
    return np.rint((tensor.permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)


# --- ImageDataset -------------------------------------------------------------------------------


def test_digits_items(digits):
    dataset = ImageDataset(digits, size=16, mode="L")
    assert len(dataset) == 1797
    for index in (0, 42, 1796):
        item = dataset[index]
        image, label = item["image"], item["label"]
        assert image.shape == (1, 16, 16) and image.dtype == torch.float32
        assert image.min() >= -1 and image.max() <= 1
        assert label.dtype == torch.long and label.ndim == 0
        assert int(label) == digits[index]["label"]
    images = torch.stack([dataset[i]["image"] for i in range(0, 1797, 50)])
    assert images.min() == -1  # black background maps to -1
    assert images.max() > 0.9  # white ink close to +1 after resizing
    assert (images[:, :, 0, 0] == -1).all()


def test_to_tensor_scaling():
    grey = to_tensor(np.array([[0, 255], [128, 1]], np.uint8))
    assert grey.shape == (1, 2, 2)
    assert grey[0, 0, 0] == -1 and grey[0, 0, 1] == 1
    colour = to_tensor(np.zeros((3, 5, 3), np.uint8) + np.array([0, 255, 51], np.uint8))
    assert colour.shape == (3, 3, 5)
    assert torch.allclose(colour[:, 0, 0], torch.tensor([-1.0, 1.0, -0.6]))


def test_photo_items_are_square_rgb(photos):
    dataset = ImageDataset(photos, size=32, mode="RGB")
    for index in range(len(photos)):
        item = dataset[index]
        assert item["image"].shape == (3, 32, 32)
        assert item["image"].dtype == torch.float32
        assert item["image"].min() >= -1 and item["image"].max() <= 1
        assert "label" not in item


def test_photo_is_centre_cropped_like_a_manual_crop(photos):
    dataset = ImageDataset(photos, size=32, mode="RGB")
    wide = [i for i in range(len(photos)) if photos[i]["image"].width > photos[i]["image"].height]
    assert wide, "the bundled photos include landscape ones"
    for index in wide[:3]:
        photo = photos[index]["image"]
        scale = 32 / photo.height
        width = round(photo.width * scale)
        resized = photo.resize((width, 32), Image.BOX)
        left = (width - 32) // 2
        manual = np.asarray(resized.crop((left, 0, left + 32, 32)), np.int16)
        ours = as_uint8(dataset[index]["image"]).astype(np.int16)
        assert np.abs(ours - manual).mean() < 6, index
        uncropped = np.asarray(resized.crop((0, 0, 32, 32)), np.int16)
        if width >= 40:  # the left edge really is a different picture
            assert np.abs(ours - manual).mean() < np.abs(ours - uncropped).mean()


@pytest.mark.parametrize(("image", "label"), [
    (banded(96, 32, 32), "wide, no resize"),
    (banded(300, 100, 100), "wide, shrunk"),
    (banded(100, 300, 100, vertical=False), "tall, shrunk"),
    (banded(20, 10, 5), "wide, enlarged"),
])
def test_non_square_images_keep_their_centre(image: Image.Image, label: str):
    dataset = ImageDataset(InMemorySource("bands", [image, image]), size=32, mode="RGB")
    pixels = as_uint8(dataset[0]["image"])
    assert pixels.shape == (32, 32, 3)
    inner = pixels[2:-2, 2:-2] if "enlarged" in label else pixels
    assert (inner == BLUE).all(), label


def test_grey_and_colour_modes_convert(photos, digits):
    assert ImageDataset(photos, size=8, mode="L")[0]["image"].shape == (1, 8, 8)
    colour = ImageDataset(digits, size=8, mode="RGB")[0]["image"]
    assert colour.shape == (3, 8, 8)
    assert torch.equal(colour[0], colour[1]) and torch.equal(colour[1], colour[2])


def test_transparent_folder_images_land_on_white(tmp_path: Path):
    root = tmp_path / "flat"
    root.mkdir()
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (2, 2, 6, 6))
    image.save(root / "a.png")
    image.save(root / "b.png")
    item = ImageDataset(FolderSource(root), size=8, mode="RGB")[0]
    pixels = as_uint8(item["image"])
    assert tuple(pixels[0, 0]) == (255, 255, 255)
    assert tuple(pixels[4, 4]) == RED


# --- augmentation determinism ---------------------------------------------------------------


def test_same_key_gives_the_same_augmented_tensor():
    dataset = ImageDataset(ramp_source(3), size=16, mode="L",
                           augmentations=[A.HorizontalFlip(p=0.5)])
    keys = [(index, seed) for index in range(3) for seed in (0, 1, 2, 12345, 2**32 - 1)]
    first = {key: dataset[key]["image"] for key in keys}
    for key in reversed(keys):  # other keys drawn in between, in another order
        assert torch.equal(dataset[key]["image"], first[key]), key
    other = ImageDataset(ramp_source(3), size=16, mode="L",
                         augmentations=[A.HorizontalFlip(p=0.5)])
    for key in keys:  # a second dataset (as in another worker) agrees
        assert torch.equal(other[key]["image"], first[key]), key


def test_seeds_choose_different_flips():
    dataset = ImageDataset(ramp_source(), size=16, mode="L",
                           augmentations=[A.HorizontalFlip(p=0.5)])
    plain = ImageDataset(ramp_source(), size=16, mode="L")[0]["image"]
    flipped = torch.flip(plain, dims=[2])
    outcomes = []
    for seed in range(32):
        image = dataset[(0, seed)]["image"]
        assert torch.equal(image, plain) or torch.equal(image, flipped)
        outcomes.append(torch.equal(image, flipped))
    assert 4 <= sum(outcomes) <= 28


def test_without_augmentations_the_seed_does_not_matter():
    dataset = ImageDataset(ramp_source(), size=16, mode="L")
    assert all(torch.equal(dataset[(0, seed)]["image"], dataset[0]["image"]) for seed in range(5))


def test_independent_augmentations_are_not_correlated():
    dataset = ImageDataset(ramp_source(), size=16, mode="L",
                           augmentations=[A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)])
    plain = ImageDataset(ramp_source(), size=16, mode="L")[0]["image"]
    seen = set()
    for seed in range(64):
        image = dataset[(0, seed)]["image"]
        for horizontal, vertical in itertools.product((False, True), repeat=2):
            dims = [d for d, on in ((2, horizontal), (1, vertical)) if on]
            if torch.equal(image, torch.flip(plain, dims=dims) if dims else plain):
                seen.add((horizontal, vertical))
    assert seen == set(itertools.product((False, True), repeat=2))


# --- StepSampler ----------------------------------------------------------------------------------


def indices(batch: list[tuple[int, int]]) -> list[int]:
    return [index for index, _ in batch]


@pytest.mark.parametrize("resume_at", [0, 1, 5, 13])
def test_resumed_sampler_sees_the_same_batches(resume_at: int):
    stream = iter(StepSampler(50, 8, seed=3))
    batches = [next(stream) for _ in range(resume_at + 4)]
    resumed = iter(StepSampler(50, 8, seed=3, start_batch=resume_at))
    assert [next(resumed) for _ in range(4)] == batches[resume_at:]
    assert StepSampler(50, 8, seed=3).batch(resume_at) == batches[resume_at]


def test_batches_are_pure_functions_of_seed_and_number():
    sampler = StepSampler(50, 8, seed=3)
    later = sampler.batch(20)
    for number in (3, 0, 7):  # drawing others in between changes nothing
        sampler.batch(number)
    assert sampler.batch(20) == later
    assert StepSampler(50, 8, seed=4).batch(20) != later
    for batch in (sampler.batch(0), later):
        assert len(batch) == 8
        assert all(isinstance(i, int) and isinstance(s, int) for i, s in batch)
        assert all(0 <= i < 50 for i, _ in batch)


@pytest.mark.parametrize(("size", "batch_size"), [(20, 5), (7, 3), (10, 10), (1, 4)])
def test_every_record_once_per_epoch(size: int, batch_size: int):
    sampler = StepSampler(size, batch_size, seed=11)
    stream = [key for number in range(3 * size) for key in sampler.batch(number)]
    for epoch in range(3):
        order = indices(stream[epoch * size:(epoch + 1) * size])
        assert sorted(order) == list(range(size)), epoch
    if size > 3:  # a fresh order each epoch
        assert indices(stream[:size]) != indices(stream[size:2 * size])


def test_dataset_smaller_than_a_batch(digits):
    sampler = StepSampler(3, 8, seed=0)
    batch = sampler.batch(0)
    assert len(batch) == 8
    counts = np.bincount(indices(batch), minlength=3)
    assert counts.sum() == 8 and counts.min() >= 2 and counts.max() <= 3
    assert sorted(indices(batch)[:3]) == [0, 1, 2]
    tiny = InMemorySource("tiny", [digits[i]["image"] for i in range(3)], labels=[0, 1, 2])
    loader = training_loader(ImageDataset(tiny, size=8, mode="L"), sampler, workers=0)
    first = next(iter(loader))
    assert first["image"].shape == (8, 1, 8, 8)
    assert first["label"].tolist() == indices(batch)


def test_ranks_get_disjoint_shares_of_a_global_batch():
    ranks = [StepSampler(100, 8, seed=5, rank=r, world_size=2) for r in range(2)]
    whole = StepSampler(100, 16, seed=5)
    for number in range(6):  # six global batches of 16: within the first epoch
        zero, one = ranks[0].batch(number), ranks[1].batch(number)
        assert len(zero) == len(one) == 8
        assert not set(indices(zero)) & set(indices(one))
        assert zero + one == whole.batch(number)  # the same records as one process would see
    resumed = StepSampler(100, 8, seed=5, rank=1, world_size=2, start_batch=4)
    assert next(iter(resumed)) == ranks[1].batch(4)


def test_augmentation_seeds_differ_by_position():
    sampler = StepSampler(5, 4, seed=0)
    keys = [key for number in range(25) for key in sampler.batch(number)]
    seeds = [seed for _, seed in keys]
    assert len(set(seeds)) == len(seeds)  # the same record in another epoch is augmented anew
    assert all(0 <= seed < 2**32 for seed in seeds)
    assert [s for _, s in StepSampler(5, 4, seed=1).batch(0)] != seeds[:4]


def test_empty_dataset_is_refused():
    with pytest.raises(ValueError, match="empty"):
        StepSampler(0, 4, seed=0)


# --- training_loader --------------------------------------------------------------------------


def take(loader, count: int) -> list[dict[str, torch.Tensor]]:
    stream = iter(loader)
    try:
        return [next(stream) for _ in range(count)]
    finally:
        shutdown = getattr(stream, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        del stream


def test_loader_batches_do_not_depend_on_workers(digits):
    dataset = ImageDataset(digits, size=8, mode="L",
                           augmentations=[A.HorizontalFlip(p=0.5), A.Rotate(limit=30, p=1.0)])
    sampler = StepSampler(len(dataset), 6, seed=7)
    inline = take(training_loader(dataset, sampler, workers=0), 3)
    parallel = take(training_loader(dataset, sampler, workers=2), 3)
    for number, (a, b) in enumerate(zip(inline, parallel, strict=True)):
        assert a["image"].shape == (6, 1, 8, 8)
        assert torch.equal(a["image"], b["image"]), number
        assert torch.equal(a["label"], b["label"]), number
        expected = [dataset[key] for key in sampler.batch(number)]
        assert torch.equal(a["image"], torch.stack([e["image"] for e in expected]))
        assert a["label"].tolist() == [int(e["label"]) for e in expected]
    assert not torch.equal(inline[0]["image"], inline[1]["image"])


def test_resumed_loader_continues_the_stream(digits):
    dataset = ImageDataset(digits, size=8, mode="L", augmentations=[A.HorizontalFlip(p=0.5)])
    full = take(training_loader(dataset, StepSampler(len(dataset), 4, seed=2), workers=0), 4)
    resumed = take(training_loader(dataset, StepSampler(len(dataset), 4, seed=2, start_batch=2),
                                   workers=0), 2)
    for a, b in zip(full[2:], resumed, strict=True):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])


# --- first_items ------------------------------------------------------------------------------


def test_first_items_stacks_and_cycles(digits):
    small = InMemorySource("five", [digits[i]["image"] for i in range(5)],
                           labels=[digits[i]["label"] for i in range(5)])
    dataset = ImageDataset(small, size=8, mode="L")
    batch = first_items(dataset, 12)
    assert set(batch) == {"image", "label"}
    assert batch["image"].shape == (12, 1, 8, 8) and batch["label"].shape == (12,)
    assert batch["label"].dtype == torch.long
    for i in range(12):
        assert torch.equal(batch["image"][i], dataset[i % 5]["image"])
    assert batch["label"].tolist() == [small[i % 5]["label"] for i in range(12)]
    few = first_items(dataset, 3)
    assert torch.equal(few["image"], batch["image"][:3])


def test_first_items_without_labels(photos):
    batch = first_items(ImageDataset(photos, size=8, mode="RGB"), 2)
    assert set(batch) == {"image"} and batch["image"].shape == (2, 3, 8, 8)
