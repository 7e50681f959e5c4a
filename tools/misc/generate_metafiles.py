"""Write the model-zoo files mmseg and mim read, from the configs.

    python tools/misc/generate_metafiles.py [--check]

For every folder of ``configs/`` (but those in ``SKIP`` and folders
without configs): ``configs/<folder>/metafile.yaml`` (one entry per config,
ablations included) and ``configs/<folder>/README.md`` (what the method
trains, its parameter share counted on the model, published numbers, batch
size, schedule and commands); and ``model-index.yml`` importing every
metafile. Rerun it after adding a method folder or a dataset. ``--check``
writes nothing and fails when a file is out of date.
"""
import os
import os.path as osp
import sys
from typing import Dict, List

import torch
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmseg_mopeft.utils.generated_files import generator_main  # noqa: E402
from mmseg_mopeft.utils.generated_files import is_marker  # noqa: E402
from mmseg_mopeft.utils.generated_files import mark  # noqa: E402

# demo: the `make demo` job; prompted_sam: evaluation protocols that prompt
# SAM with ground-truth points/boxes, not models to infer with
SKIP = ('_base_', 'demo', 'prompted_sam')

# Collection name, papers and published numbers per folder. The numbers are
# the papers' own (GUIDE.md, section 3); None where a paper gives none.
COLLECTIONS: Dict[str, dict] = {
    'mopeft': dict(
        name='MoPEFT',
        papers=[('MoPEFT: A Mixture-of-PEFTs for the Segment Anything '
                 'Model (Sahay and Savakis, 2024)', None)],
        published='MoPEFT paper, Table 4.5 (FloodNet, relative to full '
        'fine-tuning): encoder parameters 1.47%, training time 63%, '
        'inference time 124%.'),
    'mopeft_conv': dict(
        name='MoPEFT with Conv-LoRA',
        papers=[('MoPEFT: A Mixture-of-PEFTs for the Segment Anything '
                 'Model (Sahay and Savakis, 2024)', None),
                ('Convolution Meets LoRA: Parameter Efficient Finetuning '
                 'for Segment Anything Model (Zhong et al., 2024)', None)],
        published=None),
    'lora': dict(
        name='LoRA',
        papers=[('LoRA: Low-Rank Adaptation of Large Language Models (Hu '
                 'et al., 2022)', 'https://arxiv.org/abs/2106.09685')],
        published='MoPEFT paper, Table 4.5 (FloodNet, relative to full '
        'fine-tuning): encoder parameters 0.24%, training time 55%, '
        'inference time 104%. Conv-LoRA paper, Table 1: 0.62% of all '
        'parameters (decoder included).'),
    'vpt': dict(
        name='VPT',
        papers=[('Visual Prompt Tuning (Jia et al., 2022)',
                 'https://arxiv.org/abs/2203.12119')],
        published='MoPEFT paper, Table 4.5 (FloodNet, relative to full '
        'fine-tuning): encoder parameters 0.08%, training time 49%, '
        'inference time 109%. Conv-LoRA paper, Table 1: 0.62% of all '
        'parameters (decoder included).'),
    'vpt_deep': dict(
        name='VPT-Deep',
        papers=[('Prefix-Tuning: Optimizing Continuous Prompts for '
                 'Generation (Li and Liang, 2021)',
                 'https://arxiv.org/abs/2101.00190'),
                ('Visual Prompt Tuning (Jia et al., 2022)',
                 'https://arxiv.org/abs/2203.12119')],
        published='MoPEFT paper, Table 4.5 (FloodNet, relative to full '
        'fine-tuning): encoder parameters 0.17%, training time 54%, '
        'inference time 114%.'),
    'adapter': dict(
        name='Adapter',
        papers=[('Parameter-Efficient Transfer Learning for NLP (Houlsby '
                 'et al., 2019)', 'https://arxiv.org/abs/1902.00751')],
        published='MoPEFT paper, Table 4.5 (FloodNet, relative to full '
        'fine-tuning): encoder parameters 0.83%, training time 55%, '
        'inference time 108%. Conv-LoRA paper, Table 1: 0.61% of all '
        'parameters (decoder included).'),
    'decoder_ft': dict(
        name='Decoder fine-tuning',
        papers=[('Segment Anything (Kirillov et al., 2023)',
                 'https://arxiv.org/abs/2304.02643')],
        published='MoPEFT paper, Table 4.5 (FloodNet, relative to full '
        'fine-tuning): training time 38%, inference time 100%. Conv-LoRA '
        'paper, Table 1 (decoder-only): 0.55% of all parameters.'),
    'frozen': dict(
        name='Frozen SAM',
        papers=[('Segment Anything (Kirillov et al., 2023)',
                 'https://arxiv.org/abs/2304.02643')],
        published=None),
    'full_ft': dict(
        name='Full fine-tuning',
        papers=[('Segment Anything (Kirillov et al., 2023)',
                 'https://arxiv.org/abs/2304.02643')],
        published=None),
    'conv_lora': dict(
        name='Conv-LoRA',
        papers=[('Convolution Meets LoRA: Parameter Efficient Finetuning '
                 'for Segment Anything Model (Zhong et al., 2024)', None)],
        published='Conv-LoRA paper, Table 1: 0.63% of all parameters '
        '(decoder included).'),
    'bitfit': dict(
        name='BitFit',
        papers=[('BitFit: Simple Parameter-efficient Fine-tuning for '
                 'Transformer-based Masked Language-models (Ben Zaken et '
                 'al., 2022)', None)],
        published='Conv-LoRA paper, Table 1: 0.62% of all parameters '
        '(decoder included).'),
    'ssf': dict(
        name='SSF',
        papers=[('Scaling & Shifting Your Features: A New Baseline for '
                 'Efficient Model Tuning (Lian et al., 2022)', None)],
        published='Conv-LoRA paper, Table 1: 0.69% of all parameters '
        '(decoder included).'),
    'fair1m': dict(
        name='FAIR-1M detection',
        description='FAIR-1M object detection (37 fine classes in 5 '
        'categories): SAM\'s mask decoder queries act as object queries, an '
        'MLP predicts their class and Masks2Boxes turns each mask into its '
        'box; one config per method, all building on '
        '`decoder_ft_vitb_fair1m.py`.',
        example='mopeft_vitb_fair1m',
        papers=[],
        published=None),
    'mmseg_heads': dict(
        name='SAM ViT under mmseg heads',
        description='The frozen SAM encoder under mmseg\'s own decode heads '
        '(UPerHead through a multi-level neck, FCNHead on the neck output).',
        papers=[],
        published=None),
}


