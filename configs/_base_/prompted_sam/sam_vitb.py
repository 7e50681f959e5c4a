# SAM ViT-B answering prompts drawn from the ground truth (the Stable-SAM
# protocol): SAM's encoder, prompt encoder and original mask decoder, all
# from the official checkpoint and frozen. Test with that file:
#   python tools/test.py configs/prompted_sam/sam_vitb_<prompt>_<key>.py \
#       checkpoints/sam_vit_b_01ec64.pth
_base_ = [
    '../models/sam_vit-b.py', '../schedules/schedule_10k.py',
    '../default_runtime.py'
]
prompt_seed = 0  # with the image file name, fixes every drawn prompt
model = dict(
    type='PromptedSAM',
    backbone=dict(frozen=True),
    decode_head=None,
    prompt_decoder=dict(checkpoint={{_base_.sam_checkpoint}}),
    # a target object is the region of one class ('component': each
    # 8-connected component of it, as MESS's own SAM evaluation)
    prompt_sampler=dict(per='class', seed=prompt_seed),
    test_modes=['oracle_point'],
    # a pixel takes the class of the mask with the highest logit above 0;
    # pixels no mask claims are 255 (no class: a miss for their true class)
    unclaimed_label=255)
randomness = dict(seed=prompt_seed)
