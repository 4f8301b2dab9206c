# A small CNN on piston's bundled hand-written digits (1,500 train / 297 val 8x8 images).
#
#   piston train configs/digits_cnn.py            (or: python -m piston.cli train ...)
#   piston test configs/digits_cnn.py work_dirs/digits_cnn/epoch_10.pth
#
# Outputs go to work_dirs/digits_cnn/: epoch_5.pth, epoch_10.pth, best_accuracy_epoch_N.pth,
# last_checkpoint, digits_cnn.py (the dumped config) and <timestamp>/ holding the text log
# <timestamp>.log, vis_data/scalars.json and the TensorBoard event file (vis_data/events.*).
custom_imports = dict(imports=["piston.demo"], allow_failed_imports=False)

model = dict(type="DigitsCNN", width=16, dropout=0.1)
work_dir = "./work_dirs/digits_cnn"

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(type="DigitsDataset", split="train"),
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="default_collate"),
)
val_dataloader = dict(
    batch_size=100,
    num_workers=0,
    dataset=dict(type="DigitsDataset", split="val"),
    sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="default_collate"),
)
val_evaluator = dict(type="DigitsAccuracy")

train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()

optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type="CosineAnnealingLR", by_epoch=True, begin=0, end=10),
]

default_hooks = dict(
    logger=dict(type="LoggerHook", interval=20),
    checkpoint=dict(type="CheckpointHook", interval=5, max_keep_ckpts=2, save_best="accuracy"),
)
visualizer = dict(
    type="Visualizer",
    vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")],
)
randomness = dict(seed=0)

# `piston test` evaluates on the validation split.
test_dataloader = val_dataloader
test_cfg = dict()
test_evaluator = val_evaluator
