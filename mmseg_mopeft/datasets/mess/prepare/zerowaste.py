import glob
import os.path as osp

from .base import PREPARERS, MESSPreparer, keep_ids, pair_by_stem, read_ids

_ROOT = 'splits_final_deblurred'


@PREPARERS.register_module(name='zerowaste')
class ZeroWaste(MESSPreparer):
    """Recycling-conveyor frames (splits_final_deblurred/<split>/data) with
    class-id masks (<split>/sem_seg), both with upper-case .PNG suffixes
    (lower-case ones are accepted too).

    Labels are class ids already (0 background or trash, 1 rigid plastic,
    2 cardboard, 3 metal, 4 soft plastic); a value above 4 is an error
    naming the file. Images are written with a lower-case .png suffix.
    """
    key = 'zerowaste'
    raw_name = 'zerowaste-f'
    download = 'http://ai.bu.edu/zerowaste/'
    required = tuple(f'{_ROOT}/{split}/{kind}'
                     for split in ('train', 'val', 'test')
                     for kind in ('data', 'sem_seg'))
    test_required = (f'{_ROOT}/test/data', f'{_ROOT}/test/sem_seg')
    num_classes = 5
    split_policy = (
        'Official splits: train (3002 frames), val (572, the official val '
        'split, not MESS\'s test set) and test (929, MESS\'s test set).')

    def collect(self, raw):
        splits = {}
        unpaired = dict(images_without_label=[], labels_without_image=[])
        for split in ('train', 'val', 'test'):
            images, labels = (self._pngs(osp.join(raw, _ROOT, split, kind))
                              for kind in ('data', 'sem_seg'))
            splits[split], _ = pair_by_stem(images, labels,
                                            f'{self.key} {split}', unpaired,
                                            f'{split}/')
        return dict(**splits, unpaired=unpaired)

    @staticmethod
    def _pngs(folder):
        return {osp.splitext(osp.basename(p))[0]: p
                for p in glob.glob(osp.join(folder, '*'))
                if p.lower().endswith('.png')}

    def read_label(self, path):
        return keep_ids(read_ids(path), self.num_classes, path)
