"""Collect MESS test results into the benchmark's table.

    python tools/analysis_tools/mess_results.py work_dirs/mopeft_vitb_* \
        [--out table.md]

Each argument is the work dir of a ``tools/test.py`` run on a MESS config;
its scores come from the newest test result (``<timestamp>/<timestamp>.json``)
and its dataset from the config saved with that result. Prints one row per
dataset (PAXRay-4 = mean of its four binary tasks, as in MESS), the mean per
domain and the mean over all datasets, for mIoU and CoI-mIoU; a mean over
fewer datasets than its row has says how many ("70.00 (1 of 2)"). Folders
without a test result, with results of several datasets, or whose test set
is not the benchmark's (a class subset, another split) are skipped and
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
from typing import Dict, List, NamedTuple, Optional

import numpy as np
from mmengine.config import Config

from mmseg_mopeft.datasets.mess import DATASET_CLASSES, MESS_DATASETS
from mmseg_mopeft.models.prompts import PROMPT_TYPES
from mmseg_mopeft.utils.new_files import refuse_existing

METRICS = ('mIoU', 'CoI-mIoU')


def _dataset_key(config: str, where: str) -> str:
    """The MESS key of the config's test set, which must be the benchmark's
    task: all of the dataset's classes, on its prepared test split."""
    cfg = Config.fromfile(config, import_custom_modules=False)
    dataset = cfg.test_dataloader.dataset
    cls = dataset.type
    keys = [k for k, v in DATASET_CLASSES.items() if v == cls]
    if not keys:
        raise ValueError(f'{where}: {cls} is not a MESS dataset class')
    classes = (dataset.get('metainfo') or {}).get('classes')
    full = MESS_DATASETS[keys[0]]['classes']
    if classes is not None and tuple(classes) != tuple(full):
        raise ValueError(
            f'{where}: its test set is a class subset of {cls} '
            f'({list(classes)} of {len(full)} classes), not the MESS '
            "benchmark's task")
    img_path = (dataset.get('data_prefix') or {}).get('img_path', '')
    split = osp.normpath(img_path).replace(osp.sep, '/')
    if not split.endswith('img_dir/test'):
        raise ValueError(f'{where}: its test set reads {img_path!r}, not the '
                         'MESS test split (img_dir/test)')
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


class Row(NamedTuple):
    """One dataset of the table; PAXRay-4's row averages its tasks."""
    group: str  # the MESS key, 'paxray' for PAXRay-4
    domain: str
    title: str
    tasks: str  # ' (k/4 tasks)' when PAXRay-4 has only some, else ''
    scores: Dict[str, Optional[float]]  # None: missing from a task

    @property
    def name(self) -> str:
        return self.title + self.tasks


def rows(results: dict) -> List[Row]:
    """Per-dataset rows with PAXRay's four tasks merged, in MESS order. A
    metric some of the tasks lack is None, so that a row's metrics average
    the same tasks."""
    merged = []
    for key, info in MESS_DATASETS.items():
        group = 'paxray' if key.startswith('paxray_') else key
        if any(row.group == group for row in merged):
            continue
        parts = [k for k in MESS_DATASETS
                 if k.startswith('paxray_')] if group == 'paxray' else [key]
        found = [results[k] for k in parts if k in results]
        if not found:
            continue
        title = 'PAXRay-4' if group == 'paxray' else info['name']
        tasks = (f' ({len(found)}/{len(parts)} tasks)'
                 if len(found) < len(parts) else '')
        scores = {
            m: float(np.mean([r[m] for r in found]))
            if all(r.get(m) is not None for r in found) else None
            for m in METRICS
        }
        merged.append(Row(group, info['domain'], title, tasks, scores))
    return merged


def mean_cell(values: List[Optional[float]]) -> str:
    """The mean of the values that are there (not None), saying how many
    it averages when some are missing; '-' when none is."""
    present = [v for v in values if v is not None]
    if not present:
        return '-'
    text = f'{np.mean(present):.2f}'
    return text if len(present) == len(values) else (
        f'{text} ({len(present)} of {len(values)})')


def table(merged: List[Row]) -> str:
    lines = ['| domain | dataset | mIoU | CoI-mIoU |', '|---|---|---:|---:|']
    by_domain = defaultdict(list)
    for row in merged:
        by_domain[row.domain].append(row.scores)
        lines.append(f'| {row.domain} | {row.name} | ' + ' | '.join(
            mean_cell([row.scores[m]]) for m in METRICS) + ' |')
    for domain, scores in by_domain.items():
        lines.append(f'| {domain} | **mean** | ' + ' | '.join(
            mean_cell([s[m] for s in scores]) for m in METRICS) + ' |')
    everything = [row.scores for row in merged]
    lines.append(f'| all | **mean of {len(everything)}** | ' + ' | '.join(
        mean_cell([s[m] for s in everything]) for m in METRICS) + ' |')
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
    # the datasets of any setting, and per setting its rows by dataset
    datasets = rows({key: {m: 0.0 for m in METRICS} for key in results})
    per_setting = {
        setting: {
            row.group: row
            for row in rows({
                key: {m: scores.get(f'{setting}/{m}') for m in METRICS}
                for key, scores in results.items()
                if scores.get(f'{setting}/{metric}') is not None
            })
        }
        for setting in settings
    }
    domains = list(dict.fromkeys(row.domain for row in datasets))

    def score(setting, row):
        own = per_setting[setting].get(row.group)
        return None if own is None else own.scores[metric]

    lines = [f'Prompted SAM, {metric} per domain (Stable-SAM Table 1)', '',
             '| prompt | ' + ' | '.join(domains) + ' | mean |',
             '|---|' + '---:|' * (len(domains) + 1)]
    for setting in settings:
        cells = [mean_cell([score(setting, row) for row in datasets
                            if row.domain == domain]) for domain in domains]
        cells.append(mean_cell([score(setting, row) for row in datasets]))
        lines.append(f'| {setting} | ' + ' | '.join(cells) + ' |')
    lines += ['', f'Prompted SAM, {metric} per dataset (Stable-SAM Table 2)',
              '', '| domain | dataset | ' + ' | '.join(settings) + ' |',
              '|---|---|' + '---:|' * len(settings)]
    for row in datasets:
        cells = []
        for setting in settings:
            own = per_setting[setting].get(row.group)
            cell = mean_cell([score(setting, row)])
            if own is not None and own.tasks != row.tasks:
                cell += own.tasks
            cells.append(cell)
        lines.append(f'| {row.domain} | {row.name} | ' + ' | '.join(cells) +
                     ' |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--out',
                        help='also write the table to this (new) file')
    args = parser.parse_args()
    if args.out:
        refuse_existing(args.out)
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
