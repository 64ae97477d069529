"""The 68 landmarks' groups (iBUG 300-W order, 0-based): the one list the rig, the drawings, the tracks and
the warp read the face parts from. "Right" and "left" are the subject's (the right eye is on the image's left).
Lists, for numpy's and torch's fancy indexing and for joining groups with `+`; never change them."""

JAW = list(range(0, 17))
CHIN = 8
RIGHT_BROW, LEFT_BROW = list(range(17, 22)), list(range(22, 27))
BROWS = RIGHT_BROW + LEFT_BROW
NOSE_BRIDGE, NOSE_BASE = list(range(27, 31)), list(range(31, 36))
NOSE_TIP = 30
RIGHT_EYE, LEFT_EYE = list(range(36, 42)), list(range(42, 48))
OUTER_LIPS, INNER_LIPS = list(range(48, 60)), list(range(60, 68))
MOUTH = OUTER_LIPS + INNER_LIPS

OUTER_LOWER_LIP, INNER_LOWER_LIP = [55, 56, 57, 58, 59], [65, 66, 67]
OUTER_UPPER_LIP, INNER_UPPER_LIP = [49, 50, 51, 52, 53], [61, 62, 63]
RIGHT_CORNERS, LEFT_CORNERS = [48, 60], [54, 64]           # mouth corners, outer and inner
# Point pairs (upper, lower) that meet when the eye, or the mouth, closes.
RIGHT_LIDS, LEFT_LIDS = [(37, 41), (38, 40)], [(43, 47), (44, 46)]
INNER_LIP_PAIRS = [(61, 67), (62, 66), (63, 65)]
OUTER_EYE_CORNERS = (36, 45)
# Points an expression hardly moves: nose bridge and base, outer and inner eye corners.
RIGID = NOSE_BRIDGE + NOSE_BASE + [36, 39, 42, 45]

# Each point's counterpart in the mirror image (the face flipped left to right).
MIRRORED = (list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
            + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
            + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65])
