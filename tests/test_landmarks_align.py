"""core.landmarks.align: the evaluation protocol's crop, its inverse, the eye-aligned variant, paste-back."""
import cv2
import numpy as np
import pytest

from talking_heads.core.landmarks.align import (aligned_crop_matrix, crop_box, crop_image, crop_matrix, cut_box,
                                                feather_mask, from_crop, native_box, paste_box, to_crop)
from talking_heads.core.landmarks.face3d import MEAN_FACE_3D

FACE = (MEAN_FACE_3D[:, :2] * 60 + [250, 230]).astype(np.float32)


def test_crop_box_is_the_protocols():
    x0, y0 = FACE.min(axis=0)
    x1, y1 = FACE.max(axis=0)
    side = 2.0 * max(x1 - x0, y1 - y0)
    x, y, s = crop_box(FACE)
    assert s == pytest.approx(side)
    assert (x + s / 2, y + s / 2) == pytest.approx(((x0 + x1) / 2, (y0 + y1) / 2))


def test_crop_image_matches_the_protocols_warp(astronaut):
    box = (123.4, 40.2, 301.7)
    x, y, side = box
    m = np.array([[256 / side, 0, -x * 256 / side], [0, 256 / side, -y * 256 / side]])
    expected = cv2.warpAffine(astronaut, m, (256, 256), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    np.testing.assert_array_equal(crop_image(astronaut, box, 256), expected)
    assert crop_image(astronaut, box, 512).shape == (512, 512, 3)


def test_points_land_on_their_pixels_in_the_crop():
    image = np.zeros((400, 500, 3), np.uint8)
    image[237, 311] = 255  # one bright pixel at x=311, y=237
    box = (200.0, 150.0, 256.0)  # scale 1: crop pixels are image pixels
    crop = crop_image(image, box, 256)
    y, x = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    np.testing.assert_allclose(to_crop(np.array([[311.0, 237.0]]), box, 256), [[x, y]])


@pytest.mark.parametrize("size", [256, 512])
def test_to_crop_and_from_crop_are_inverse(size):
    box = crop_box(FACE)
    inside = to_crop(FACE, box, size)
    assert inside.min() > 0.2 * size and inside.max() < 0.8 * size  # the face fills the middle half
    np.testing.assert_allclose(from_crop(inside, box, size), FACE, atol=1e-3)
    matrix = crop_matrix(box, size)
    np.testing.assert_allclose(to_crop(FACE, matrix, size), inside, atol=1e-4)


def test_aligned_crop_levels_the_eyes():
    a = np.radians(20.0)
    tilted = (FACE - FACE.mean(0)) @ np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]).T + [260, 240]
    m = aligned_crop_matrix(tilted, 256)
    level = to_crop(tilted, m)
    left, right = level[36:42].mean(0), level[42:48].mean(0)
    assert abs(left[1] - right[1]) < 1e-3 and right[0] > left[0]
    assert level.min() > 0.2 * 256 and level.max() < 0.8 * 256
    np.testing.assert_allclose(from_crop(level, m), tilted, atol=1e-3)


def test_a_box_cut_and_pasted_back_at_whole_pixels_is_the_photo_exactly(astronaut):
    x0, y0, side = native_box((150.4, 59.6, 160.2))
    assert (x0, y0, side) == (150, 60, 160)
    region = cut_box(astronaut, x0, y0, side)
    assert region.shape == (160, 160, 3)
    np.testing.assert_array_equal(paste_box(astronaut, region, x0, y0), astronaut)


def test_paste_box_touches_only_the_box(astronaut):
    red = np.zeros((200, 200, 3), np.uint8)
    red[..., 0] = 255
    out = paste_box(astronaut, red, 200, 100)
    np.testing.assert_array_equal(out[200, 300], [255, 0, 0])
    outside = np.ones(astronaut.shape[:2], bool)
    outside[100:300, 200:400] = False
    np.testing.assert_array_equal(out[outside], astronaut[outside])


def test_a_box_that_leaves_the_photo_repeats_its_edge_and_pastes_what_is_inside(astronaut):
    region = cut_box(astronaut, -100, 400, 300)          # hangs over the left and bottom edges
    np.testing.assert_array_equal(region[0, 0], astronaut[400, 0])
    np.testing.assert_array_equal(region[-1, 150], astronaut[-1, 50])
    grey = np.full((300, 300, 3), 128, np.uint8)
    out = paste_box(astronaut, grey, -100, 400)
    assert out.shape == astronaut.shape
    np.testing.assert_array_equal(out[500, 60], [128, 128, 128])
    np.testing.assert_array_equal(out[100, 300], astronaut[100, 300])


def test_feather_mask():
    mask = feather_mask(256, 0.1)
    assert mask[128, 128] == 1.0 and mask[0, 0] < 0.01 and mask[0, 128] < 0.01
    assert np.all(np.diff(mask[128, :128]) >= 0)
