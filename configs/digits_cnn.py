# A small CNN on piston's bundled hand-written digits (1,500 train / 297 val 8x8 images).
# Run it with:   piston train configs/digits_cnn.py
# Outputs go to work_dirs/digits_cnn/ (checkpoints, last_checkpoint, <timestamp>/ with the log,
# vis_data/scalars.json and, with the TensorBoard backend below, the event file).
custom_imports = {"imports": ["_digits_model"], "allow_failed_imports": False}

model = {"type": "DigitsCNN", "width": 32, "dropout": 0.1}
work_dir = "./work_dirs/digits_cnn"

train_dataloader = {
    "batch_size": 32,
    "num_workers": 0,
    "dataset": {"type": "DigitsDataset", "split": "train"},
    "sampler": {"type": "DefaultSampler", "shuffle": True},
    "collate_fn": {"type": "default_collate"},
}
val_dataloader = {
    "batch_size": 100,
    "num_workers": 0,
    "dataset": {"type": "DigitsDataset", "split": "val"},
    "sampler": {"type": "DefaultSampler", "shuffle": False},
    "collate_fn": {"type": "default_collate"},
}
val_evaluator = {"type": "DigitsAccuracy"}

train_cfg = {"by_epoch": True, "max_epochs": 15, "val_interval": 1}
val_cfg = {}

optim_wrapper = {"optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4}}
param_scheduler = [
    {"type": "LinearLR", "start_factor": 0.1, "by_epoch": False, "begin": 0, "end": 50},
    {"type": "CosineAnnealingLR", "by_epoch": True, "begin": 0, "end": 15},
]

default_hooks = {
    "logger": {"type": "LoggerHook", "interval": 20},
    "checkpoint": {
        "type": "CheckpointHook",
        "interval": 5,
        "max_keep_ckpts": 2,
        "save_best": "accuracy",
    },
}
visualizer = {
    "type": "Visualizer",
    "vis_backends": [{"type": "LocalVisBackend"}, {"type": "TensorboardVisBackend"}],
}
randomness = {"seed": 0}

# `piston test configs/digits_cnn.py CHECKPOINT` evaluates on the validation split.
test_dataloader = val_dataloader
test_cfg = {}
test_evaluator = val_evaluator
