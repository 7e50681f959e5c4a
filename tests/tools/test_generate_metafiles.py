"""The model index: every config folder has a metafile listing exactly its
configs, every entry's config exists and builds."""
import os.path as osp

import pytest
import torch
import yaml
from helpers import REPO, load_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS


def _tool():
    return load_tool('tools/misc/generate_metafiles.py')


def _load(path):
    with open(osp.join(REPO, path)) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope='module')
def index():
    return _load('model-index.yml')


def test_index_imports_one_metafile_per_config_folder(index):
    tool = _tool()
    folders = tool.method_folders()
    assert 'mopeft' in folders and 'lora' in folders
    assert index['Import'] == [
        f'configs/{folder}/metafile.yaml' for folder in folders
    ]
    for folder in folders:
        assert osp.isfile(osp.join(REPO, 'configs', folder, 'README.md'))


def test_metafiles_list_exactly_the_configs(index):
    tool = _tool()
    names = []
    for path in index['Import']:
        meta = _load(path)
        folder = path.split('/')[1]
        listed = [m['Config'] for m in meta['Models']]
        assert sorted(listed) == sorted(tool.config_files(folder)), path
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert osp.isfile(osp.join(REPO, model['Config']))
            assert model['In Collection'] in collections
            assert model['Name'] == osp.splitext(
                osp.basename(model['Config']))[0]
            assert 'Weights' in model  # mmengine reads it
            assert model['Metadata']['Batch Size Per GPU'] >= 1
            names.append(model['Name'])
    assert len(names) == len(set(names)), 'model names must be unique'
    assert 'mopeft_vitb_cryonuseg' in names


def test_one_entry_per_folder_builds(index):
    """The first entry of every metafile builds (on the meta device: no
    weights are read or allocated)."""
    init_default_scope('mmseg')
    for path in index['Import']:
        model = _load(path)['Models'][0]
        cfg = Config.fromfile(osp.join(REPO, model['Config']))
        with torch.device('meta'):
            built = MODELS.build(cfg.model)
        assert sum(p.numel() for p in built.parameters()) > 0, path


@pytest.mark.slow
def test_generated_files_are_up_to_date():
    """Every config loads and builds, and the files match the generator."""
    tool = _tool()
    for path, content in tool.generate().items():
        with open(osp.join(REPO, path)) as f:
            assert f.read() == content, (
                f'{path} is out of date: run '
                f'tools/misc/generate_metafiles.py')
