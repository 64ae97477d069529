"""The line every benchmark section names its machine with."""
import os
import platform
from pathlib import Path


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
