"""Data preprocessors: move a collated batch to the model's device and normalise images.

Design note: the preprocessor runs once per iteration, on the hot path. ``cast_data`` walks the
batch once, keeps container types (the seed's ``[imgs, labels]`` list stays a list), and issues
host-to-device copies without blocking when asked to, or automatically when the source tensor
sits in pinned memory (the copy is then ordered on the current stream, so it is safe). Nothing
here reads a value back from the device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.registry import MODELS
from piston.structures import BaseDataElement

from ..utils import stack_batch

__all__ = ["BaseDataPreprocessor", "ImgDataPreprocessor"]


def _parse_to_device(*args: Any, **kwargs: Any) -> torch.device | None:
    device = torch._C._nn._parse_to(*args, **kwargs)[0]
    return None if device is None else torch.device(device)


@MODELS.register_module()
class BaseDataPreprocessor(nn.Module):
    """Move a batch (nested dicts/lists/tuples of tensors and data elements) to ``device``.

    Args:
        non_blocking: Copy to the device with ``non_blocking=True``.
    """

    def __init__(self, non_blocking: bool = False) -> None:
        super().__init__()
        self._non_blocking = non_blocking
        self._device = torch.device("cpu")

    @property
    def device(self) -> torch.device:
        """Device that batches are moved to."""
        return self._device

    def cast_data(self, data: Any) -> Any:
        """Recursively move tensors and data elements in ``data`` to ``self.device``.

        Mappings become plain dicts, namedtuples and other sequences keep their type,
        strings/bytes/None and other objects are returned untouched.
        """
        # Fast path for the usual collated batches (exact builtin containers of tensors):
        # no ABC ``isinstance`` checks and no generator per level.
        cls = type(data)
        if cls is torch.Tensor:
            return self._move(data)
        if cls is list or cls is tuple:
            move, cast = self._move, self.cast_data
            return cls([move(x) if type(x) is torch.Tensor else cast(x) for x in data])
        if cls is dict:
            move, cast = self._move, self.cast_data
            return {k: move(v) if type(v) is torch.Tensor else cast(v) for k, v in data.items()}
        if isinstance(data, torch.Tensor):
            return self._move(data)
        if isinstance(data, Mapping):
            return {key: self.cast_data(value) for key, value in data.items()}
        if isinstance(data, BaseDataElement):
            return data.to(self._device, non_blocking=self._non_blocking)
        if isinstance(data, (str, bytes)) or data is None:
            return data
        if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
            return type(data)(*(self.cast_data(item) for item in data))
        if isinstance(data, Sequence):
            return type(data)(self.cast_data(item) for item in data)
        return data

    def _move(self, tensor: torch.Tensor) -> torch.Tensor:
        device = self._device
        if tensor.device == device:
            return tensor
        # Host-to-device copies never block the host needlessly: from pinned memory they are
        # asynchronous, and from pageable memory CUDA stages them synchronously anyway, so
        # ``non_blocking=True`` is always safe in this direction (no ``is_pinned()`` query, a
        # driver call, per tensor per iteration). Device-to-host copies stay blocking.
        non_blocking = self._non_blocking or (tensor.device.type == "cpu" and device.type != "cpu")
        return tensor.to(device, non_blocking=non_blocking)

    def forward(self, data: Any, training: bool = False) -> Any:
        """Return ``cast_data(data)``; subclasses add normalisation/batching."""
        return self.cast_data(data)

    # Moving the module also moves where batches go.
    def to(self, *args: Any, **kwargs: Any) -> nn.Module:
        device = _parse_to_device(*args, **kwargs)
        if device is not None:
            self._device = device
        return super().to(*args, **kwargs)

    def cuda(self, device: int | torch.device | None = None) -> nn.Module:
        self._device = _indexed_device("cuda", device)
        return super().cuda(device)

    def musa(self, device: int | torch.device | None = None) -> nn.Module:
        self._device = _indexed_device("musa", device)
        return self._apply(lambda t: t.to(self._device))

    def npu(self, device: int | torch.device | None = None) -> nn.Module:
        self._device = _indexed_device("npu", device)
        return self._apply(lambda t: t.to(self._device))

    def mlu(self, device: int | torch.device | None = None) -> nn.Module:
        self._device = _indexed_device("mlu", device)
        return self._apply(lambda t: t.to(self._device))

    def cpu(self) -> nn.Module:
        self._device = torch.device("cpu")
        return super().cpu()


def _indexed_device(kind: str, device: int | str | torch.device | None) -> torch.device:
    if device is None:
        return (
            torch.device(kind, torch.cuda.current_device())
            if kind == "cuda"
            else torch.device(kind)
        )
    if isinstance(device, int):
        return torch.device(kind, device)
    return torch.device(device)


@MODELS.register_module()
class ImgDataPreprocessor(BaseDataPreprocessor):
    """Normalise, convert channel order, pad and batch images.

    Args:
        mean: Per-channel mean (1 or 3 values); ``None`` disables normalisation.
        std: Per-channel std, given together with ``mean``.
        pad_size_divisor: Padded height and width are multiples of it.
        pad_value: Value of the padding.
        bgr_to_rgb: Flip channels BGR -> RGB.
        rgb_to_bgr: Flip channels RGB -> BGR (the same flip).
        non_blocking: Copy to the device with ``non_blocking=True``.
    """

    def __init__(
        self,
        mean: Sequence[float | int] | None = None,
        std: Sequence[float | int] | None = None,
        pad_size_divisor: int = 1,
        pad_value: float | int = 0,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        non_blocking: bool | None = False,
    ) -> None:
        super().__init__(bool(non_blocking))
        if bgr_to_rgb and rgb_to_bgr:
            raise AssertionError("`bgr2rgb` and `rgb2bgr` cannot be set to True at the same time")
        if (mean is None) != (std is None):
            raise AssertionError(
                f"mean and std should be both None or both given, got mean={mean}, std={std}"
            )
        self._enable_normalize = mean is not None
        if mean is not None:
            for name, values in (("mean", mean), ("std", std)):
                if len(values) not in (1, 3):
                    raise AssertionError(
                        f"`{name}` should have 1 or 3 values, to be compatible with RGB or "
                        f"gray image, but got {len(values)} values"
                    )
            self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1), False)
            self.register_buffer("std", torch.tensor(std).view(-1, 1, 1), False)
        self._channel_conversion = rgb_to_bgr or bgr_to_rgb
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value

    def forward(self, data: dict, training: bool = False) -> dict | list:
        """Cast ``data``, then normalise/pad/stack ``data['inputs']``.

        Returns:
            ``data`` with ``inputs`` replaced by an ``N x C x H x W`` float tensor and
            ``data_samples`` defaulting to None.
        """
        data = self.cast_data(data)
        inputs = data["inputs"]
        if isinstance(inputs, torch.Tensor):
            batch = self._batched(inputs)
        elif isinstance(inputs, Sequence) and all(isinstance(t, torch.Tensor) for t in inputs):
            batch = stack_batch(
                [self._single(t) for t in inputs], self.pad_size_divisor, self.pad_value
            )
        else:
            raise TypeError(
                "Output of `cast_data` should be a dict of list/tuple with inputs and "
                f"data_samples, but got {type(data)}: {data}"
            )
        data["inputs"] = batch
        data.setdefault("data_samples", None)
        return data

    def _single(self, image: torch.Tensor) -> torch.Tensor:
        if self._channel_conversion:
            image = image[[2, 1, 0], ...]
        image = image.float()
        if self._enable_normalize:
            if self.mean.shape[0] == 3 and (image.dim() != 3 or image.shape[0] != 3):
                raise AssertionError(
                    "If the mean has 3 values, the input tensor should in shape of (3, H, W), "
                    f"but got the tensor with shape {tuple(image.shape)}"
                )
            image = (image - self.mean) / self.std
        return image

    def _batched(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != 4:
            raise AssertionError(
                "The input of `ImgDataPreprocessor` should be a NCHW tensor or a list of "
                f"tensor, but got a tensor with shape: {tuple(inputs.shape)}"
            )
        if self._channel_conversion:
            inputs = inputs[:, [2, 1, 0], ...]
        inputs = inputs.float()
        if self._enable_normalize:
            inputs = (inputs - self.mean) / self.std
        height, width = inputs.shape[2:]
        divisor = self.pad_size_divisor
        pad_h = -(-height // divisor) * divisor - height
        pad_w = -(-width // divisor) * divisor - width
        if pad_h or pad_w:
            inputs = F.pad(inputs, (0, pad_w, 0, pad_h), "constant", self.pad_value)
        return inputs
