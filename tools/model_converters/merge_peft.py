"""Merge a PEFT fine-tuned SAM into plain weights.

    python tools/model_converters/merge_peft.py CONFIG CKPT OUT_DIR

Folds every foldable PEFT method into the frozen encoder weights
(``fold_peft``: ungated LoRA, SSF, BitFit) and writes into OUT_DIR:

(a) ``<config>_merged.pth``, an mmseg checkpoint for ``<config>_merged.py``
    (the config without PEFT), self-contained: no base SAM file needed;
(b) ``<config>_sam_encoder.pth``, an official-format SAM file
    (``image_encoder.*``, ``prompt_encoder.*``, ``mask_decoder.*``) that
    ``segment_anything.sam_model_registry[...]`` loads: the fine-tuned
    encoder with SAM's own prompt encoder and mask decoder from the base
    file (our head's N class tokens and class branch have no place there),
    and SAM's neck from it too where the backbone has none (mmseg heads).

A checkpoint that does not fit CONFIG's model is refused, naming the keys.

When something cannot be folded (gates, adapters, prefixes, Conv-LoRA) it
says what and why, and writes only (a), for CONFIG itself: the whole model,
unfolded, loadable without the base file. Existing files are never
overwritten.
"""
import argparse
import copy
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config

from mmseg_mopeft.apis.strict_loading import init_model_strict
from mmseg_mopeft.models.peft import fold_peft
from mmseg_mopeft.models.utils import load_sam_state_dict
from mmseg_mopeft.models.utils.peft_checkpoint import file_md5

SAM_PARTS = ('prompt_encoder.', 'mask_decoder.')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Fold PEFT into the weights; write an mmseg checkpoint '
        'without PEFT and an official-format SAM file')
    parser.add_argument('config', help='the config the checkpoint was '
                        'trained with')
    parser.add_argument('checkpoint', help='PEFT (small) or full checkpoint')
    parser.add_argument('out_dir', help='folder for the merged files')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def remaining_methods(model: torch.nn.Module) -> dict:
    """'<module>.<method>' -> why, for methods still attached after
    folding (prefixes stay in attention: SAM has no place for them)."""
    left = {}
    for name, module in model.named_modules():
        tuner = getattr(module, 'tuner', None)
        if tuner is not None:
            for method in tuner.methods:
                left[f'{name}.{method}'] = (
                    'simplified but still attached (a prefix keeps its '
                    'keys/values in attention); SAM\'s encoder has no '
                    'place for it')
    return left


def base_file(cfg: Config, checkpoint: str) -> str:
    """The SAM file the backbone was built on (recorded in a PEFT
    checkpoint, else the config's init_cfg)."""
    meta = torch.load(checkpoint, map_location='cpu',
                      weights_only=True).get('meta', {})
    record = meta.get('peft_base')
    if isinstance(record, dict) and 'path' in record:
        return record['path']
    if isinstance(record, dict):  # per module
        return record.get('backbone', next(iter(record.values())))['path']
    init_cfg = cfg.model.backbone.get('init_cfg') or {}
    path = init_cfg.get('checkpoint')
    if not path:
        raise ValueError(
            f'{checkpoint} records no base SAM file (meta.peft_base) and the '
            f'config has no backbone init_cfg checkpoint; the official SAM '
            f'file needs SAM\'s prompt encoder and mask decoder from it.')
    return path


def official_sam_state(backbone_state: dict, base: str) -> dict:
    """``image_encoder.*`` from our backbone, the rest from the base (and
    SAM's neck, untouched, where the backbone was built without it)."""
    sam = load_sam_state_dict(base)
    state = {'image_encoder.' + k: v for k, v in backbone_state.items()}
    parts = SAM_PARTS
    if not any(k.startswith('neck.') for k in backbone_state):
        parts += ('image_encoder.neck.', )
    for key, value in sam.items():
        if key.startswith(parts):
            state[key] = value
    missing = sorted(k for k in sam if k.startswith('image_encoder.')
                     and k not in state)
    extra = sorted(k for k in state if k.startswith('image_encoder.')
                   and k not in sam)
    if missing or extra:
        raise KeyError(f'merged encoder keys differ from {base}: missing '
                       f'{missing[:5]}, not in SAM {extra[:5]}')
    for key in state:
        if key.startswith('image_encoder.') and \
                state[key].shape != sam[key].shape:
            print(f'note: {key} is {tuple(state[key].shape)} (config '
                  f'img_size) but {tuple(sam[key].shape)} in {base}; build '
                  f'SAM for that image size to load this file.')
    return state


def check_free(paths):
    taken = [p for p in paths if osp.exists(p)]
    if taken:
        raise FileExistsError(f'{taken} exist; remove them or choose '
                              f'another output folder.')


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    model = init_model_strict(cfg, args.checkpoint, args.device)
    name = osp.splitext(osp.basename(args.config))[0]
    os.makedirs(args.out_dir, exist_ok=True)
    out = osp.join(args.out_dir, name)

    folded = copy.deepcopy(model)
    report = fold_peft(folded)
    cannot = dict(report.kept)
    for key, why in remaining_methods(folded).items():
        cannot.setdefault(key, why)
    meta = dict(merged_from=osp.abspath(args.checkpoint),
                config=osp.abspath(args.config),
                dataset_meta=getattr(model, 'dataset_meta', None))

    if cannot:
        ckpt_path = out + '_full.pth'
        check_free([ckpt_path])
        torch.save(dict(meta=meta, state_dict=model.state_dict()), ckpt_path)
        print('Cannot merge into plain SAM weights:')
        for key, why in cannot.items():
            print(f'  {key}: {why}')
        print(f'Wrote (a) {ckpt_path}: the whole model for {args.config} '
              f'(PEFT kept, unfolded), self-contained: it loads without the '
              f'base SAM file (tools/test.py, init_model, MMSegInferencer). '
              f'No official SAM file was written.')
        return 1

    cfg_path, ckpt_path = out + '_merged.py', out + '_merged.pth'
    sam_path = out + '_sam_encoder.pth'
    check_free([cfg_path, ckpt_path, sam_path])
    merged_cfg = copy.deepcopy(cfg)
    merged_cfg.model.backbone.peft = None
    merged_cfg.model.backbone.pop('peft_blocks', None)
    merged_cfg.model.backbone.init_cfg = None
    merged_cfg.model.decode_head.init_cfg = None
    state = folded.state_dict()
    base = base_file(cfg, args.checkpoint)
    backbone = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    sam_state = official_sam_state(backbone, base)
    # written only once everything is computed: a failure leaves no file
    merged_cfg.dump(cfg_path)
    torch.save(dict(meta=meta, state_dict=state), ckpt_path)
    torch.save(sam_state, sam_path)
    print(f'Folded {len(report.folded)} method instance(s).')
    print(f'Wrote (a) {ckpt_path} for {cfg_path} (no PEFT, no base file '
          f'needed)')
    print(f'Wrote (b) {sam_path}: fine-tuned image_encoder, prompt_encoder '
          f'and mask_decoder of {base} (md5 {file_md5(base)}); load with '
          f'segment_anything.sam_model_registry[<arch>](checkpoint=...)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
