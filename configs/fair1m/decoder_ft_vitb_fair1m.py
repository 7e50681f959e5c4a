# FAIR-1M detection, SAM encoder frozen, mask decoder fine-tuned; the PEFT
# configs in this folder build on it exactly as configs/_base_/methods do on
# decoder_ft_vitb.py.
_base_ = [
    '../_base_/models/sam_vit-b_det.py', '../_base_/datasets/fair1m.py',
    '../_base_/schedules/schedule_10k.py', '../_base_/default_runtime.py'
]
model = dict(backbone=dict(frozen=True))
visualizer = dict(type='mmdet.DetLocalVisualizer')
# --tta: the views' boxes, flipped back, merged by class-wise NMS
tta_model = dict(
    type='mmdet.DetTTAModel',
    tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=300))
default_hooks = dict(
    checkpoint=dict(save_best='fair1m/mAP', rule='greater'),
    # with tools/test.py --show-dir: ground truth and predictions side by side
    visualization=dict(type='mmdet.DetVisualizationHook'))
