"""Collect MESS test results into the benchmark's table.

    python tools/analysis_tools/mess_results.py work_dirs/mopeft_vitb_* \
        [--out table.md]

Each argument is the work dir of a ``tools/test.py`` run on a MESS config;
its scores come from the newest test result (``<timestamp>/<timestamp>.json``)
and its dataset from the config saved with that result. Prints one row per
dataset (PAXRay-4 = mean of its four binary tasks, as in MESS), the mean per
domain and the mean over all datasets, for mIoU and CoI-mIoU. Folders
without a test result, or with results of several datasets, are skipped and
listed under the table (the reasons on stderr).

Prompted SAM runs (configs/prompted_sam, metrics '<setting>/mIoU') get
Stable-SAM's layout: per prompt setting the mean per domain and over all
datasets (its Table 1), and per dataset a column per setting (Table 2).
"""
import argparse
import glob
import json
import os.path as osp
import sys
from collections import defaultdict

import numpy as np
from mmengine.config import Config

from mmseg_mopeft.datasets.mess import DATASET_CLASSES, MESS_DATASETS
from mmseg_mopeft.models.prompts import PROMPT_TYPES

METRICS = ('mIoU', 'CoI-mIoU')


def _dataset_key(config: str, where: str) -> str:
    cfg = Config.fromfile(config, import_custom_modules=False)
    cls = cfg.test_dataloader.dataset.type
    keys = [k for k, v in DATASET_CLASSES.items() if v == cls]
    if not keys:
        raise ValueError(f'{where}: {cls} is not a MESS dataset class')
    return keys[0]


def _scores(path: str):
    """{metric: value} of a test result file; None for other json files."""
    with open(path) as f:
        try:
            result = json.load(f)
        except json.JSONDecodeError:
            return None  # a training log (one json per line)
    if not isinstance(result, dict):
        return None
    # prompted SAM: '<setting>/mIoU', e.g. 'peft_off/oracle_box/mIoU'
    prompted = {k: v for k, v in result.items()
                if '/' in k and k.rpartition('/')[2] in METRICS}
    if prompted:
        return prompted
    if 'mIoU' in result:
        return {m: result.get(m) for m in METRICS}
    return None


def read_run(work_dir: str):
    """(dataset key, {metric: value}) of the newest test run in
    ``work_dir``. Its dataset comes from the config that run saved
    (``<timestamp>/vis_data/config.py``), else from the config(s) mmengine
    dumped in ``work_dir``, which must then name one dataset."""
    saved = glob.glob(osp.join(work_dir, '*.py'))
    if not saved:
        raise FileNotFoundError(f'{work_dir}: no config saved by mmengine')
    found = []  # (key, scores, result file), newest first
    for path in sorted(glob.glob(osp.join(work_dir, '*', '*.json')),
                       key=osp.getmtime, reverse=True):
        scores = _scores(path)
        if scores is None:
            continue
        own = osp.join(osp.dirname(path), 'vis_data', 'config.py')
        if osp.isfile(own):
            key = _dataset_key(own, own)
        else:
            keys = sorted({_dataset_key(c, c) for c in saved})
            if len(keys) > 1:
                raise ValueError(
                    f'{work_dir}: configs of several datasets ({keys}) and '
                    f'{path} has no config of its own (vis_data/config.py); '
                    'cannot tell which dataset it scores')
            key = keys[0]
        found.append((key, scores, path))
    if not found:
        raise FileNotFoundError(
            f'{work_dir}: no test result (run tools/test.py)')
    datasets = {key: path for key, _, path in reversed(found)}
    if len(datasets) > 1:
        raise ValueError(f'{work_dir}: test results of several datasets '
                         f'({datasets}); pass one work dir per dataset')
    key, scores, _ = found[0]
    return key, scores