def method_folders() -> List[str]:
    """Folders of configs/ that hold configs, sorted."""
    root = osp.join(REPO, 'configs')
    return sorted(
        d for d in os.listdir(root)
        if d not in SKIP and osp.isdir(osp.join(root, d)) and config_files(d))


def config_files(folder: str) -> List[str]:
    """Repo-relative config paths of a folder (subfolders included)."""
    found = []
    for dirpath, _, files in os.walk(osp.join(REPO, 'configs', folder)):
        found += [
            osp.relpath(osp.join(dirpath, f), REPO) for f in files
            if f.endswith('.py')
        ]
    return sorted(found, key=lambda p: (p.count('/'), p))


def leading_comment(path: str) -> str:
    """The comment lines a config file starts with (but a generator's
    marker), as one paragraph."""
    lines = []
    with open(path) as f:
        for line in f:
            if not line.startswith('#'):
                break
            if not is_marker(line):
                lines.append(line.lstrip('#').strip())
    return ' '.join(lines)


def description(folder: str, configs: List[str]) -> str:
    if collection_of(folder).get('description'):
        return collection_of(folder)['description']
    base = osp.join(REPO, 'configs', '_base_', 'methods',
                    f'{folder}_vitb.py')
    if osp.isfile(base) and leading_comment(base):
        return leading_comment(base)
    for config in configs:
        text = leading_comment(osp.join(REPO, config))
        if text:
            return text
    return ''


def collection_of(folder: str) -> dict:
    known = COLLECTIONS.get(folder)
    if known:
        return known
    return dict(name=folder, papers=[], published=None)


def parameter_counts(cfg: Config) -> Dict[str, int]:
    """Trainable / all / trainable-in-encoder parameters of the config's
    model, built on the meta device (no memory, no weights read)."""
    from mmseg.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    params = list(model.named_parameters())
    return dict(
        trainable=sum(p.numel() for _, p in params if p.requires_grad),
        total=sum(p.numel() for _, p in params),
        encoder=sum(p.numel() for n, p in params
                    if p.requires_grad and n.startswith('backbone.')))


