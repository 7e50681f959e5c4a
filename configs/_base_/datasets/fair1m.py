# FAIR-1M tiles written by tools/dataset_converters/fair1m_tiles.py
# (1024 px, 200 px overlap) into data/fair1m_1024/{train,val}; the original
# release layout (images/ + labelXml/) reads the same way.
dataset_type = 'mmdet.FAIR1MDataset'
data_root = 'data/fair1m_1024'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='mmdet.LoadAnnotations',
        with_bbox=True,
        with_mask=True,  # object polygons supervise the predicted masks
        poly2mask=False),
    dict(type='mmdet.Resize', scale=(1024, 1024), keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',  # aerial views: any flip is a valid view
        prob=0.75,
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='mmdet.PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=(1024, 1024), keep_ratio=True),
    # after Resize: ground truth stays in original tile coordinates
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
# `tools/test.py --tta` (ours or mmdet's, with the detectors' DetTTAModel):
# the tile and its mirror. Annotations load after the flip, so the ground
# truth stays in original tile coordinates in every view.
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='mmdet.Resize', scale=(1024, 1024), keep_ratio=True)],
            [
                dict(type='mmdet.RandomFlip', prob=0.),
                dict(type='mmdet.RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='mmdet.LoadAnnotations', with_bbox=True)],
            [
                dict(
                    type='mmdet.PackDetInputs',
                    meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                               'scale_factor', 'flip', 'flip_direction'))
            ],
        ])
]
train_dataloader = dict(
    batch_size=4,  # per GPU
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SeededInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='train/images', ann='train/labelXml'),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='val/images', ann='val/labelXml'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# Per-class AP at IoU 0.5, category means and mAP (table saved to the run's
# log folder).
val_evaluator = dict(type='mmdet.FAIR1MMetric', iou_thr=0.5, eval_mode='area')
test_evaluator = val_evaluator