def read_runs(work_dirs):
    """({dataset key: scores}, [(work dir, reason)]): folders without a
    saved config or test result, of another dataset, or with results of
    several datasets, are skipped and listed, so one unfinished run does not
    hide the others."""
    results, skipped = {}, []
    for work_dir in work_dirs:
        try:
            key, scores = read_run(work_dir)
        except (FileNotFoundError, ValueError) as error:
            skipped.append((work_dir, str(error)))
            continue
        if set(results.get(key, ())) & set(scores):  # other prompts: merged
            raise ValueError(f'{work_dir}: a second result for {key}; pass '
                             'one work dir per dataset')
        results.setdefault(key, {}).update(scores)
    return results, skipped


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


def setting_order(setting: str):
    """Prompted settings ('[peft_on/|peft_off/]<prompt type>', 'semantic')
    in a fixed order: semantic, then per PEFT state the prompt types in
    PROMPT_TYPES order."""
    peft, _, prompt = setting.rpartition('/')
    states = ('', 'peft_on', 'peft_off')
    return (setting != 'semantic', states.index(peft) if peft in states
            else len(states), PROMPT_TYPES.index(prompt)
            if prompt in PROMPT_TYPES else len(PROMPT_TYPES), setting)


def prompt_tables(results: dict, metric: str = 'mIoU') -> str:
    """Stable-SAM's layout for prompted runs (scores '<setting>/mIoU'):
    Table 1, per setting the mean per domain and over all datasets; Table
    2, per dataset a column per setting."""
    settings = sorted({
        k.rpartition('/')[0]
        for scores in results.values() for k in scores
        if k.rpartition('/')[0] and k.rpartition('/')[2] == metric
    }, key=setting_order)
    if not settings:
        return ''
    per_setting = {}  # setting -> {dataset name: (domain, score)}
    for setting in settings:
        found = {
            key: {m: scores.get(f'{setting}/{m}') for m in METRICS}
            for key, scores in results.items()
            if scores.get(f'{setting}/{metric}') is not None
        }
        per_setting[setting] = {
            name: (domain, scores[metric])
            for domain, name, scores in rows(found)
        }
    names = {}  # dataset name -> domain, in MESS order
    domains = []
    for domain, name, _ in rows({key: {m: 0.0 for m in METRICS}
                                 for key in results}):
        names[name] = domain
        if domain not in domains:
            domains.append(domain)

    def cell(values):
        return f'{np.mean(values):.2f}' if values else '-'

    lines = [f'Prompted SAM, {metric} per domain (Stable-SAM Table 1)', '',
             '| prompt | ' + ' | '.join(domains) + ' | mean |',
             '|---|' + '---:|' * (len(domains) + 1)]
    for setting, found in per_setting.items():
        cells = [cell([v for d, v in found.values() if d == domain])
                 for domain in domains]
        cells.append(cell([v for _, v in found.values()]))
        lines.append(f'| {setting} | ' + ' | '.join(cells) + ' |')
    lines += ['', f'Prompted SAM, {metric} per dataset (Stable-SAM Table 2)',
              '', '| domain | dataset | ' + ' | '.join(settings) + ' |',
              '|---|---|' + '---:|' * len(settings)]
    for name, domain in names.items():
        cells = [cell([per_setting[s][name][1]] if name in per_setting[s]
                      else []) for s in settings]
        lines.append(f'| {domain} | {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--out', help='also write the table to this file')
    args = parser.parse_args()
    results, skipped = read_runs(args.work_dirs)
    for _, reason in skipped:
        print(f'skipped {reason}', file=sys.stderr)
    if not results:
        sys.exit('No test results in any of the given folders.')
    plain = {k: r for k, r in results.items() if 'mIoU' in r}
    text = '\n\n'.join(
        t for t in (table(rows(plain)) if plain else '',
                    prompt_tables(results)) if t)
    if skipped:
        text += (f'\n\nSkipped {len(skipped)} folder(s) (reasons on '
                 'stderr): ' + ', '.join(work_dir for work_dir, _ in skipped))
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    main()
