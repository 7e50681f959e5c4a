"""Prepare MESS datasets for training and testing with mmseg_mopeft.

    python tools/dataset_converters/prepare_mess.py cryonuseg RAW_DIR
    python tools/dataset_converters/prepare_mess.py all /path/to/raw_root
    python tools/dataset_converters/prepare_mess.py isprs_potsdam RAW_DIR \
        --options composite=rgb --nproc 4
    python tools/dataset_converters/prepare_mess.py suim SUIM --test-only

DATASET is a MESS key (``paxray`` prepares its four binary tasks) or ``all``;
for ``all``, RAW_DIR holds each dataset in the folder its archive unpacks to.
Writes data/<key>/{img_dir,ann_dir}/{train,val,test} and data/<key>/meta.json.
A re-run over an unchanged, complete output does nothing; anything else is
rebuilt. An output folder holding files that no run for this dataset wrote
(or that were edited since: their size differs from meta.json) is refused
unless --overwrite is given; inside the raw folder (e.g. ``all data/`` for
a key named like its raw folder) such files are raw files and are refused
even then, as are links into the raw folder. A label value no correct copy
of the dataset has stops the run, naming the file; values mapped to ignore
are counted in meta.json (``label_values_ignored``) and, where they are no
class, warned about.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from mmseg_mopeft.datasets.converter_output import OutputFolderError
from mmseg_mopeft.datasets.mess.prepare import (PREPARERS, LabelValueError,
                                                RawDataError, prepare)


def expand(name: str):
    keys = sorted(PREPARERS.module_dict)
    if name == 'all':
        return keys
    group = [k for k in keys if k.startswith(name + '_')]
    if name in keys:
        return [name]
    if group:
        return group
    raise SystemExit(f'Unknown dataset {name!r}; choose from {keys}, '
                     f"'paxray' or 'all'")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dataset', help="MESS key, 'paxray' or 'all'")
    parser.add_argument('raw_dir', help='the dataset as its authors ship it')
    parser.add_argument('--out', help='output folder (default data/<key>)')
    parser.add_argument(
        '--options',
        nargs='+',
        action=DictAction,
        default={},
        help="preparer settings, e.g. composite=rgb (ISPRS Potsdam, "
        'WorldFloods: the RGB image instead of the irrg composite)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace files in the output folder that this converter did '
        'not write for this dataset (otherwise they stop the run); never '
        'files of the raw folder')
    parser.add_argument(
        '--nproc',
        type=int,
        default=1,
        help='processes converting images in parallel')
    parser.add_argument(
        '--test-only',
        action='store_true',
        help='prepare the test split alone, for datasets whose evaluation '
        "split is distributed on its own (e.g. SUIM's TEST.zip)")
    args = parser.parse_args()
    if args.nproc < 1:
        raise SystemExit(f'--nproc must be >= 1, not {args.nproc}')
    keys = expand(args.dataset)
    if args.out and len(keys) > 1:
        raise SystemExit('--out needs a single dataset')
    failed, no_test_only = [], []
    for key in keys:
        preparer = PREPARERS.build(dict(type=key, **args.options))
        if args.test_only and preparer.test_required is None:
            no_test_only.append(key)  # its test split needs the whole raw
            continue
        raw = args.raw_dir
        if args.dataset == 'all':
            raw = osp.join(raw, preparer.raw_name)
        out = args.out or osp.join('data', key)
        try:
            meta = prepare(
                preparer,
                raw,
                out,
                overwrite=args.overwrite,
                nproc=args.nproc,
                test_only=args.test_only)
        except RawDataError as err:
            print(err, file=sys.stderr)
            failed.append(key)
            continue
        except OutputFolderError as err:
            raise SystemExit(f'{key}: {err}')
        except LabelValueError as err:
            raise SystemExit(str(err))  # names the dataset already
        print(f"{key}: {meta['counts']} -> {out}")
    problems = []
    if no_test_only:
        problems.append(
            f'not prepared: {no_test_only} cannot be prepared --test-only '
            '(their test split is not distributed apart from the training '
            'data; prepare them from the complete raw dataset)')
    if failed:
        problems.append(f'not prepared (raw data missing): {failed}')
    if problems:
        raise SystemExit('\n'.join(problems))


if __name__ == '__main__':
    main()
