"""Generated palettes: fixed, distinct, black only where asked."""
import colorsys

import pytest

from mmseg_mopeft.datasets.mess import generated_palette


@pytest.mark.parametrize('num_classes', [1, 2, 3, 19, 56, 104, 201, 256])
def test_distinct_valid_and_fixed(num_classes):
    palette = generated_palette(num_classes)
    assert len(palette) == num_classes
    assert len({tuple(c) for c in palette}) == num_classes
    assert all(
        len(c) == 3 and all(type(v) is int and 0 <= v <= 255 for v in c)
        for c in palette)
    assert [0, 0, 0] not in palette
    assert generated_palette(num_classes) == palette  # same on every call
    # a longer palette starts with the shorter one: adding a class keeps
    # the other colours
    assert generated_palette(num_classes + 5)[:num_classes] == palette


def test_neighbouring_ids_differ_in_hue():
    """Consecutive ids are at least 0.2 of the hue circle apart (golden
    angle steps), so adjacent classes never look alike."""
    palette = generated_palette(30)
    hues = [colorsys.rgb_to_hsv(*(v / 255 for v in c))[0] for c in palette]
    for a, b in zip(hues, hues[1:]):
        gap = abs(a - b) % 1.0
        assert min(gap, 1 - gap) > 0.2


def test_background_is_black_and_others_unchanged():
    plain = generated_palette(5)
    with_bg = generated_palette(5, background=0)
    assert with_bg[0] == [0, 0, 0]
    assert with_bg[1:] == plain[1:]
    assert generated_palette(12, background=11)[11] == [0, 0, 0]


@pytest.mark.parametrize('args, message', [((0, ), 'num_classes must be >= 1'),
                                           ((3, 3), 'background index 3'),
                                           ((3, -1), 'background index -1')])
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        generated_palette(*args)
