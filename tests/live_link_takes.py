"""Live Link Face takes for the tests: the app's real CSV header and its timecodes (no bpy, no torch)."""
from talking_heads.core.capture.live_link import ARKIT_NAMES

# Live Link Face's header, as the app writes it: 52 ARKit shapes in PascalCase, then 9 rotations.
HEADER = ["Timecode", "BlendShapeCount", *[n[0].upper() + n[1:] for n in ARKIT_NAMES],
          "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
          "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]


def timecode(frame: int, fps: int = 60, start=(20, 15, 34, 12), sub: str = "345") -> str:
    """Frame `frame` of a take that starts at `start` (hours, minutes, seconds, frames), HH:MM:SS:FF.sub."""
    h, m, s, f = start
    total = ((h * 60 + m) * 60 + s) * fps + f + frame
    f, total = total % fps, total // fps
    s, total = total % 60, total // 60
    return f"{total // 60:02d}:{total % 60:02d}:{s:02d}:{f:02d}.{sub}"


def take(frames: int, fps: int = 60, **extra: float) -> str:
    """A take's CSV: jawOpen ramps 0 -> 1, eyeBlinkLeft is 0.5, the head turns 0.1 (18 degrees) and nods
    down to -0.05; `extra` sets more columns (PascalCase, as the app writes them) for every frame."""
    lines = [",".join(HEADER)]
    for k in range(frames):
        values = {name: 0.0 for name in HEADER[2:]}
        values.update(JawOpen=k / (frames - 1), EyeBlinkLeft=0.5, HeadYaw=0.1, HeadPitch=-0.05 * k / (frames - 1),
                      **extra)
        lines.append(",".join([timecode(k, fps), "61"] + [f"{values[c]:.6f}" for c in HEADER[2:]]))
    return "\n".join(lines) + "\n"
