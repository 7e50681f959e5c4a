"""Where the labels come as colours (MESS converts them with a colour
table), the palette is that table: the preparer turns the colour a class
is drawn in back into that class. BDD100K and Dark Zurich use Cityscapes'
colours, as BDD100K's colour-map labels do."""
import numpy as np
import pytest
from mmseg.datasets import BDD100KDataset, CityscapesDataset
from PIL import Image

from mmseg_mopeft.datasets.mess import mess_dataset_type
from mmseg_mopeft.datasets.mess.prepare import PREPARERS


@pytest.mark.parametrize('key',
                         ['isaid', 'isprs_potsdam', 'uavid', 'suim', 'cwfid'])
def test_palette_colour_converts_to_its_class(key, tmp_path):
    palette = mess_dataset_type(key).METAINFO['palette']
    # one row of pixels, class i drawn in palette[i]
    rgb = np.array([palette], np.uint8)
    path = str(tmp_path / 'label.png')
    Image.fromarray(rgb).save(path)
    label = PREPARERS.build(dict(type=key)).read_label(path)
    np.testing.assert_array_equal(label[0], np.arange(len(palette)))


def test_suim_and_cwfid_colour_codes():
    """Spelled out from the authors' documentation."""
    assert mess_dataset_type('suim').METAINFO['palette'] == [[0, 0, 0],
                                                             [0, 0, 255],
                                                             [0, 255, 0],
                                                             [0, 255, 255],
                                                             [255, 0, 0],
                                                             [255, 0, 255],
                                                             [255, 255, 0],
                                                             [255, 255, 255]]
    # soil black, crop green (our class 1), weed red (class 2)
    cwfid = mess_dataset_type('cwfid').METAINFO['palette']
    assert cwfid == [[0, 0, 0], [0, 255, 0], [255, 0, 0]]


def test_driving_datasets_use_cityscapes_colours():
    cityscapes = [list(c) for c in CityscapesDataset.METAINFO['palette']]
    bdd = mess_dataset_type('bdd100k').METAINFO['palette']
    assert [list(c) for c in bdd] == cityscapes
    assert [list(c) for c in BDD100KDataset.METAINFO['palette']] == cityscapes
    dark = mess_dataset_type('dark_zurich').METAINFO['palette']
    assert [list(c) for c in dark] == [[0, 0, 0]] + cityscapes