def dataset_name(cfg: Config) -> str:
    """The dataset's own name (``METAINFO['dataset_name']``), else its
    class name without 'Dataset'."""
    from mmseg.registry import DATASETS
    dataset_type = cfg.train_dataloader.dataset.get('type', '')
    cls = DATASETS.get(dataset_type) if dataset_type else None
    name = getattr(cls, 'METAINFO', {}).get('dataset_name')
    if name:
        return name
    name = dataset_type.split('.')[-1]
    return name[:-len('Dataset')] if name.endswith('Dataset') else name


def task_of(cfg: Config) -> str:
    detector = cfg.model.type.split('.')[-1] == 'SAMDetector'
    return 'Object Detection' if detector else 'Semantic Segmentation'


def architecture(cfg: Config) -> List[str]:
    backbone = cfg.model.get('backbone') or {}
    arch = backbone.get('arch', 'vit-b')
    names = {'vit-b': 'ViT-B', 'vit-l': 'ViT-L', 'vit-h': 'ViT-H'}
    parts = [f'SAM {names.get(arch, arch)}' if isinstance(arch, str) else
             'SAM']
    peft = dict(backbone.get('peft') or {})
    gated = peft.pop('gated', False)
    for name in peft:
        parts.append(f'{name} (gated)' if gated else name)
    head = cfg.model.get('decode_head') or {}
    parts.append(head.get('type', cfg.model.type).split('.')[-1])
    return parts


def model_entry(config: str, collection: str) -> dict:
    cfg = Config.fromfile(osp.join(REPO, config))
    preprocessor = cfg.model.get('data_preprocessor') or cfg.get(
        'data_preprocessor', {})
    img_size = (cfg.model.get('backbone') or {}).get('img_size')
    size = preprocessor.get('size') or cfg.get('crop_size') or (
        (img_size, img_size) if img_size else None)
    optimizer = cfg.optim_wrapper.optimizer
    metadata = {
        'Training Data': dataset_name(cfg),
        'Batch Size Per GPU': cfg.train_dataloader.batch_size,
        'Base Batch Size': cfg.get('auto_scale_lr', {}).get(
            'base_batch_size'),
        'Iterations': cfg.train_cfg.get('max_iters'),
        'Optimizer': f'{optimizer.type} lr {optimizer.lr:g} weight decay '
                     f'{optimizer.get("weight_decay", 0):g}',
        'Input Size': f'{size[0]}x{size[1]}' if size else None,
        'Architecture': architecture(cfg),
        'Classes': (cfg.model.get('decode_head') or {}).get('num_classes'),
        'Task': task_of(cfg),
    }
    return {
        'Name': osp.splitext(osp.basename(config))[0],
        'In Collection': collection,
        'Config': config,
        'Metadata': {k: v for k, v in metadata.items() if v is not None},
        # no trained weights are published yet; MMSegInferencer then needs
        # weights=CKPT
        'Weights': None,
    }


def metafile(folder: str, configs: List[str]) -> dict:
    info = collection_of(folder)
    models = [model_entry(c, info['name']) for c in configs]
    collection = {
        'Name': info['name'],
        'Metadata': {
            'Training Data':
            sorted({m['Metadata']['Training Data'] for m in models}),
        },
        'README': f'configs/{folder}/README.md',
        'Frameworks': ['PyTorch'],
    }
    if info['papers']:
        title, url = info['papers'][0]
        collection['Paper'] = {'Title': title}
        if url:
            collection['Paper']['URL'] = url
    return {'Collections': [collection], 'Models': models}


