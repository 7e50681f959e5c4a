import math

from mmengine.hooks import Hook, LoggerHook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class ProgressLogHook(Hook):
    """Fit the logger's interval to the size of the test split.

    mmseg logs every 50 test images, so a 21-image split (CWFID) prints
    nothing until it ends. During testing this hook lowers the interval so
    that about ``lines`` progress lines appear (never raises it), and puts
    the configured interval back afterwards. ``tools/test.py`` adds it.
    """

    def __init__(self, lines: int = 10):
        if lines < 1:
            raise ValueError(f'ProgressLogHook: lines={lines} must be '
                             '>= 1')
        self.lines = lines
        self._saved = []

    def before_test(self, runner) -> None:
        batches = len(runner.test_dataloader)
        wanted = max(1, math.ceil(batches / self.lines))
        self._saved = []
        for hook in runner.hooks:
            if isinstance(hook, LoggerHook) and hook.interval > wanted:
                self._saved.append((hook, hook.interval))
                hook.interval = wanted
                runner.logger.info(
                    f'Test split of {batches} batches: logging every '
                    f'{wanted} (configured: {self._saved[-1][1]})')

    def after_test(self, runner) -> None:
        for hook, interval in self._saved:
            hook.interval = interval
        self._saved = []
