"""Training and evaluation holes: the share they cover, their seeds, strokes, mask files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from translate.data.holes import MaskFiles, draw_mask, fixed_masks, hole_ratio
from translate.errors import DataError


def stroke_mask(width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
    """White on black: `box` is the hole."""
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=255)
    return mask


@pytest.mark.parametrize("kind", ["freeform", "rectangles", "mixed"])
@pytest.mark.parametrize("area", [(0.1, 0.2), (0.3, 0.4)])
def test_drawn_masks_cover_the_requested_share(kind: str, area: tuple[float, float]) -> None:
    rng = np.random.default_rng(0)
    ratios = [hole_ratio(draw_mask(rng, 64, kind=kind, area=area)) for _ in range(40)]
    assert area[0] <= min(ratios) and max(ratios) <= area[1]
    assert max(ratios) - min(ratios) > 0.03  # spread over the range, not one fixed size


def test_masks_are_a_function_of_the_seed() -> None:
    first, again = fixed_masks(5, 64, (0.1, 0.2), seed=3), fixed_masks(5, 64, (0.1, 0.2), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    other = fixed_masks(5, 64, (0.1, 0.2), seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    assert set(np.unique(np.concatenate(first))) <= {0.0, 1.0}


def test_free_form_masks_are_strokes_not_boxes() -> None:
    mask = draw_mask(np.random.default_rng(1), 64, kind="freeform", area=(0.3, 0.4))
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    assert mask.sum() < 0.9 * box  # a box would fill its bounding box


def test_mask_files_are_read_resized_and_checked(tmp_path: Path) -> None:
    stroke_mask(40, 40, (0, 0, 20, 40)).save(tmp_path / "half.png")
    masks = MaskFiles(tmp_path)
    mask = masks(np.random.default_rng(0), 64)
    assert mask.shape == (64, 64) and hole_ratio(mask) == pytest.approx(0.5)
    with pytest.raises(DataError, match="no such mask folder"):
        MaskFiles(tmp_path / "half.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no mask images"):
        MaskFiles(empty)


