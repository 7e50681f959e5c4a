"""FAIR-1M for object detection, read from its original layout.

``data_root/<img>/<id>.{tif,png,jpg}`` with ``data_root/<ann>/<id>.xml``: the
release as downloaded, or the tiles written by
``tools/dataset_converters/fair1m_tiles.py`` (same layout and XML schema).
Each object gives mmdet an instance with its horizontal box, label and its
polygon (for mask supervision); see ``fair1m_parse`` for the geometry and for
what happens to bad input.
"""
import logging
from collections import Counter
from typing import List, Optional

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .fair1m_parse import (FAIR1M_CATEGORIES, FAIR1M_CLASSES,
                           pair_images_and_annotations, parse_fair1m_xml)

# One colour per category, so drawn boxes show the category at a glance.
_CATEGORY_COLOURS = {
    'Airplane': (220, 20, 60),
    'Ship': (0, 90, 255),
    'Vehicle': (255, 200, 0),
    'Court': (0, 200, 80),
    'Road': (160, 32, 240),
}


_SKIP_TEXT = dict(
    xml_without_image='annotation files without an image',
    image_without_xml='images without an annotation file',
    object_outside_image='objects with no area inside their image',
    object_of_other_class='objects of classes not in metainfo')


def _examples(items: List[str], count: int = 3) -> str:
    more = f', ... ({len(items) - count} more)' if len(items) > count else ''
    return '; '.join(items[:count]) + more


@DATASETS.register_module()
class FAIR1MDataset(BaseDetDataset):
    """FAIR-1M's 37 fine classes in 5 categories (``metainfo['categories']``).

    Args:
        data_prefix: ``img`` and ``ann`` folders under ``data_root``.
        filter_cfg: ``dict(filter_empty_gt=True)`` drops images without
            objects (training only; the count is logged).

    Pairs with a missing image or annotation file and objects with no area
    inside their image are skipped; each kind is counted in
    ``self.skip_counts`` and logged with examples. With a subset of classes
    in ``metainfo``, objects of the other FAIR-1M classes are left out
    (counted too).
    """
    METAINFO = dict(
        classes=FAIR1M_CLASSES,
        categories=FAIR1M_CATEGORIES,
        palette=[
            _CATEGORY_COLOURS[cat] for cat, names in FAIR1M_CATEGORIES.items()
            for _ in names
        ])

    def __init__(self, data_prefix: Optional[dict] = None, **kwargs):
        self.skip_counts = Counter()
        super().__init__(
            data_prefix=data_prefix or dict(img='images', ann='labelXml'),
            **kwargs)

    def load_data_list(self) -> List[dict]:
        classes = tuple(self.metainfo['classes'])
        unknown = [name for name in classes if name not in FAIR1M_CLASSES]
        if unknown or len(set(classes)) != len(classes):
            raise ValueError(
                f'FAIR1MDataset: metainfo classes must be distinct FAIR-1M '
                f'class names; not FAIR-1M: {unknown}, listed twice: '
                f'{sorted({c for c in classes if classes.count(c) > 1})} '
                f'(the 37 names: {list(FAIR1M_CLASSES)})')
        label_of = {name: i for i, name in enumerate(classes)}
        pairs, no_image, no_xml = pair_images_and_annotations(
            self.data_prefix['img'], self.data_prefix['ann'])
        skipped = dict(
            xml_without_image=[f'{i}.xml' for i in no_image],
            image_without_xml=list(no_xml),
            object_outside_image=[],
            object_of_other_class=[])
        data_list = []
        for img_id, img_path, xml_path in pairs:
            ann = parse_fair1m_xml(xml_path)
            skipped['object_outside_image'] += ann.skipped
            instances = []
            for obj in ann.objects:
                if obj.name not in label_of:
                    skipped['object_of_other_class'].append(
                        f'{img_id}: {obj.name}')
                    continue
                instances.append(
                    dict(
                        bbox=obj.bbox.tolist(),
                        bbox_label=label_of[obj.name],
                        ignore_flag=0,
                        mask=[obj.polygon.ravel().tolist()]))
            data_list.append(
                dict(
                    img_id=img_id,
                    img_path=img_path,
                    height=ann.height,
                    width=ann.width,
                    instances=instances))
        for kind, items in skipped.items():
            self.skip_counts[kind] = len(items)
            if items:
                print_log(
                    f'{type(self).__name__} ({self.data_root}): skipped '
                    f'{len(items)} {_SKIP_TEXT[kind]}: '
                    f'{_examples(items)}',
                    logger='current',
                    level=logging.INFO
                    if kind == 'object_of_other_class' else logging.WARNING)
        return data_list

    def filter_data(self) -> List[dict]:
        if self.test_mode or not (self.filter_cfg or {}).get(
                'filter_empty_gt', False):
            return self.data_list
        kept = [info for info in self.data_list if info['instances']]
        self.skip_counts['image_without_objects'] = len(self.data_list) - len(
            kept)
        if len(kept) < len(self.data_list):
            print_log(
                f'{type(self).__name__}: {len(self.data_list) - len(kept)} '
                f'images without objects left out of training '
                f'(filter_empty_gt).',
                logger='current')
        return kept
