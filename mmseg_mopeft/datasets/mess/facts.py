"""Checks of the facts a MESS dataset class declares, run when the class is
defined, so a wrong palette or class index fails on import, naming the class,
and never draws or scores the wrong class."""
import re

# MESS's five domains, in its reporting order
DOMAINS = ('General', 'Earth Monitoring', 'Medical Sciences', 'Engineering',
           'Agriculture and Biology')
METAINFO_KEYS = ('dataset_name', 'domain', 'classes', 'palette',
                 'classes_of_interest')


def check_palette(palette, num_classes: int, where: str) -> None:
    """``palette``: ``num_classes`` distinct [R, G, B] of ints in 0..255."""
    if len(palette) != num_classes:
        raise ValueError(f'{where}: palette has {len(palette)} colours for '
                         f'{num_classes} classes')
    for i, colour in enumerate(palette):
        if (len(colour) != 3 or
                not all(isinstance(c, int) and 0 <= c <= 255 for c in colour)):
            raise ValueError(f'{where}: palette[{i}] = {colour!r} is not '
                             'three ints in 0..255')
    seen = {}
    for i, colour in enumerate(palette):
        if tuple(colour) in seen:
            raise ValueError(f'{where}: classes {seen[tuple(colour)]} and {i} '
                             f'share the colour {list(colour)}')
        seen[tuple(colour)] = i


def check_facts(cls) -> None:
    """Raise ValueError naming ``cls`` if its key, suffixes or METAINFO are
    inconsistent."""
    where = f'{cls.__name__} (key {cls.key!r})'
    if not re.fullmatch(r'[a-z][a-z0-9_]*', cls.key):
        raise ValueError(f'{where}: key must be lower-case letters, digits '
                         'and underscores')
    for name in ('img_suffix', 'seg_map_suffix'):
        if not isinstance(getattr(cls, name), str) or not getattr(cls, name):
            raise ValueError(f'{where}: {name} must be a non-empty string')
    info = cls.METAINFO
    missing = [k for k in METAINFO_KEYS if k not in info]
    if missing:
        raise ValueError(f'{where}: METAINFO lacks {missing}')
    if info['domain'] not in DOMAINS:
        raise ValueError(f'{where}: domain {info["domain"]!r} is not one of '
                         f'{DOMAINS}')
    classes = info['classes']
    if not isinstance(classes, tuple) or not classes or not all(
            isinstance(c, str) and c for c in classes):
        raise ValueError(f'{where}: classes must be a non-empty tuple of '
                         'names')
    repeated = sorted({c for c in classes if classes.count(c) > 1})
    if repeated:
        raise ValueError(f'{where}: class names repeat: {repeated}')
    check_palette(info['palette'], len(classes), where)
    coi = info['classes_of_interest']
    if not coi or len(set(coi)) != len(coi) or not all(
            isinstance(i, int) and 0 <= i < len(classes) for i in coi):
        raise ValueError(f'{where}: classes_of_interest {coi!r} must be '
                         f'distinct class indices in 0..{len(classes) - 1}')
