"""The identity split of the shared media: identities held out of meta-training, scored by the evaluation."""
from __future__ import annotations

import csv
import os
from pathlib import Path

from ..errors import UserError

# Identities held out of meta-training, as spelled in the `identity` column of ../shared/media/MANIFEST.tsv.
# The manifest names the man of DPE's two clips once per clip; both clips are held out.
VALIDATION_IDENTITIES = frozenset({
    "W011",          # dreamtalk-W011_*
    "andrew_ng",     # styletalk-andrew_clip_*
    "kristi_noem",   # styletalk-KristiNoem
    "reagan",        # styletalk-reagan_clip1
    "lia_man",       # LIA-driving2
    "dpe_man_d",     # DPE-d
    "dpe_man_s",     # DPE-s
    # wide shots and large crops, where frames at the photo's own resolution can be judged
    "M026",                   # spectre-MEAD_M026_* (1920x1080)
    "justin_trudeau",         # metrical-tracker-justin_video (1920x1080)
    "bill_skarsgard",         # smirk-samples_skarsgard (1920x1080)
    "pexels_redhair_woman",   # Rerender_A_Video-videos_pexels-koolshooters-7322716 (960x720)
    "anthony_fauci",          # fewshot-vid2vid-videos_00003 (560x700)
    "selena_gomez",           # VASA-1-hack-junk_M2Ohb0FAaJU_1 (512x512)
    "wojtek_man",             # metrical-tracker-wojtek_video (512x512)
})


def split_videos(media_dir: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """(training videos, validation videos) of a media folder, split by identity through its MANIFEST.tsv."""
    media_dir = Path(media_dir)
    manifest = media_dir / "MANIFEST.tsv"
    if not manifest.is_file():
        raise UserError(f"{manifest} not found: give the media folder that holds MANIFEST.tsv and videos/")
    train, val = [], []
    with open(manifest, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row.get("kind") != "video":
                continue
            path = media_dir / row["file"]
            (val if row["identity"] in VALIDATION_IDENTITIES else train).append(path)
    return sorted(train), sorted(val)
