"""Exact resume: where the data stream stood when a checkpoint was written, and how to get back.

A checkpoint written by piston carries ``train_state``::

    {'rng': <RNG states at save time>,
     'epoch_rng': <RNG states just before the current data pass's iterator was created>,
     'data_epoch': <index of that pass>, 'batches': <batches consumed from it>,
     'sampler': <sampler.state_dict() when the sampler has one>}

Resuming re-creates the iterator of the interrupted pass and skips the consumed batches:

* piston samplers (``DefaultSampler``/``InfiniteSampler``) are told how many samples were
  consumed and skip those indices themselves, so nothing is loaded twice;
* a plain ``DataLoader`` without workers (e.g. ``RandomSampler`` in the seed example) replays
  the RNG state of the pass start, so it draws the same permutation, and advances its index
  iterator without loading data;
* any other loader replays the pass-start RNG state and loads-and-discards the consumed
  batches (correct, slower; a warning says so). This includes a plain ``DataLoader`` with
  workers, on purpose: each worker seeds its RNG once (``base_seed + worker_id``, drawn when
  the pass's iterator is created) and its stream then advances with every sample it loads, so
  a pass whose consumed indices were skipped would feed the workers' augmentations different
  numbers (``tests/test_runner/test_resume_workers.py`` fails for such a variant). Replaying
  from the pass start re-creates the workers with the same base seed and the same
  batch-to-worker order, so their streams match the uninterrupted run. (With
  ``persistent_workers=True`` workers outlive the pass, so passes after the first cannot be
  replayed exactly.)

Then the RNG states of save time are restored, so dropout and augmentation draw the same
numbers as the uninterrupted run. Validation runs under :func:`isolated_rng`, so it never
shifts the training RNG streams (a run's result does not depend on when it validates).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .utils import capture_rng_state, restore_rng_state

__all__ = ["isolated_rng", "make_data_iterator", "sampler_of"]


_OUTER_STATES: list[dict] = []


@contextmanager
def isolated_rng() -> Iterator[None]:
    """Run a block without advancing the global RNG streams.

    Checkpoints written inside the block (e.g. re-saved after a new best metric) record the
    training RNG state of the block's entry, which is what the run continues with.
    """
    state = capture_rng_state()
    _OUTER_STATES.append(state)
    try:
        yield
    finally:
        _OUTER_STATES.pop()
        restore_rng_state(state)


def sampler_of(dataloader: Any) -> Any:
    """The index sampler whose position matters (``batch_sampler.sampler`` when batched)."""
    batch_sampler = getattr(dataloader, "batch_sampler", None)
    inner = getattr(batch_sampler, "sampler", None)
    if inner is not None and (_can_skip(inner) or getattr(dataloader, "sampler", None) is None):
        return inner
    return getattr(dataloader, "sampler", None)


def _batch_size(dataloader: Any) -> int:
    size = getattr(dataloader, "batch_size", None)
    if size is None:
        size = getattr(getattr(dataloader, "batch_sampler", None), "batch_size", 1)
    return int(size or 1)


def _can_skip(sampler: Any) -> bool:
    """piston samplers: ``set_consumed(n)`` before ``state_dict()``; ``load_state_dict`` skips."""
    return hasattr(sampler, "set_consumed") and hasattr(sampler, "load_state_dict")


def capture_train_state(
    dataloader: Any, data_epoch: int, batches: int, epoch_rng: dict | None
) -> dict:
    """The ``train_state`` entry of a checkpoint (see module docstring)."""
    state: dict[str, Any] = {
        "rng": _OUTER_STATES[0] if _OUTER_STATES else capture_rng_state(),
        "data_epoch": int(data_epoch),
        "batches": int(batches),
    }
    if epoch_rng is not None:
        state["epoch_rng"] = epoch_rng
    sampler = sampler_of(dataloader)
    if sampler is not None and _can_skip(sampler):
        sampler.set_consumed(int(batches) * _batch_size(dataloader))
        state["sampler"] = sampler.state_dict()
    return state


def make_data_iterator(dataloader: Any, skip_batches: int, train_state: dict | None) -> Iterator:
    """Create the iterator of a data pass, resuming after ``skip_batches`` when asked.

    Restores ``train_state['rng']`` at the right moment when ``train_state`` is given.
    """
    if train_state is None:
        return iter(dataloader)
    from piston.logging import print_log

    sampler = sampler_of(dataloader)
    rng = train_state.get("rng")
    if skip_batches <= 0:
        if rng is not None:
            restore_rng_state(rng)
        return iter(dataloader)
    epoch_rng = train_state.get("epoch_rng")
    if epoch_rng is not None:
        restore_rng_state(epoch_rng)
    if sampler is not None and _can_skip(sampler) and "sampler" in train_state:
        # ``skip_batches`` (from the checkpoint's meta) is authoritative: a checkpoint written
        # in ``after_train_iter`` was captured before the loop counted the current batch.
        sampler_state = dict(train_state["sampler"])
        sampler_state["consumed"] = int(skip_batches) * _batch_size(dataloader)
        sampler.load_state_dict(sampler_state)  # skips the consumed indices
        iterator = iter(dataloader)
    else:
        iterator = iter(dataloader)
        index_iter = getattr(iterator, "_sampler_iter", None)
        if getattr(dataloader, "num_workers", 1) == 0 and index_iter is not None:
            for _ in range(skip_batches):
                next(index_iter)
            iterator._num_yielded += skip_batches  # type: ignore[attr-defined]
        else:
            reason = (
                "DataLoader workers draw augmentation randomness from per-worker RNG streams "
                "that advance with every sample loaded, so skipping indices would change the "
                "later samples"
                if getattr(dataloader, "num_workers", 0)
                else "the sampler cannot skip indices (use DefaultSampler/InfiniteSampler to "
                "avoid this)"
            )
            print_log(
                f"Resuming mid-epoch: loading and discarding {skip_batches} batches because "
                f"{reason}.",
                logger="current",
                level=30,
            )
            for _ in range(skip_batches):
                next(iterator)
    if rng is not None:
        restore_rng_state(rng)
    return iterator
