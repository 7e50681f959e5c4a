"""The command line shared by the config generators in ``tools/misc``."""
import argparse
import os
import os.path as osp
from typing import Callable, Dict


def generator_main(description: str, repo: str,
                   expected_files: Callable[[], Dict[str, str]]) -> None:
    """Write the files ``expected_files()`` maps (repo-relative path ->
    text) where they differ; with ``--check`` only report them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args()
    files = expected_files()
    stale = []
    for rel, text in files.items():
        path = osp.join(repo, rel)
        current = open(path).read() if osp.isfile(path) else None
        if current != text:
            stale.append(rel)
            if not args.check:
                os.makedirs(osp.dirname(path), exist_ok=True)
                with open(path, 'w') as f:
                    f.write(text)
    if args.check and stale:
        raise SystemExit(f'{len(stale)} files differ from the generator: '
                         f'{stale[:5]}')
    print(f'{len(files)} configs, {len(stale)} '
          f"{'differ' if args.check else 'written'}")
