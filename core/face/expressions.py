"""Expressions: shape-key deltas of the rig (`core.face.rest_pose`) named after ARKit's blendshapes.

They are measured on this face: a blink closes this person's eyelids, an open jaw drops this chin by a
fraction of this face's height. There are 43 of ARKit's 52: all but the eight eyeLook* keys and tongueOut,
which the 68 landmarks cannot show (no pupils, no tongue). As in ARKit, mouthClose closes the lips against
jawOpen: they meet when the two are equal. numpy only: the add-on imports it.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..landmarks.groups import (INNER_LIP_PAIRS, INNER_LOWER_LIP, INNER_UPPER_LIP, JAW, LEFT_BROW, LEFT_CORNERS,
                                LEFT_LIDS, MOUTH, NOSE_BRIDGE, OUTER_LOWER_LIP, OUTER_UPPER_LIP, RIGHT_BROW,
                                RIGHT_CORNERS, RIGHT_LIDS)
from .rest_pose import N_LANDMARKS, FaceMeasures


def _falloff(rest: np.ndarray, centre: np.ndarray, radius: float, region: list[int]) -> np.ndarray:
    """Weights (68,) that are 1 at `centre` and fall off smoothly over `radius`, zero outside `region`."""
    weights = np.zeros(N_LANDMARKS)
    d = np.linalg.norm(rest[region, :2] - centre[:2], axis=1)
    weights[region] = np.exp(-((d / radius) ** 2))
    return weights


def _jaw_weights(rest: np.ndarray, m: FaceMeasures) -> np.ndarray:
    """How much each point follows the lower jaw: the chin fully, the jaw line less towards the ears, the
    lower lip almost fully and the mouth corners half."""
    weights = np.zeros(N_LANDMARKS)
    chin_drop = np.clip((rest[NOSE_BRIDGE[0], 1] - rest[JAW, 1]) / m.face_height, 0.0, 1.0)
    weights[JAW] = chin_drop ** 2
    weights[OUTER_LOWER_LIP + INNER_LOWER_LIP] = 0.85
    weights[RIGHT_CORNERS + LEFT_CORNERS] = 0.45
    return weights


def _jaw_open(rest, m):
    w = _jaw_weights(rest, m)
    drop = 0.22 * m.face_height
    delta = np.zeros_like(rest)
    delta[:, 1] = -drop * w
    delta[:, 2] = -0.25 * drop * w  # the chin swings back as the jaw turns on its hinge
    centre_x = rest[MOUTH, 0].mean()
    corners = RIGHT_CORNERS + LEFT_CORNERS
    delta[corners, 0] = -0.08 * (rest[corners, 0] - centre_x)
    return delta


def _jaw_sideways(rest, m, sign):
    delta = np.zeros_like(rest)
    delta[:, 0] = sign * 0.06 * m.face_width * _jaw_weights(rest, m)
    return delta


def _jaw_forward(rest, m):
    delta = np.zeros_like(rest)
    delta[:, 2] = 0.08 * m.face_height * _jaw_weights(rest, m)
    return delta


def _mouth_corner(rest, m, corners, sign, up, out):
    """Move one mouth corner (and its neighbourhood) up/down and outwards/inwards."""
    w = _falloff(rest, rest[corners[0]], 0.3 * m.mouth_width, MOUTH)
    delta = np.zeros_like(rest)
    delta[:, 0] = sign * out * m.mouth_width * w
    delta[:, 1] = up * m.mouth_width * w
    return delta


def _mouth_pucker(rest, m):
    delta = np.zeros_like(rest)
    centre = rest[MOUTH].mean(axis=0)
    delta[MOUTH, 0] = -0.4 * (rest[MOUTH, 0] - centre[0])
    delta[MOUTH, 1] = -0.1 * (rest[MOUTH, 1] - centre[1])
    delta[MOUTH, 2] = 0.15 * m.mouth_width
    return delta


def _mouth_funnel(rest, m):
    delta = _mouth_pucker(rest, m) * 0.6
    delta[INNER_UPPER_LIP + OUTER_UPPER_LIP, 1] += 0.06 * m.mouth_width
    delta[INNER_LOWER_LIP + OUTER_LOWER_LIP, 1] -= 0.08 * m.mouth_width
    return delta


def _mouth_sideways(rest, m, sign):
    delta = np.zeros_like(rest)
    delta[MOUTH, 0] = sign * 0.15 * m.mouth_width
    return delta


def _blink(rest, m, lids, amount=1.0):
    """Upper and lower lids meet a fifth of the way up from the lower lid (ARKit: eyes fully closed)."""
    delta = np.zeros_like(rest)
    for upper, lower in lids:
        meet = rest[lower] + 0.2 * (rest[upper] - rest[lower])
        delta[upper] = amount * (meet - rest[upper])
        delta[lower] = amount * (meet - rest[lower])
    return delta


def _eye_wide(rest, m, lids):
    delta = np.zeros_like(rest)
    for upper, lower in lids:
        delta[upper, 1] = 0.5 * (rest[upper, 1] - rest[lower, 1])
    return delta


def _eye_squint(rest, m, lids):
    delta = np.zeros_like(rest)
    for upper, lower in lids:
        delta[lower, 1] = 0.35 * (rest[upper, 1] - rest[lower, 1])
    return delta


def _brows_up(rest, m, weights_by_point):
    delta = np.zeros_like(rest)
    for point, weight in weights_by_point.items():
        gap = m.right_brow_gap if point in RIGHT_BROW else m.left_brow_gap
        delta[point, 1] = 0.4 * gap * weight
    return delta


def _brow_down(rest, m, brow, inner, gap, towards_nose):
    """Lower a brow and pull its inner end towards the nose (a frown)."""
    delta = np.zeros_like(rest)
    delta[brow, 1] = -0.3 * gap
    delta[inner, 0] = towards_nose * 0.05 * m.face_width
    return delta


def _cheek_puff(rest, m):
    delta = np.zeros_like(rest)
    centre_x = rest[JAW, 0].mean()
    cheeks = list(range(2, 7)) + list(range(10, 15))
    delta[cheeks, 0] = 0.05 * m.face_width * np.sign(rest[cheeks, 0] - centre_x)
    delta[MOUTH, 2] = 0.05 * m.mouth_width
    return delta


# The lips in columns, from the subject's right (image left) to the left: each inner pair (upper, lower) that
# meets when the mouth closes, and the outer points above and below it with how far they follow it (those
# next to the corners half as far).
_LIP_COLUMNS = [((61, 67), [(50, 58, 1.0), (49, 59, 0.5)]),
                ((62, 66), [(51, 57, 1.0)]),
                ((63, 65), [(52, 56, 1.0), (53, 55, 0.5)])]
assert [pair for pair, _ in _LIP_COLUMNS] == INNER_LIP_PAIRS
UPPER_LIP, LOWER_LIP = OUTER_UPPER_LIP + INNER_UPPER_LIP, OUTER_LOWER_LIP + INNER_LOWER_LIP
CLOSE_UPPER_SHARE = 0.4   # of a rest gap between the lips, how much mouthClose takes from the upper lip


def _mouth_close(rest, m):
    """ARKit's mouthClose: the lips close against the open jaw. With jawOpen at the same weight it undoes
    what the jaw did to the lips (the chin stays down) and closes the photo's own gap between them, the upper
    lip coming down 40% of it and the lower lip up the rest, so that at equal weights the inner lips meet
    (exactly at every weight for a photo with closed lips, at full weight for one with parted lips). Alone,
    as in ARKit, it is not meant to be used."""
    jaw = _jaw_open(rest, m)
    delta = np.zeros_like(rest)
    for (upper, lower), outers in _LIP_COLUMNS:
        gap = max(float(rest[upper, 1] - rest[lower, 1]), 0.0)
        down = np.array([0.0, -CLOSE_UPPER_SHARE * gap, 0.0])
        up = np.array([0.0, (1 - CLOSE_UPPER_SHARE) * gap, 0.0])
        delta[upper], delta[lower] = down, up - jaw[lower]
        for outer_upper, outer_lower, weight in outers:
            delta[outer_upper] = weight * down
            delta[outer_lower] = weight * up - jaw[outer_lower]
    corners = RIGHT_CORNERS + LEFT_CORNERS
    delta[corners] = -0.5 * jaw[corners]  # the corners come half way back up: the lips meet along the line
    return delta


def _mouth_roll(rest, m, upper: bool):
    """A lip rolls in over the teeth: its red shrinks towards the line where the lips meet, and it goes back."""
    delta = np.zeros_like(rest)
    for (inner_upper, inner_lower), outers in _LIP_COLUMNS:
        inner = inner_upper if upper else inner_lower
        for outer_upper, outer_lower, weight in outers:
            outer = outer_upper if upper else outer_lower
            delta[outer, :2] = 0.6 * weight * (rest[inner, :2] - rest[outer, :2])
            delta[outer, 2] = -0.08 * weight * m.mouth_width
        delta[inner, 2] = -0.08 * m.mouth_width
    return delta


def _mouth_shrug(rest, m, upper: bool):
    """A lip pushed up and forward (mouthShrugLower: the chin raiser's pout; mouthShrugUpper: the upper lip)."""
    delta = np.zeros_like(rest)
    points = UPPER_LIP if upper else LOWER_LIP
    delta[points, 1] = (0.05 if upper else 0.07) * m.mouth_width
    delta[points, 2] = 0.05 * m.mouth_width
    return delta


def _side_weights(rest, m, corners, region):
    """Weights over `region` for one side of the mouth: 1 half-way between that corner and the mouth's
    centre, falling off across the middle of the mouth."""
    centre = 0.6 * rest[corners[0]] + 0.4 * rest[MOUTH].mean(axis=0)
    return _falloff(rest, centre, 0.45 * m.mouth_width, region)


def _mouth_press(rest, m, corners):
    """One side's lips pressed together: thinner (the outer lines come towards the inner ones) and closed."""
    weights = _side_weights(rest, m, corners, MOUTH)
    delta = np.zeros_like(rest)
    for (upper, lower), outers in _LIP_COLUMNS:
        gap = max(float(rest[upper, 1] - rest[lower, 1]), 0.0)
        delta[upper, 1] = -0.5 * gap * weights[upper]
        delta[lower, 1] = 0.5 * gap * weights[lower]
        for outer_upper, outer_lower, weight in outers:
            for outer, inner in ((outer_upper, upper), (outer_lower, lower)):
                thickness = rest[outer, 1] - rest[inner, 1]
                delta[outer, 1] = delta[inner, 1] * weight - 0.3 * thickness * weights[outer]
    return delta


def _lip_side(rest, m, corners, points, amount):
    """One side of a lip up (amount > 0) or down, in mouth widths (mouthUpperUp*, mouthLowerDown*)."""
    delta = np.zeros_like(rest)
    delta[:, 1] = amount * m.mouth_width * _side_weights(rest, m, corners, points)
    return delta


def _mouth_dimple(rest, m, corners, sign):
    """A mouth corner pulled back and a little outwards."""
    weights = _falloff(rest, rest[corners[0]], 0.25 * m.mouth_width, MOUTH)
    delta = np.zeros_like(rest)
    delta[:, 0] = sign * 0.04 * m.mouth_width * weights
    delta[:, 2] = -0.08 * m.mouth_width * weights
    return delta


def _cheek_squint(rest, m, lids, cheek):
    """A cheek raised: its part of the jaw line goes up and pushes the lower eyelid up."""
    delta = np.zeros_like(rest)
    for upper, lower in lids:
        delta[lower, 1] = 0.25 * (rest[upper, 1] - rest[lower, 1])
    delta[cheek, 1] = 0.025 * m.face_height
    return delta


def _nose_sneer(rest, m, nostril, upper_lip):
    """A nostril wing pulled up, and the upper lip below it a little (kept small: retargeting takes the nose
    base as rigid)."""
    delta = np.zeros_like(rest)
    delta[nostril[0], 1] = 0.025 * m.face_height
    delta[nostril[1], 1] = 0.012 * m.face_height
    delta[upper_lip, 1] = 0.01 * m.face_height
    return delta


# name -> delta(rest, measures). "Left" and "Right" are the subject's, as in ARKit: the subject's left is
# on the right of the picture (+x in the face frame).
EXPRESSIONS = {
    "jawOpen": _jaw_open,
    "jawLeft": lambda r, m: _jaw_sideways(r, m, +1),
    "jawRight": lambda r, m: _jaw_sideways(r, m, -1),
    "jawForward": _jaw_forward,
    "mouthSmileLeft": lambda r, m: _mouth_corner(r, m, LEFT_CORNERS, +1, up=0.12, out=0.12),
    "mouthSmileRight": lambda r, m: _mouth_corner(r, m, RIGHT_CORNERS, -1, up=0.12, out=0.12),
    "mouthFrownLeft": lambda r, m: _mouth_corner(r, m, LEFT_CORNERS, +1, up=-0.1, out=0.02),
    "mouthFrownRight": lambda r, m: _mouth_corner(r, m, RIGHT_CORNERS, -1, up=-0.1, out=0.02),
    "mouthStretchLeft": lambda r, m: _mouth_corner(r, m, LEFT_CORNERS, +1, up=-0.04, out=0.1),
    "mouthStretchRight": lambda r, m: _mouth_corner(r, m, RIGHT_CORNERS, -1, up=-0.04, out=0.1),
    "mouthPucker": _mouth_pucker,
    "mouthFunnel": _mouth_funnel,
    "mouthLeft": lambda r, m: _mouth_sideways(r, m, +1),
    "mouthRight": lambda r, m: _mouth_sideways(r, m, -1),
    "eyeBlinkLeft": lambda r, m: _blink(r, m, LEFT_LIDS),
    "eyeBlinkRight": lambda r, m: _blink(r, m, RIGHT_LIDS),
    "eyeWideLeft": lambda r, m: _eye_wide(r, m, LEFT_LIDS),
    "eyeWideRight": lambda r, m: _eye_wide(r, m, RIGHT_LIDS),
    "eyeSquintLeft": lambda r, m: _eye_squint(r, m, LEFT_LIDS),
    "eyeSquintRight": lambda r, m: _eye_squint(r, m, RIGHT_LIDS),
    "browInnerUp": lambda r, m: _brows_up(r, m, {21: 1.0, 22: 1.0, 20: 0.7, 23: 0.7, 19: 0.3, 24: 0.3}),
    "browOuterUpLeft": lambda r, m: _brows_up(r, m, {26: 1.0, 25: 0.8, 24: 0.4}),
    "browOuterUpRight": lambda r, m: _brows_up(r, m, {17: 1.0, 18: 0.8, 19: 0.4}),
    "browDownLeft": lambda r, m: _brow_down(r, m, LEFT_BROW, [22, 23], m.left_brow_gap, -1),
    "browDownRight": lambda r, m: _brow_down(r, m, RIGHT_BROW, [21, 20], m.right_brow_gap, +1),
    "cheekPuff": _cheek_puff,
    # the keys ARKit lip sync and iPhone captures add (eyeLook* and tongueOut are not landmark motion: the
    # 68 points have no pupils and no tongue)
    "mouthClose": _mouth_close,
    "mouthRollLower": lambda r, m: _mouth_roll(r, m, upper=False),
    "mouthRollUpper": lambda r, m: _mouth_roll(r, m, upper=True),
    "mouthShrugLower": lambda r, m: _mouth_shrug(r, m, upper=False),
    "mouthShrugUpper": lambda r, m: _mouth_shrug(r, m, upper=True),
    "mouthPressLeft": lambda r, m: _mouth_press(r, m, LEFT_CORNERS),
    "mouthPressRight": lambda r, m: _mouth_press(r, m, RIGHT_CORNERS),
    "mouthLowerDownLeft": lambda r, m: _lip_side(r, m, LEFT_CORNERS, LOWER_LIP, -0.12),
    "mouthLowerDownRight": lambda r, m: _lip_side(r, m, RIGHT_CORNERS, LOWER_LIP, -0.12),
    "mouthUpperUpLeft": lambda r, m: _lip_side(r, m, LEFT_CORNERS, UPPER_LIP, 0.1),
    "mouthUpperUpRight": lambda r, m: _lip_side(r, m, RIGHT_CORNERS, UPPER_LIP, 0.1),
    "mouthDimpleLeft": lambda r, m: _mouth_dimple(r, m, LEFT_CORNERS, +1),
    "mouthDimpleRight": lambda r, m: _mouth_dimple(r, m, RIGHT_CORNERS, -1),
    "cheekSquintLeft": lambda r, m: _cheek_squint(r, m, LEFT_LIDS, [13, 14, 15]),
    "cheekSquintRight": lambda r, m: _cheek_squint(r, m, RIGHT_LIDS, [1, 2, 3]),
    "noseSneerLeft": lambda r, m: _nose_sneer(r, m, [35, 34], [52, 53]),
    "noseSneerRight": lambda r, m: _nose_sneer(r, m, [31, 32], [50, 49]),
}


# The face parts the expressions are shown under (the add-on's sidebar), each by the ARKit names' prefixes.
FACE_PARTS = {"Jaw": ("jaw",), "Mouth": ("mouth",), "Eyes": ("eye",), "Brows": ("brow",),
              "Cheeks and Nose": ("cheek", "nose")}


def expression_groups() -> dict[str, tuple[str, ...]]:
    """Every expression under its face part, in `EXPRESSIONS`' order within a part."""
    groups = {part: tuple(n for n in EXPRESSIONS if n.startswith(prefixes)) for part, prefixes in FACE_PARTS.items()}
    grouped = [n for names in groups.values() for n in names]
    if sorted(grouped) != sorted(EXPRESSIONS):  # an expression with a new prefix: say so, never drop it
        raise ValueError(f"expressions in no face part, or in two: {sorted(set(EXPRESSIONS) ^ set(grouped))}")
    return groups


def expression_deltas(rest: np.ndarray) -> dict[str, np.ndarray]:
    """Each expression's vertex offsets (68, 3) at full strength, in the face frame, for this rest shape."""
    rest = np.asarray(rest, dtype=np.float64)
    if rest.shape != (N_LANDMARKS, 3):
        raise UserError(f"the rig needs exactly {N_LANDMARKS} vertices in iBUG order, found {len(rest)}; "
                        f"build a new rig")
    measures = FaceMeasures.of(rest)
    return {name: delta(rest, measures) for name, delta in EXPRESSIONS.items()}
