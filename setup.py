from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('mmseg_mopeft/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


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
    zip_safe=False,
)
