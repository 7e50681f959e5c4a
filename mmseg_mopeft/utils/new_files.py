"""Outputs of our tools go to new paths only."""
import os.path as osp


def refuse_existing(*paths: str, option: str = '--out') -> None:
    """Stop, before any work, when an output path exists: our tools never
    overwrite a file they did not write (a user's, an earlier run's)."""
    existing = [path for path in paths if osp.lexists(path)]
    if existing:
        raise SystemExit(
            f'{", ".join(existing)} already exist{"s" * (len(existing) == 1)}'
            f'; it is not overwritten: give another {option} or move it '
            'away.')
