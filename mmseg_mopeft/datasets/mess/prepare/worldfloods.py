"""WorldFloods v1.0: Sentinel-2 L1C scenes of flood events.

Raw layout (``train``/``val``/``test`` of ``worldfloods_v1_0``, ~300 GB in
all, see the download page)::

    worldfloods_v1_0/{train,val,test}/S2/<scene>.tif   13 bands, uint16
    worldfloods_v1_0/{train,val,test}/gt/<scene>.tif   1 band: 0 invalid,
                                                       1 land, 2 water, 3 cloud

MESS's Google Drive copy holds only ``test/``: prepare it with
``--test-only`` (``meta.json`` then says ``"test_only": true``);
``splits=(...)`` selects any subset of the splits (only the folders of the
chosen splits are required).

Splits: the official ones; test is MESS's evaluation set, the official
val is not, so it is our val as is.

Images: the bands are scaled as MESS does (float32: value / (mean + std)
of the band over WorldFloods, clipped to [0, 1], times 255, truncated to
uint8). ``composite='irrg'`` (default) is MESS's "irrg" input, which is
really B8 (NIR), B4 (red), B2 (*blue*) as R, G, B; ``composite='rgb'`` is
B4, B3, B2. Only the three bands needed are kept (for band-interleaved
files only their strips/tiles are read), so a scene costs 3 bands of
memory, not 13. Reading uses ``tifffile``; LZW-compressed files (GDAL's
COG default) also need ``imagecodecs``. Write the two composites into
different output folders to keep both (a run with the other composite
replaces the output in the same folder).

Labels: gt - 1 (land 0, water and flood 1, cloud 2); 0 (invalid) becomes
255, counted in ``meta.json``; a value above 3 is an error naming the file
(MESS leaves such values as they are).

Tiling: 1024 px after splitting.
"""
import os.path as osp

import numpy as np

from .base import (PREPARERS, MESSPreparer, files_by_stem, keep_ids,
                   pair_by_stem)

# per-band mean and std of WorldFloods (B1..B12 incl. B8A and B10), the
# constants MESS divides by (their float32 sum)
_MEAN_STD = np.array([
    [3787.0604973, 2634.44474043], [3758.07467509, 2794.09579088],
    [3238.08247208, 2549.4940614], [3418.90147615, 2811.78109878],
    [3450.23315812, 2776.93269704], [4030.94700446, 2632.13814197],
    [4164.17468251, 2657.43035126], [3981.96268494, 2500.47885249],
    [4226.74862547, 2589.29159887], [1868.29658114, 1820.90184704],
    [399.3878948, 761.3640411], [2391.66101119, 1500.02533014],
    [1790.32497137, 1241.9817628]], np.float32)
SCALE = _MEAN_STD.sum(axis=1)
# band indices (0 = B1) in the channel order mmcv writes: B, G, R
COMPOSITES = dict(irrg=(1, 3, 7), rgb=(1, 2, 3))


def _tifffile():
    try:
        import tifffile
    except ImportError as err:
        raise ImportError('WorldFloods GeoTIFFs are read with tifffile: '
                          'pip install tifffile') from err
    return tifffile


def read_bands(path: str, bands) -> np.ndarray:
    """(len(bands), H, W) array of the given 0-based bands of a 13-band
    GeoTIFF, decoding segment by segment and keeping only those bands."""
    with _tifffile().TiffFile(path) as tif:
        page = tif.pages[0]
        planes, _, height, width, samples = page.shaped
        if planes * samples != 13:
            raise ValueError(f'{path}: {planes * samples} bands, expected '
                             'the 13 Sentinel-2 bands')
        per_plane = len(page.dataoffsets) // planes
        wanted = range(len(page.dataoffsets)) if planes == 1 else [
            b * per_plane + i for b in sorted(set(bands))
            for i in range(per_plane)]
        out = np.zeros((len(bands), height, width), page.dtype)
        for data, index in tif.filehandle.read_segments(
                [page.dataoffsets[i] for i in wanted],
                [page.databytecounts[i] for i in wanted], indices=wanted):
            segment, (plane, _, y, x, _), _ = page.decode(
                data, index, jpegtables=page.jpegtables)
            if segment is None:
                continue
            segment = segment[0, :height - y, :width - x]
            h, w = segment.shape[:2]
            for k, band in enumerate(bands):
                if planes == 1:
                    out[k, y:y + h, x:x + w] = segment[..., band]
                elif band == plane:
                    out[k, y:y + h, x:x + w] = segment[..., 0]
        return out


@PREPARERS.register_module(name='worldfloods')
class WorldFloods(MESSPreparer):
    key = 'worldfloods'
    raw_name = 'worldfloods_v1_0'
    download = ('https://spaceml-org.github.io/ml4floods/content/'
                'worldfloods_dataset.html')
    tile_size = 1024
    test_required = ('test/S2', 'test/gt')

    def __init__(self, composite: str = 'irrg',
                 splits=('train', 'val', 'test')):
        if composite not in COMPOSITES:
            raise ValueError(f'composite must be one of {list(COMPOSITES)}, '
                             f'not {composite!r}')
        if not set(splits) <= {'train', 'val', 'test'} or not splits:
            raise ValueError(f'splits must be a subset of train, val, test, '
                             f'not {splits!r}')
        self.composite, self.splits = composite, tuple(splits)
        self.required = tuple(f'{s}/{kind}' for s in self.splits
                              for kind in ('S2', 'gt'))
        self.split_policy = (
            f'Official split ({composite} composite): train, val and test '
            f'as released (test = MESS\'s evaluation set), prepared: '
            f'{", ".join(self.splits)}; split by scene, then tiled 1024.')

    def collect(self, raw):
        splits = {}
        unpaired = dict(images_without_label=[], labels_without_image=[])
        for split in self.splits:
            images, labels = (
                files_by_stem(osp.join(raw, split, kind), '.tif')
                for kind in ('S2', 'gt'))
            splits[split], _ = pair_by_stem(images, labels,
                                            f'{self.key} {split}', unpaired,
                                            f'{split}/')
        return dict(**splits, unpaired=unpaired)

    def read_image(self, path):
        bands = COMPOSITES[self.composite]
        raw = read_bands(path, bands)
        image = np.empty(raw.shape[1:] + (3, ), np.uint8)
        for k, band in enumerate(bands):
            scaled = raw[k].astype(np.float32) / SCALE[band]
            image[..., k] = (np.clip(scaled, 0, 1) *
                             np.float32(255)).astype(np.uint8)
        return image

    def read_label(self, path):
        with _tifffile().TiffFile(path) as tif:
            gt = tif.pages[0].asarray()
        if gt.ndim == 3 and 1 in (gt.shape[0], gt.shape[-1]):
            gt = gt.reshape(gt.shape[1:] if gt.shape[0] == 1 else gt.shape[:2])
        if gt.ndim != 2:
            raise ValueError(f'{path}: gt of shape {gt.shape}, expected one '
                             'band (WorldFloods v1; v2 has two)')
        return keep_ids(gt, 3, path, first=1, void=(0, ))
