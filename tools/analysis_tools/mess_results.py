"""Collect MESS test results into the benchmark's table.

    python tools/analysis_tools/mess_results.py work_dirs/mopeft_vitb_* \
        [--out table.md]

Each argument is the work dir of a ``tools/test.py`` run on a MESS config;
its dataset is read from the config mmengine saved there, its scores from
the newest test result (``<timestamp>/<timestamp>.json``). Prints one row per
dataset (PAXRay-4 = mean of its four binary tasks, as in MESS), the mean per
domain and the mean over all datasets, for mIoU and CoI-mIoU.
"""
import argparse
import glob
import json
import os.path as osp
from collections import defaultdict

import numpy as np
from mmengine.config import Config

from mmseg_mopeft.datasets.mess import DATASET_CLASSES, MESS_DATASETS

METRICS = ('mIoU', 'CoI-mIoU')


def read_run(work_dir: str):
    """(dataset key, {metric: value}) of one test run."""
    configs = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    if not configs:
        raise FileNotFoundError(f'{work_dir}: no config saved by mmengine')
    cfg = Config.fromfile(configs[-1], import_custom_modules=False)
    cls = cfg.test_dataloader.dataset.type
    keys = [k for k, v in DATASET_CLASSES.items() if v == cls]
    if not keys:
        raise ValueError(f'{work_dir}: {cls} is not a MESS dataset class')
    for path in sorted(glob.glob(osp.join(work_dir, '*', '*.json')),
                       key=osp.getmtime, reverse=True):
        with open(path) as f:
            try:
                result = json.load(f)
            except json.JSONDecodeError:
                continue  # a training log (one json per line)
        if isinstance(result, dict) and 'mIoU' in result:
            return keys[0], {m: result.get(m) for m in METRICS}
    raise FileNotFoundError(f'{work_dir}: no test result (run tools/test.py)')


def rows(results: dict):
    """Per-dataset rows with PAXRay's four tasks merged, in MESS order."""
    merged, seen = [], set()
    for key, info in MESS_DATASETS.items():
        group = 'paxray' if key.startswith('paxray_') else key
        if group in seen:
            continue
        seen.add(group)
        parts = [k for k in MESS_DATASETS if k == group
                 or k.startswith(group + '_')] if group == 'paxray' else [key]
        found = [results[k] for k in parts if k in results]
        if not found:
            continue
        name = 'PAXRay-4' if group == 'paxray' else info['name']
        if len(found) < len(parts):
            name += f' ({len(found)}/{len(parts)} tasks)'
        scores = {
            m: float(np.mean([r[m] for r in found if r[m] is not None]))
            for m in METRICS
        }
        merged.append((info['domain'], name, scores))
    return merged


def table(merged) -> str:
    lines = ['| domain | dataset | mIoU | CoI-mIoU |', '|---|---|---:|---:|']
    by_domain = defaultdict(list)
    for domain, name, scores in merged:
        by_domain[domain].append(scores)
        lines.append(f"| {domain} | {name} | {scores['mIoU']:.2f} | "
                     f"{scores['CoI-mIoU']:.2f} |")
    for domain, scores in by_domain.items():
        lines.append(f'| {domain} | **mean** | ' + ' | '.join(
            f'{np.mean([s[m] for s in scores]):.2f}' for m in METRICS) + ' |')
    everything = [s for _, _, s in merged]
    lines.append(f'| all | **mean of {len(everything)}** | ' + ' | '.join(
        f'{np.mean([s[m] for s in everything]):.2f}' for m in METRICS) + ' |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--out', help='also write the table to this file')
    args = parser.parse_args()
    results = dict(read_run(d) for d in args.work_dirs)
    text = table(rows(results))
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    main()