def readme(folder: str, configs: List[str], meta: dict) -> str:
    info = collection_of(folder)
    models = meta['Models']
    by_name = {m['Name']: m for m in models}
    example = by_name.get(info.get('example', f'{folder}_vitb_cryonuseg'))
    if example is None:
        example = next((m for m in models if 'cryonuseg' in m['Name']),
                       models[0])
    cfg = Config.fromfile(osp.join(REPO, example['Config']))
    try:
        counts = parameter_counts(cfg)
    except Exception as error:  # e.g. a model that reads weights when built
        counts = None
        print(f'warning: configs/{folder}: parameters not counted, '
              f'{example["Config"]} does not build on the meta device '
              f'({type(error).__name__}: {str(error)[:200]})')
    md = example['Metadata']
    per_gpu = md['Batch Size Per GPU']
    config = example['Config']
    lines = ['', f'# {info["name"]}', '']
    text = description(folder, configs)
    if text:
        lines += [text, '']
    for title, url in info['papers']:
        lines.append(f'Paper: [{title}]({url})' if url else f'Paper: '
                     f'{title}')
    if info['papers']:
        lines.append('')
    lines += ['## What trains', '']
    if counts:
        share = 100 * counts['trainable'] / counts['total']
        enc = 100 * counts['encoder'] / counts['total']
        lines += [
            f'`{config}` ({", ".join(md["Architecture"])}, '
            f'{md.get("Classes", "?")} classes, {md.get("Input Size", "?")} '
            f'px), counted on the model the config builds:', '',
            '| | parameters | share of all (frozen SAM + what trains) |',
            '|---|---:|---:|',
            f'| trainable | {counts["trainable"]:,} | {share:.2f}% |',
            f'| of which in the encoder | {counts["encoder"]:,} | '
            f'{enc:.2f}% |', f'| all | {counts["total"]:,} | 100% |', ''
        ]
    else:
        lines += [f'Not counted: `{config}` reads weights when it is built.',
                  '']
    if info['published']:
        lines += ['Published: ' + info['published'], '']
    hook = cfg.default_hooks.get('checkpoint', {})
    if hook.get('type') == 'PEFTCheckpointHook' and hook.get(
            'trainable_only', True):
        lines += [
            'Checkpoints hold only what trains, its optimizer state and a '
            'record (path, md5) of the SAM file the rest comes from '
            '(`PEFTCheckpointHook`), so their size follows the trainable '
            'share.', ''
        ]
    else:
        lines += ['Checkpoints hold the whole model.', '']
    lines += [
        '## Batch size and schedule', '',
        f'Every config: {per_gpu} images per GPU, {md.get("Iterations")} '
        f'iterations, {md["Optimizer"]}, poly decay. The paper trains with '
        f'{md.get("Base Batch Size", 4)} images in total, the base of '
        f'`auto_scale_lr`:', '',
        f'- `python tools/train.py {config}` trains with {per_gpu} images '
        f'in total (one GPU or the CPU);',
        f'- `tools/dist_train.sh {config} 8` trains with {8 * per_gpu} '
        f'images in total, same learning rate; add `--cfg-options '
        f'auto_scale_lr.enable=True` to scale it linearly '
        f'({8 * per_gpu}/{md.get("Base Batch Size", 4)}x), or '
        f'`train_dataloader.batch_size=...` to change the batch.', ''
    ]
    name = example['Name']
    ckpt = f'work_dirs/{name}/iter_10000.pth'
    lines += [
        '## Commands', '', '```bash', f'python tools/train.py {config}',
        f'tools/dist_train.sh {config} 8',
        f'python tools/test.py {config} {ckpt}'
    ]
    if md['Task'] == 'Semantic Segmentation':
        size = md.get('Input Size', '1024x1024').replace('x', ' ')
        lines += [
            f'python tools/model_converters/merge_peft.py {config} {ckpt} '
            f'merged/',
            f'python tools/deployment/pytorch2onnx.py {config} {ckpt} '
            f'--shape {size} --verify', '```', '',
            'In Python, by name (`import mmseg_mopeft` first):', '',
            '```python', 'from mmseg.apis import MMSegInferencer',
            f"inferencer = MMSegInferencer('{name}', weights='{ckpt}', "
            f"scope='mmseg_mopeft')"
        ]
    lines += ['```', '']
    lines += ['## Configs', '', '| name | dataset | classes | task |',
              '|---|---|---:|---|']
    for model in models:
        lines.append(f'| [`{model["Name"]}`](../../{model["Config"]}) | '
                     f'{model["Metadata"]["Training Data"]} | '
                     f'{model["Metadata"].get("Classes", "")} | '
                     f'{model["Metadata"]["Task"]} |')
    return '\n'.join(lines) + '\n'


def dump_yaml(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=79,
                          allow_unicode=True)


def generate() -> Dict[str, str]:
    """Repo-relative path -> content of every generated file."""
    files = {}
    imports = []
    for folder in method_folders():
        configs = config_files(folder)
        meta = metafile(folder, configs)
        path = f'configs/{folder}/metafile.yaml'
        files[path] = dump_yaml(meta)
        files[f'configs/{folder}/README.md'] = readme(folder, configs, meta)
        imports.append(path)
    files['model-index.yml'] = dump_yaml({'Import': imports})
    return mark(__file__, files)


if __name__ == '__main__':
    generator_main(__doc__.split('\n')[0], REPO, generate)
