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
    * Automatic resume (``resume=True`` without ``load_from``) tries the work
      dir's checkpoints newest first; an unreadable one (e.g. truncated by a
      crash of an older version) is named in a warning and the previous
      complete one is used. An empty work dir is said to start from scratch;
      a work dir whose checkpoints are all unreadable is an error.

    ``resume=True`` with ``load_from`` (``--resume PATH``) loads that file
    and nothing else.
    """

    priority = 'VERY_HIGH'  # before anything reads the resumed state

    def before_run(self, runner) -> None:
        self._make_writes_atomic(runner)
        # only when training: test()/val() never resume
        if isinstance(runner._train_loop, BaseLoop) and runner._resume \
                and runner._load_from is None:
            self._choose_resume_file(runner)

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
    def _choose_resume_file(runner) -> None:
        # mmengine has no public setter: load_or_resume() reads these
        candidates, pointer = resume_candidates(runner.work_dir)
        if pointer and not osp.isfile(pointer):
            runner.logger.warning(
                f'--resume: {osp.join(runner.work_dir, "last_checkpoint")} '
                f'names {pointer}, which does not exist.')
        if not candidates:
            runner.logger.info(
                f'--resume: no checkpoint in {runner.work_dir}; starting '
                f'from scratch.')
            runner._resume = False
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
