import os.path as osp

from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import BaseLoop
from mmseg.registry import HOOKS

from ..checkpoint_io import (ATOMIC_BACKEND, CheckpointFileError,
                             check_readable, resume_candidates)


@HOOKS.register_module()
class CheckpointRecoveryHook(Hook):
    """Checkpoints that survive a crash, and a ``--resume`` that copes.

    * Checkpoint hooks writing to local folders with default file settings
      write atomically (``checkpoint_io.AtomicLocalBackend``): a crash
      never leaves a truncated file under a checkpoint's name.
    * Automatic resume (``resume=True`` without ``load_from``, or
      ``resume='auto'``) tries the last run's checkpoints newest first
      (``checkpoint_io.resume_candidates``); an unreadable one (e.g.
      truncated by a crash of an older version) is named in a warning and
      the previous complete one is used. A work dir without checkpoints
      starts from scratch, or with ``resume='auto'`` (``tools/train.py
      --resume``) from the config's ``load_from``, loaded as without resume;
      a work dir whose checkpoints are all unreadable is an error.
    * A resumed run takes the checkpoint's seed (mmengine), but the train
      sampler was built with the run's fresh seed: a ``reseed``-able
      sampler (``SeededInfiniteSampler``) that followed the runner's seed
      is switched to the resumed one before the first batch, so data order
      and augmentation continue the checkpoint's run.

    ``resume=True`` with ``load_from`` (``--resume PATH``) loads that file
    and nothing else.
    """

    priority = 'VERY_HIGH'  # before anything reads the resumed state
    _sampler_seed = None  # the runner's seed the train sampler was built with

    def before_run(self, runner) -> None:
        self._make_writes_atomic(runner)
        self._sampler_seed = None
        # only when training: test()/val() never resume
        if not isinstance(runner._train_loop, BaseLoop):
            return
        sampler = runner.train_dataloader.sampler
        if hasattr(sampler, 'reseed') and sampler.seed == runner.seed:
            self._sampler_seed = runner.seed  # the runner's, not a config's
        if runner._resume == 'auto':
            fallback, runner._load_from = runner._load_from, None
            self._choose_resume_file(runner, fallback)
        elif runner._resume and runner._load_from is None:
            self._choose_resume_file(runner)

    def before_train(self, runner) -> None:
        """After ``load_or_resume``: the sampler follows a resumed seed."""
        if self._sampler_seed is None or runner.seed == self._sampler_seed:
            return
        loop = runner.train_loop
        loop.dataloader.sampler.reseed(runner.seed)
        iterator = getattr(loop, 'dataloader_iterator', None)
        if iterator is not None:  # made, and prefetching, with the old seed
            loop.dataloader_iterator = type(iterator)(loop.dataloader)
        runner.logger.info(f'Train sampler reseeded with the resumed seed '
                           f'{runner.seed}.')

    @staticmethod
    def _make_writes_atomic(runner) -> None:
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook):
                continue
            local = hook.out_dir is None or '://' not in str(hook.out_dir)
            if local and hook.backend_args is None and getattr(
                    hook, 'file_client_args', None) is None:
                hook.backend_args = dict(backend=ATOMIC_BACKEND)

    @staticmethod
    def _choose_resume_file(runner, fallback=None) -> None:
        # mmengine has no public setter: load_or_resume() reads these
        candidates, pointer = resume_candidates(runner.work_dir)
        if pointer and not osp.isfile(pointer):
            runner.logger.warning(
                f'--resume: {osp.join(runner.work_dir, "last_checkpoint")} '
                f'names {pointer}, which does not exist.')
        if not candidates:
            run = 'of the last run ' if pointer else ''
            start = f'load_from {fallback}' if fallback else 'scratch'
            runner.logger.info(
                f'--resume: no checkpoint {run}in {runner.work_dir}; '
                f'starting from {start}.')
            runner._resume, runner._load_from = False, fallback
            return
        broken = []
        for path in candidates:
            try:
                check_readable(path)
            except (CheckpointFileError, FileNotFoundError) as err:
                broken.append(str(err))
                runner.logger.warning(
                    f'--resume: skipping unreadable checkpoint: {err}')
                continue
            if broken:
                runner.logger.warning(
                    f'--resume: {len(broken)} newer checkpoint(s) could not '
                    f'be read; falling back to the previous complete one, '
                    f'{path}.')
            runner.logger.info(f'--resume: resuming from {path}.')
            runner._load_from = path
            return
        raise CheckpointFileError(
            f'--resume: none of the checkpoints in {runner.work_dir} can be '
            'read:\n  ' + '\n  '.join(broken) + '\nRemove or repair them, '
            'or train without --resume to start from scratch.')
