"""Peak memory of preparing huge images: a fresh interpreter per image, its peak RSS
(VmHWM, reset just before the call) above its RSS before, read from Linux /proc.

    python bench/image_memory.py

The figures the design aims for: an 80-megapixel PNG is refused from its header
(< 20 MB), a 50-megapixel phone JPEG and an 80-megapixel JPEG are decoded at reduced
size by libjpeg (< 100 MB, not the 150–240 MB of a full decode).  Machines differ, so
these are printed, never asserted in the test suite.  Exits 0 whatever the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent

PEAK_SCRIPT = """
import json, re, sys
from publishers.images import ImageError, prepare_body_image

def status(field):
    return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))

data = open(sys.argv[1], "rb").read()
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS")
try:
    p = prepare_body_image(data)
    outcome = f"{p.ext} {p.width}x{p.height}, {len(p.data) // 1024} KB"
except ImageError as e:
    outcome = str(e)
print(json.dumps({"growth_mb": (status("VmHWM") - before) / 1024, "outcome": outcome}))
"""


def photo(width: int, height: int) -> Image.Image:
    """A photo-like RGB image: smooth noise that JPEG cannot squeeze to nothing."""
    small = (max(1, width // 4), max(1, height // 4))
    noise = [Image.effect_noise(small, 60), Image.linear_gradient("L").resize(small)]
    channels = [noise[0], noise[0].transpose(Image.Transpose.ROTATE_180), Image.blend(noise[0], noise[1], 0.5)]
    return Image.merge("RGB", channels).resize((width, height), Image.Resampling.BICUBIC)


def peak_rss_growth(path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(run.stdout)


def main() -> int:
    if not Path("/proc/self/clear_refs").exists():
        print("peak RSS is read from Linux /proc; not available here")
        return 0
    with tempfile.TemporaryDirectory(prefix="tuiwen-image-memory-") as folder:
        cases = []
        path = Path(folder) / "huge.png"
        Image.new("1", (10_000, 8_000), 1).save(path)
        cases.append(("80 MP PNG (refused)", path, 20))
        path = Path(folder) / "phone.jpg"
        photo(8660, 5773).save(path, "JPEG", quality=90)
        cases.append(("50 MP phone JPEG", path, 100))
        path = Path(folder) / "huge.jpg"
        Image.linear_gradient("L").resize((10_000, 8_000)).save(path, "JPEG", quality=80)
        cases.append(("80 MP JPEG", path, 100))
        print(f"{'image':<22} {'file':>8} {'peak RSS growth':>16} {'aim':>8}  outcome")
        for name, path, aim in cases:
            result = peak_rss_growth(path)
            print(f"{name:<22} {path.stat().st_size / 1e6:>6.1f}MB {result['growth_mb']:>13.1f} MB "
                  f"{'< ' + str(aim) + ' MB':>8}  {result['outcome']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
