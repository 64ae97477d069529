"""Landmark tracks: the track file, extraction from a driving video, smoothing, retargeting, expression tracks.

Modules are imported on use, so that `python -m core --help` and the add-on stay fast:
`track_file` (the file format and `Track`; numpy and json only, so the add-on reads and writes tracks with it),
`extract` (a driving video to a track), `smooth` (gaps filled and jitter smoothed over time), `resample` (a
track at another frame rate), `retarget` (a reference face moved the way the driver moves) and `expression`
(ARKit-named expression weights moving a photo's face).
"""
