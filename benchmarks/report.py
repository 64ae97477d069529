"""What every benchmark shares: the line naming its machine, and appending its section to RESULTS.md."""
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def describe() -> str:
    """CPU model, core count and system, e.g. 'AMD EPYC 7B13, 2 cores, Linux'."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}"


def append(lines: list[str], path: str | os.PathLike = RESULTS) -> None:
    """Append a section (lines of Markdown) to the results file."""
    with open(path, "a") as f:
        f.write("\n" + "\n".join(lines) + "\n")
