"""Where a run's figure time goes: each of MNIST's three figures made, drawn, and saved
as PNG at Pillow's default zlib level (6) and at pcagmm's (``PNG_COMPRESS_LEVEL``).

Usage: python benchmarks/figures.py [--repeats 5]

One process, after one untimed run of everything (the first figure a process draws
loads its fonts). For each figure: the median time to make it (the figure function),
to draw it (``canvas.draw``), and ``savefig`` at each level (which draws again, then
encodes); the PNG's bytes; and whether the two PNGs decode to the same pixels (zlib is
lossless, so they must).
"""

from __future__ import annotations

import argparse
import io

import numpy as np

from _common import median_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import matplotlib.pyplot as plt
    from PIL import Image

    import pcagmm
    from pcagmm.workflow.artifacts import DPI, FIGURES, PNG_COMPRESS_LEVEL

    result = pcagmm.run("mnist", write=False)
    levels = (6, PNG_COMPRESS_LEVEL)
    totals = dict.fromkeys(levels, 0.0)
    for name, draw in FIGURES.items():
        plt.close(draw(result))  # warm-up
        make_seconds, figure = median_time(lambda draw=draw: draw(result), args.repeats)
        draw_seconds, _ = median_time(figure.canvas.draw, args.repeats)
        saved = {}
        for level in levels:

            def save(level=level, figure=figure):
                buffer = io.BytesIO()
                figure.savefig(buffer, format="png", dpi=DPI,
                               pil_kwargs={"compress_level": level})  # fmt: skip
                return buffer.getvalue()

            seconds, saved[level] = median_time(save, args.repeats)
            totals[level] += seconds
            print(f"{name:14s} make {make_seconds * 1e3:5.0f} ms  draw {draw_seconds * 1e3:5.0f} ms"
                  f"  savefig level {level} {seconds * 1e3:5.0f} ms  {len(saved[level]):8,} bytes",
                  flush=True)  # fmt: skip
        pixels = [np.asarray(Image.open(io.BytesIO(saved[level]))) for level in levels]
        print(f"{name:14s} same pixels at both levels: {np.array_equal(*pixels)}")
        plt.close(figure)
    print(f"savefig of the three, level 6: {totals[6] * 1e3:.0f} ms; level "
          f"{PNG_COMPRESS_LEVEL}: {totals[PNG_COMPRESS_LEVEL] * 1e3:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
