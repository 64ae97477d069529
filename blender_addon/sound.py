"""The sound of an imported line of speech in the scene: a sound strip in the sequencer, scrubbing on.

The strip starts at the frame the lip sync was keyed from, so playback and scrubbing are in sync with the
mouth; playback syncs to the audio (Blender drops frames rather than drift). A second import of the same
file for the same rig replaces its strip.
"""
from __future__ import annotations

import os

import bpy

from ..core.errors import UserError
from .compat import sequencer_strips

STRIP_PREFIX = "Talking Heads: "


def strip_name(rig_name: str, path: str) -> str:
    return f"{STRIP_PREFIX}{rig_name} {os.path.basename(path)}"[:63]


def add_sound(scene, rig_name: str, path: str, frame_start: int) -> bpy.types.Strip:
    """A sound strip of `path` starting at `frame_start` on a free channel (the same file's earlier strip
    for this rig replaced); turns audio scrubbing and audio-synced playback on."""
    collection = sequencer_strips(scene)
    name = strip_name(rig_name, path)
    old = collection.get(name)
    if old is not None:
        collection.remove(old)
    filepath = bpy.path.relpath(path) if bpy.data.filepath else path
    try:
        strip = collection.new_sound(name, filepath, _free_channel(collection, frame_start), frame_start)
    except RuntimeError as e:
        raise UserError(f"Blender cannot play {os.path.basename(path)} ({str(e).strip().splitlines()[-1]}); "
                        f"convert it to WAV") from None
    scene.use_audio_scrub = True
    scene.sync_mode = 'AUDIO_SYNC'
    return strip


def _free_channel(collection, frame_start: int) -> int:
    """The lowest channel with no strip from `frame_start` on (the new strip's length is not known yet)."""
    busy = {s.channel for s in collection if s.frame_final_end > frame_start}
    return next(c for c in range(1, 129) if c not in busy)
