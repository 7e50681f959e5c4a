"""Draw SAM's masks for your points and boxes on an image.

    python demo/prompt_demo.py IMAGE CONFIG CHECKPOINT \
        --points 120,80 300,200 --boxes 10,20,200,180 [--no-peft] \
        [--out prompts.png]

CONFIG is a PromptedSAM config (configs/prompted_sam/...), CHECKPOINT the
official SAM file or one of ours. Every point and every box is one object;
its mask is SAM's first multimask output. ``--no-peft`` runs a tuned encoder
untuned.
"""
import argparse
import os.path as osp

import mmcv
import numpy as np
from mmengine.visualization import Visualizer

from mmseg_mopeft.apis import PromptPredictor
from mmseg_mopeft.utils.new_files import refuse_existing

COLOURS = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60)]


def numbers(text: str, count: int):
    values = [float(v) for v in text.split(',')]
    if len(values) != count:
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected {count} comma-separated numbers')
    return values


def draw(image_bgr: np.ndarray, masks: np.ndarray, points, boxes
         ) -> np.ndarray:
    """RGB drawing: each object's mask, point (star) and box in its
    colour; objects are numbered points first, then boxes."""
    vis = Visualizer(image=mmcv.bgr2rgb(image_bgr))
    colours = [COLOURS[i % len(COLOURS)] for i in range(len(masks))]
    if len(masks):
        vis.draw_binary_masks(masks, colors=colours, alphas=0.45)
    for i, point in enumerate(points):
        vis.draw_points(
            np.array([point]), colors=[colours[i]], marker='*', sizes=200)
    for j, box in enumerate(boxes):
        vis.draw_bboxes(
            np.array([box]), edge_colors=[colours[len(points) + j]],
            line_widths=2)
    return vis.get_image()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--points', nargs='*', default=[], type=lambda t: numbers(t, 2),
        help='x,y per object (pixels)')
    parser.add_argument(
        '--boxes', nargs='*', default=[], type=lambda t: numbers(t, 4),
        help='x1,y1,x2,y2 per object (pixels)')
    parser.add_argument('--no-peft', action='store_true')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', default='prompts.png')
    args = parser.parse_args()
    if not args.points and not args.boxes:
        parser.error('give --points and/or --boxes')
    if not osp.isfile(args.image):
        parser.error(f'no image at {args.image}')
    refuse_existing(args.out)

    predictor = PromptPredictor.from_config(args.config, args.checkpoint,
                                            args.device)
    image = mmcv.imread(args.image)
    predictor.set_image(image)
    masks, scores = [], []
    for kind in ('points', 'boxes'):
        prompts = getattr(args, kind)
        if prompts:
            out = predictor.predict(
                **{kind: prompts}, peft=not args.no_peft)
            masks.append(out['masks'])
            scores += out['scores'].tolist()
    masks = np.concatenate(masks)
    mmcv.imwrite(
        mmcv.rgb2bgr(draw(image, masks, args.points, args.boxes)), args.out)
    for i, (mask, score) in enumerate(zip(masks, scores)):
        print(f'object {i}: {int(mask.sum())} pixels, SAM IoU estimate '
              f'{score:.3f}')
    print(f'drawn to {args.out}')


if __name__ == '__main__':
    main()
