"""The identity split of the shared media: who trains, who settings are chosen on, who only judges.

Three groups of whole people (every clip of a person in one group):
- **test**: people nothing was trained on and no choice looked at; only the final judgement scores them.
- **choice**: people the prior was never trained on, split into `CHOICE_FOLDS` folds. A setting is chosen
  by cross-validation: it must win on each fold apart, not only on their sum, so that it does not learn a few
  people (the last round's mouth gate, chosen on seven people, did not carry over to new ones).
- **training**: everyone else.
"""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
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


# People first in the manifest on 2026-12-07 (42 of them, one clip each) whose identity's SHA-1 is 0 modulo 3:
# the test people. Written out, not computed, so that the group cannot drift as the media grows.
TEST_IDENTITIES = frozenset({
    "frvd_bearded_man_dark_hair", "frvd_man_microphone_lanyard", "gal_gadot", "german_news_anchor_man",
    "headgan_blonde_woman", "hellomeme_amns_man_straw_hat", "hellomeme_jgz_laughing_man_long_hair",
    "liax_asian_man_blue_tee", "liax_woman_dark_hair_white_bg", "norm_macdonald", "opendbm_subj01_man_navy_tee",
    "opendbm_subj02_man_beard", "pexels_woman_wolfganglanger", "skyreels_asian_woman_kitchen",
    "visualvoice_man_glasses_restaurant", "vividface_singer_woman_selfie",
})

# The other people first in the manifest on 2026-12-07: never trained on, so with VALIDATION_IDENTITIES they
# are the people settings are chosen on.
NEW_CHOICE_IDENTITIES = frozenset({
    "actalker_woman_dark_bob_bangs", "bob_casey", "carl_azuz", "closedeyes_man_webcam_grey_tee",
    "fye_asian_man_blue_scrubs", "hellomeme_nhs_young_man", "hellomeme_tiktok_woman_ponytail",
    "hellomeme_xzy_man_black_shirt", "hellomeme_ysll_man_white_jacket", "infinitetalk_bald_man_capitol",
    "joe_biden", "liax_blonde_woman_smiling", "liax_man_pink_shirt_vlog", "magicportrait_woman_vlog_garden",
    "minimates_asian_actress_podium", "moore_asian_man_glasses_press", "natalie_portman",
    "shutterstock_blonde_woman_interview", "skyreels_man_red_shirt_couch", "skyreels_woman_purple_backdrop",
    "sreejithr_man_webcam_red_tee", "stephen_chow", "stock_woman_red_lips_pink_bg", "storyblocks_woman_blinking",
    "tom_hanks", "zendaya",
})

CHOICE_FOLDS = 3


def choice_fold(identity: str) -> int:
    """The fold (0 .. CHOICE_FOLDS - 1) of a choice identity: by its name's SHA-1, stable across runs."""
    return int(hashlib.sha1(identity.encode("utf-8")).hexdigest(), 16) % CHOICE_FOLDS


@dataclass(frozen=True)
class Split:
    training: list[Path]
    choice: list[list[Path]]      # CHOICE_FOLDS lists of videos, whole people each
    test: list[Path]


def _manifest_videos(media_dir: Path) -> list[tuple[Path, str]]:
    manifest = media_dir / "MANIFEST.tsv"
    if not manifest.is_file():
        raise UserError(f"{manifest} not found: give the media folder that holds MANIFEST.tsv and videos/")
    with open(manifest, newline="", encoding="utf-8") as f:
        return [(media_dir / row["file"], row["identity"]) for row in csv.DictReader(f, delimiter="\t")
                if row.get("kind") == "video"]


def split_media(media_dir: str | os.PathLike) -> Split:
    """The media folder's videos in the three groups, through its MANIFEST.tsv."""
    training, choice, test = [], [[] for _ in range(CHOICE_FOLDS)], []
    for path, identity in _manifest_videos(Path(media_dir)):
        if identity in TEST_IDENTITIES:
            test.append(path)
        elif identity in VALIDATION_IDENTITIES or identity in NEW_CHOICE_IDENTITIES:
            choice[choice_fold(identity)].append(path)
        else:
            training.append(path)
    return Split(sorted(training), [sorted(fold) for fold in choice], sorted(test))


def split_videos(media_dir: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """(training videos, validation videos) of the prior's meta-training: the validation identities are
    held out, and the test people are in neither."""
    training, validation = [], []
    for path, identity in _manifest_videos(Path(media_dir)):
        if identity not in TEST_IDENTITIES:
            (validation if identity in VALIDATION_IDENTITIES else training).append(path)
    return sorted(training), sorted(validation)
