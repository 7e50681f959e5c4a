import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_version():
    namespace = {}
    with open('mmseg_mopeft/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def add_mim_extension():
    """Put configs, tools and model-index.yml into mmseg_mopeft/.mim, where
    mim and MMSegInferencer look for a package's model zoo (links for editable
    installs, copies for wheels), as mmseg's setup.py does."""
    if {'develop', 'editable_wheel'} & set(sys.argv):
        link = True
    elif {'sdist', 'bdist_wheel', 'install', 'build'} & set(sys.argv):
        link = False
    else:
        return
    repo = osp.dirname(osp.abspath(__file__))
    mim = osp.join(repo, 'mmseg_mopeft', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:  # .mim holds only what this function put there
        src, dst = osp.join(repo, name), osp.join(mim, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if link:
            os.symlink(osp.relpath(src, mim), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(src, dst)


add_mim_extension()
setup(
    name='mmseg_mopeft',
    version=read_version(),
    description='Parameter-efficient fine-tuning of SAM (MoPEFT, LoRA, VPT, '
    'adapters) for semantic segmentation in MMSegmentation',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'demo')),
    python_requires='>=3.9',
    # Ranges we support; requirements/constraints.txt pins what CI tests.
    install_requires=[
        'torch>=2.0',
        'torchvision',
        'mmengine>=0.10.0,<0.11',
        'mmcv>=2.0.0,<2.2.0',
        'mmsegmentation>=1.2.0,<1.3',
        'mmpretrain>=1.2.0,<1.3',
        'mmdet>=3.3.0,<3.4',
        'segment-anything>=1.0',
        'ftfy',
        'regex',
        'scipy',
        'numpy<2',
        'Pillow',
        'tifffile',  # multi-band GeoTIFFs (WorldFloods preparation)
    ],
    extras_require=dict(
        tests=['pytest'],
        # LZW-compressed GeoTIFFs (cloud-optimised WorldFloods files)
        geotiff=['imagecodecs'],
        # ONNX export (tools/deployment/pytorch2onnx.py) and its check
        onnx=['onnx', 'onnxscript', 'onnxruntime'],
        # TensorBoard logging and mmseg's analyze_logs.py
        vis=['tensorboard', 'seaborn'],
    ),
    include_package_data=True,
    zip_safe=False,
)
