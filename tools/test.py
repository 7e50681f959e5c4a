"""Test (and evaluate) a segmentor: same arguments as mmseg's tools/test.py."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.dist import get_world_size
from mmengine.runner import Runner

from mmseg_mopeft.engine.hooks import set_checkpoint_keys_check
from mmseg_mopeft.utils import setup_cpu_distributed, teardown_distributed


def parse_args():
    parser = argparse.ArgumentParser(
        description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='load a checkpoint that leaves model weights missing or '
        'unexpected (warn instead of failing)')
    parser.add_argument(
        '--work-dir',
        help='directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out',
        type=str,
        help='directory to save the prediction masks (as PNG files); for '
        'detection configs: a folder for the AP table and detections, or '
        'a .pkl file for mmdet\'s analysis tools. The folder must be new or '
        'empty and the .pkl file new: nothing there is overwritten')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved; it must be new '
        'or empty: nothing there is overwritten')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--show-interval',
        type=int,
        default=1,
        help='draw every n-th image with --show/--show-dir (mmseg: 50)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument(
        '--record-gates',
        action='store_true',
        help='write MoPEFT gate values per block and image to the run\'s '
        'log folder (work_dir/<timestamp>/gates.npz/json; plot with '
        'tools/analysis_tools/gate_usage.py)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks, e.g. '
            "visualization=dict(type='SegVisualizationHook')")
    visualization_hook = default_hooks['visualization']
    visualization_hook['draw'] = True
    visualization_hook['interval'] = args.show_interval
    if args.show:
        visualization_hook['show'] = True
        visualization_hook['wait_time'] = args.wait_time
    if args.show_dir and is_detection(cfg):
        # as mmdet's test.py: one drawing per image, named after it (tile);
        # absolute, since mmdet's hook re-joins a relative one every batch
        visualization_hook['test_out_dir'] = osp.abspath(args.show_dir)
    elif args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
        if cfg.visualizer.get('type') in ('SegVisualizer',
                                          'mmseg.SegVisualizer'):
            cfg.visualizer['all_ranks'] = True  # each rank its own images
    return cfg


def refuse_used_output(option: str, path: str) -> None:
    """Outputs go to a new file or a new or empty folder: a run never
    overwrites files it did not write (a user's, an earlier run's)."""
    if not osp.exists(path):
        return
    if path.endswith(('.pkl', '.pickle')) or not osp.isdir(path):
        raise FileExistsError(
            f'{option} {path} exists; tools/test.py does not overwrite it: '
            f'give a new path or remove it')
    entries = sorted(os.listdir(path))
    if entries:
        shown = ', '.join(entries[:3]) + (', ...' if len(entries) > 3 else '')
        raise FileExistsError(
            f'{option} {path} is not empty ({shown}); tools/test.py writes '
            f'into a new or empty folder only, so that it overwrites '
            f'nothing: give another folder or empty this one')


def _launch_rank() -> int:
    """This process's global rank as the launcher set it (0 alone)."""
    for key in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if key in os.environ:
            return int(os.environ[key])
    return 0


def is_detection(cfg) -> bool:
    """A FAIR-1M (mmdet) config rather than a segmentation one."""
    return cfg.default_hooks.get('visualization', {}).get(
        'type', '').endswith('DetVisualizationHook')


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    set_checkpoint_keys_check(cfg, args.allow_partial)
    # rank 0 checks before it joins the other ranks: none has written yet
    if _launch_rank() == 0:
        for option, path in (('--out', args.out),
                             ('--show-dir', args.show_dir)):
            if path is not None:
                refuse_used_output(option, path)

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        for key in ('tta_model', 'tta_pipeline'):
            if key not in cfg:
                raise KeyError(f'--tta: {args.config} defines no {key}')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    dump_file = None
    if args.out is not None and args.out.endswith(('.pkl', '.pickle')):
        if not is_detection(cfg):
            raise ValueError(
                f'--out {args.out}: a pickle of predictions is written for '
                'detection (FAIR-1M) configs, which mmdet\'s analysis tools '
                'read; for segmentation --out is a folder of PNG masks')
        dump_file = args.out
    elif args.out is not None:
        # several metrics (PromptedSAM's test modes): the first mode's masks
        evaluator = cfg.test_evaluator
        if isinstance(evaluator, (list, tuple)):
            evaluator = evaluator[0]
        evaluator['output_dir'] = args.out
        evaluator['keep_results'] = True

    if args.record_gates:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='GateRecorderHook')
        ]

    # about 10 progress lines however small the split
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='ProgressLogHook')
    ]

    setup_cpu_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    if args.show_dir and is_detection(cfg) and get_world_size() > 1:
        runner.logger.warning(
            f'--show-dir with {get_world_size()} processes: mmdet\'s '
            f'visualizer draws on rank 0 only, so about 1/{get_world_size()} '
            f'of the tiles get drawn; run tools/test.py in one process to '
            f'draw every tile')
    if dump_file is not None:  # mmdet's test.py --out: results.pkl
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=dump_file))
    runner.test()
    del runner  # its DDP model holds the process group
    teardown_distributed()


if __name__ == '__main__':
    main()
