"""core.landmarks.align: the evaluation protocol's crop, its inverse, the eye-aligned variant, paste-back."""
import cv2
import numpy as np
import pytest

from core.landmarks.align import (aligned_crop_matrix, crop_box, crop_image, crop_matrix, feather_mask,
                                  from_crop, paste_back, to_crop)
from core.landmarks.face3d import MEAN_FACE_3D

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


def test_paste_back_of_the_unchanged_crop_restores_the_photo(astronaut):
    photo = cv2.GaussianBlur(astronaut, (0, 0), 3)  # smooth, so resampling twice changes little
    box = (150.0, 60.0, 160.0)
    crop = crop_image(photo, box, 256)
    out = paste_back(photo, crop, box)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - photo).mean() < 0.5


def test_paste_back_is_feathered_and_touches_only_the_crop(astronaut):
    box = (200.0, 100.0, 200.0)
    red = np.zeros((256, 256, 3), np.uint8)
    red[..., 0] = 255
    out = paste_back(astronaut, red, box, feather=0.1)
    np.testing.assert_array_equal(out[200, 300], [255, 0, 0])  # the middle of the crop is the crop
    outside = np.ones(astronaut.shape[:2], bool)
    outside[99:302, 199:402] = False
    np.testing.assert_array_equal(out[outside], astronaut[outside])  # nothing outside the box changes
    row = out[200, 195:245, 0].astype(int)  # across the left edge, inward: a gradual rise, no step
    gap = red[0, 0, 0] - astronaut[200, 195:245, 0].astype(int)
    weight = (row - astronaut[200, 195:245, 0]) / np.where(gap == 0, 1, gap)
    assert np.all(np.diff(weight) > -0.05) and np.max(np.diff(weight)) < 0.2


def test_paste_back_of_a_crop_that_leaves_the_photo(astronaut):
    box = (-100.0, 400.0, 300.0)  # hangs over the left and bottom edges
    grey = np.full((256, 256, 3), 128, np.uint8)
    out = paste_back(astronaut, grey, box)
    assert out.shape == astronaut.shape
    np.testing.assert_array_equal(out[500, 60], [128, 128, 128])
    np.testing.assert_array_equal(out[100, 300], astronaut[100, 300])


def test_feather_mask():
    mask = feather_mask(256, 0.1)
    assert mask[128, 128] == 1.0 and mask[0, 0] < 0.01 and mask[0, 128] < 0.01
    assert np.all(np.diff(mask[128, :128]) >= 0)
