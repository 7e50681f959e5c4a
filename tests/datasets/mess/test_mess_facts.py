"""Every MESS dataset class declares valid facts, and a class declaring
wrong ones fails when it is defined, naming itself and the fault."""
import pytest

from mmseg_mopeft.datasets import ShapesDataset
from mmseg_mopeft.datasets.mess import MESSDataset, mess_dataset_types

GOOD = dict(
    dataset_name='Toy',
    domain='Engineering',
    classes=('others', 'thing'),
    palette=[[0, 0, 0], [255, 0, 0]],
    classes_of_interest=(1, ))


def valid_palette(palette, num_classes):
    return (len(palette) == num_classes and all(
        len(c) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in c)
        for c in palette) and len({tuple(c)
                                   for c in palette}) == num_classes)


@pytest.mark.parametrize('key', list(mess_dataset_types()))
def test_every_dataset_has_a_valid_palette_and_facts(key):
    cls = mess_dataset_types()[key]
    info = cls.METAINFO
    assert valid_palette(info['palette'], len(info['classes']))
    assert cls.img_suffix.startswith('.') and cls.seg_map_suffix == '.png'
    assert set(info['classes_of_interest']) <= set(range(len(info['classes'])))
    # mmseg keeps the palette as declared (it would generate random
    # colours if the lengths differed)
    dataset = cls(lazy_init=True, check_prepared=False)
    assert dataset.metainfo['palette'] == [list(c) for c in info['palette']]
    assert dataset.img_suffix == cls.img_suffix


def test_shapes_palette_is_valid():
    info = ShapesDataset.METAINFO
    assert valid_palette(info['palette'], len(info['classes']))


@pytest.mark.parametrize(
    'change, message',
    [(dict(palette=[[0, 0, 0]]), '1 colours for 2 classes'),
     (dict(palette=[[0, 0, 0], [0, 0, 0]]), r'classes 0 and 1 share'),
     (dict(palette=[[0, 0, 0], [0, 256, 0]]), r'palette\[1\]'),
     (dict(palette=[[0, 0, 0], [0, 0.5, 0]]), r'palette\[1\]'),
     (dict(classes_of_interest=(2, )), 'classes_of_interest'),
     (dict(classes=('a', 'a')), 'repeat'), (dict(domain='Space'), "'Space'")])
def test_wrong_facts_fail_when_the_class_is_defined(change, message):
    with pytest.raises(ValueError, match=f"Toy.*'toy'.*{message}"):

        class Toy(MESSDataset):
            key = 'toy'
            METAINFO = dict(GOOD, **change)


def test_missing_facts_and_bad_keys_fail():
    with pytest.raises(ValueError, match=r"lacks \['palette'\]"):

        class NoPalette(MESSDataset):
            key = 'toy'
            METAINFO = {k: v for k, v in GOOD.items() if k != 'palette'}

    with pytest.raises(ValueError, match='key must be lower-case'):

        class BadKey(MESSDataset):
            key = 'Toy Set'
            METAINFO = GOOD

    class Fine(MESSDataset):  # the same facts, correct: no error
        key = 'toy'
        METAINFO = GOOD
