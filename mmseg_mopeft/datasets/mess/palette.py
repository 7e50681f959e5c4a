"""Display colours for datasets whose authors define none.

mmseg draws labels with ``METAINFO['palette']``; without one it draws random
colours that change with the class list and may repeat. Ours are fixed:
hues stepped by the golden angle (neighbouring ids look different), three
brightness levels and two saturations, never black, so a background class
can be given black without a clash.
"""
import colorsys
from typing import List, Optional


def generated_palette(num_classes: int,
                      background: Optional[int] = None) -> List[List[int]]:
    """``num_classes`` distinct RGB colours, the same on every call.

    Args:
        num_classes: Length of the palette.
        background: Index that gets black (0, 0, 0), e.g. an 'others' or
            'background' class; the other indices keep their colours.
    """
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, not {num_classes}')
    if background is not None and not 0 <= background < num_classes:
        raise ValueError(f'background index {background} is not a class '
                         f'index (0..{num_classes - 1})')
    colours, seen, step = [], set(), 0
    while len(colours) < num_classes:
        hue = (step * 0.6180339887498949) % 1.0
        value = (1.0, 0.78, 0.56)[step % 3]
        saturation = (0.9, 0.6)[(step // 3) % 2]
        step += 1
        rgb = tuple(
            int(round(c * 255))
            for c in colorsys.hsv_to_rgb(hue, saturation, value))
        if rgb not in seen:  # rounding could merge two near hues
            seen.add(rgb)
            colours.append(list(rgb))
    if background is not None:
        colours[background] = [0, 0, 0]
    return colours
