"""Self-reenactment evaluation: re-create held-out frames of a talking-head video from their landmarks.

The protocol (../shared/eval/PROTOCOL.md; `selfreenact.py` beside it is the reference implementation, whose
`copy` and `warp` figures this package reproduces exactly). For each video:

- reference frames: T=1 takes frame 0; T>1 takes T frames spread evenly over the first half;
- test frames: N frames spread evenly over the second half, never shown to the method;
- driver: the dlib 68 landmarks of each real test frame (a frame where dlib finds no face is skipped);
- crop: one square crop per video from the first reference's landmarks (`core.landmarks.align`), 256 px;
- metrics on the crop, RGB in [0, 1]: L1, PSNR, SSIM, AKD (mean distance between the dlib landmarks of the
  generated and of the real crop, over frames where both are found; `akd_miss` is the share where they are
  not) and ID (distance between dlib face descriptors; under 0.6 reads as the same person).
  Each is averaged over the test frames of a video, then over videos.

A method is a callable `(references, reference_points, drivers) -> crops`: full reference frames, their
landmarks and the drivers' landmarks, all in the frames' pixels, give one 256 x 256 protocol crop per driver.
`copy` and `warp` are the protocol's baselines, `model` fine-tunes a person model on the references, and
`dir:PATH` scores crops another program wrote. dlib is the measuring instrument and runs in worker processes.

The package: `protocol` (frame selection, the cases), `judge` (dlib and its process pool), `metrics`,
`methods`, `score` (the scoring loop) and `report` (tables and contact sheets); `python -m core evaluate` is
`app/commands/evaluate.py`. The identity split of the shared media lives with the training data
(`core.training.split`).
"""
