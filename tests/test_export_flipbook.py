"""Flipbook atlases: tile k is frame k, row-major order, edge-extended padding, power-of-two grids."""
import json

import numpy as np
import pytest

from talking_heads.app.cli import main
from talking_heads.core.errors import UserError
from talking_heads.export import provenance
from talking_heads.export.flipbook import build_atlas, plan_atlas, write_flipbook
from talking_heads.export.sequence import SequenceWriter, read_image, read_metadata
from talking_heads.core.metrics import psnr


def numbered_frames(count, size=(40, 56), channels=3):
    """Frames whose every pixel encodes its frame number, plus a gradient so edges differ from the inside."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for k in range(count):
        f = np.dstack([np.full((h, w), 10 * k), 3 * yy, 2 * xx] + [np.full((h, w), 255 - k)] * (channels - 3))
        frames.append(f.astype(np.uint8))
    return frames


def tile(atlas, layout, k):
    x, y, w, h = layout.frame_box(k)
    return atlas[y:y + h, x:x + w]


@pytest.mark.parametrize("count,columns,padding", [(7, None, 2), (12, 5, 0), (5, 1, 3), (16, 4, 4)])
def test_tile_k_is_frame_k_in_row_major_order(count, columns, padding):
    frames = numbered_frames(count)
    atlas, layout = build_atlas(frames, columns=columns, padding=padding)
    assert layout.columns == (columns or int(np.ceil(np.sqrt(count))))
    assert layout.rows == int(np.ceil(count / layout.columns))
    assert atlas.shape == (layout.rows * (40 + 2 * padding), layout.columns * (56 + 2 * padding), 3)
    for k in range(count):
        assert np.array_equal(tile(atlas, layout, k), frames[k])
        x, y = layout.cell(k)
        assert (x, y) == ((k % layout.columns) * layout.cell_width, (k // layout.columns) * layout.cell_height)
    for k in range(count, layout.rows * layout.columns):          # unused cells stay black
        x, y = layout.cell(k)
        assert not atlas[y:y + layout.cell_height, x:x + layout.cell_width].any()


def test_padding_repeats_the_frame_edge():
    frames = numbered_frames(4)
    atlas, layout = build_atlas(frames, columns=2, padding=3)
    for k, frame in enumerate(frames):
        x, y = layout.cell(k)
        cell = atlas[y:y + layout.cell_height, x:x + layout.cell_width]
        assert np.array_equal(cell, np.pad(frame, ((3, 3), (3, 3), (0, 0)), mode="edge"))
        assert np.array_equal(cell[0, 3:-3], frame[0]) and np.array_equal(cell[-1, 3:-3], frame[-1])
        assert np.array_equal(cell[3:-3, 0], frame[:, 0]) and np.all(cell[0, 0] == frame[0, 0])


def test_power_of_two_atlas_keeps_frames_whole():
    frames = numbered_frames(10, size=(40, 56), channels=4)
    atlas, layout = build_atlas(frames, padding=2, power_of_two=True)
    for side in atlas.shape[:2]:
        assert side & (side - 1) == 0
    assert layout.columns & (layout.columns - 1) == 0 and layout.rows & (layout.rows - 1) == 0
    assert layout.cell_width * layout.columns == layout.width and layout.cell_height * layout.rows == layout.height
    assert layout.frame_x >= 2 and layout.cell_width - layout.frame_x - 56 >= 2
    for k in range(10):
        assert np.array_equal(tile(atlas, layout, k), frames[k])
    with pytest.raises(UserError, match="power of two"):
        plan_atlas(10, (40, 56), columns=3, power_of_two=True)


def test_bad_input_is_a_user_error():
    with pytest.raises(UserError):
        build_atlas([])
    with pytest.raises(UserError, match="same size"):
        build_atlas([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)])
    with pytest.raises(UserError):
        plan_atlas(4, (8, 8), padding=-1)
    with pytest.raises(UserError, match="GPUs"):
        plan_atlas(400, (1024, 1024))


def test_written_atlas_sidecar_watermark_and_metadata(tmp_path):
    frames = numbered_frames(6, size=(72, 80))
    atlas_path, json_path = write_flipbook(frames, tmp_path / "fx.png", columns=3, padding=2, fps=24,
                                           frame_numbers=range(101, 107))
    side = json.loads(json_path.read_text())
    assert json_path == tmp_path / "fx.json" and side["image"] == "fx.png"
    assert (side["rows"], side["columns"], side["frame_count"], side["fps"], side["padding"]) == (2, 3, 6, 24, 2)
    assert (side["frame_width"], side["frame_height"]) == (80, 72)
    assert side["frame_numbers"] == list(range(101, 107)) and "AI-generated" in side["description"]

    atlas = read_image(atlas_path)
    assert atlas.shape == (side["height"], side["width"], 3)
    assert provenance.detect(atlas)[0]
    assert "AI-generated" in read_metadata(atlas_path)["Description"]
    _, layout = build_atlas(frames, columns=3, padding=2)
    for k in range(6):                                             # the watermark is faint
        assert psnr(tile(atlas, layout, k), frames[k]) > 38


def test_cli_flipbook_from_a_sequence(tmp_path):
    frames = numbered_frames(5, size=(64, 64))
    with SequenceWriter(tmp_path / "frames", start=11) as writer:
        for f in frames:
            writer.append(f)
    rc = main(["export", "flipbook", str(tmp_path / "frames"), "--out", str(tmp_path / "atlas.png"),
               "--columns", "2", "--padding", "1", "--fps", "12"])
    assert rc == 0
    side = json.loads((tmp_path / "atlas.json").read_text())
    assert (side["rows"], side["columns"], side["fps"], side["frame_numbers"]) == (3, 2, 12, [11, 12, 13, 14, 15])
