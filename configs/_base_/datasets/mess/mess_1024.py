# MESS datasets at SAM's 1024 px, evaluated with mIoU and MESS's CoI-mIoU.
_base_ = ['../sam_1024.py']
val_evaluator = dict(type='MESSIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
