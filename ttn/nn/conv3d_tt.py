"""The temporally factorized 3D convolution (3DTT) of Ras et al., 2019, section 3.1, eq. 1-4.

A 3DTT kernel is learned as one 2D slice ``K0`` per output channel plus a spatial transform per
temporal step; slice t+1 is slice t resampled through that step's 2x3 sampling matrix
(the spatial transformer's grid generator and bilinear sampler, Jaderberg et al., 2015)::

    k0 (O, I, H, W) --warp(Theta_0)--> K1 --warp(Theta_1)--> K2 ... --> K_{T-1}
          \\______________________ stack along T ____________________/
                                      |
                        kernel (O, I, T, H, W) --> F.conv3d(x, kernel)

Coordinate convention (the one of ``F.affine_grid`` / ``F.grid_sample``):

- A slice is a (H, W) grid in normalized coordinates x (column, left -1 to right +1) and
  y (row, top -1 to bottom +1). With ``align_corners=True`` (the default, as in the authors' code),
  -1 and +1 are the *centres* of the first and last pixels, so one unit is (W - 1) / 2 pixels
  horizontally and (H - 1) / 2 pixels vertically: for a 5x5 kernel, tx = 0.5 is one pixel.
  With ``align_corners=False``, -1 and +1 are the outer edges and one unit is W / 2 pixels.
- The matrix maps output coordinates to where they are sampled from:
  ``K_{t+1}(x, y) = K_t(Theta_t @ [x, y, 1])`` (eq. 3-4), zero outside the slice
  (``padding_mode="zeros"``).
- Similarity parameters (eq. 2): ``Theta = s * R(r) @ [I | (tx, ty)]``, i.e.
  ``[[s cos r, -s sin r, s (tx cos r - ty sin r)], [s sin r, s cos r, s (tx sin r + ty cos r)]]``.
  Hence tx > 0 moves the slice's content *left* by tx units (the sample point moves right), ty > 0
  moves it *up*, s > 1 shrinks the content (zoom out), and r > 0 rotates the content
  counter-clockwise as displayed with row 0 at the top (``imshow``): r = pi/2 gives
  ``torch.rot90(k, 1, dims=(-2, -1))``.
"""
from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _triple

from ttn.errors import TTNError
from ttn.registry import CONVERT_INITS, THETA_KINDS, WARP_KINDS, check_choice

ThetaKind = Literal["affine", "similarity", "shared"]
WarpKind = Literal["sequential", "direct"]

#: grid_sample's modes for samples falling outside a slice.
PADDING_MODES: tuple[str, ...] = ("zeros", "border", "reflection")


def similarity_matrices(scale: torch.Tensor, rotation: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    """Eq. 2: the 2x3 sampling matrices ``s R(r) [I | t]`` of same-shaped parameters (...,) -> (..., 2, 3)."""
    cos, sin = torch.cos(rotation), torch.sin(rotation)
    row0 = torch.stack([scale * cos, -scale * sin, scale * (tx * cos - ty * sin)], dim=-1)
    row1 = torch.stack([scale * sin, scale * cos, scale * (tx * sin + ty * cos)], dim=-1)
    return torch.stack([row0, row1], dim=-2)


def compose_matrices(steps: torch.Tensor) -> torch.Tensor:
    """Compose per-step sampling matrices (O, S, 2, 3) into K0 -> K_{t+1} matrices (O, S, 2, 3).

    Since ``K_{t+1}(p) = K_t(A_t p)``, ``K_t(p) = K0(A_0 A_1 ... A_{t-1} p)`` (3x3 homogeneous products).
    """
    out_channels, num_steps = steps.shape[:2]
    bottom = steps.new_tensor([0.0, 0.0, 1.0]).expand(out_channels, 1, 3)
    composed = []
    total = None
    for step in range(num_steps):
        full = torch.cat([steps[:, step], bottom], dim=1)  # (O, 3, 3)
        total = full if total is None else total @ full
        composed.append(total[:, :2])
    return torch.stack(composed, dim=1)


def conv3d_arguments(conv: nn.Conv3d) -> dict[str, Any]:
    """`Conv3dTT`'s constructor arguments that reproduce `conv`'s hyper-parameters, device and dtype.

    Raises TTNError if `conv` pads its input other than with zeros (Conv3dTT runs ``F.conv3d``, zeros only)."""
    if conv.padding_mode != "zeros":
        raise TTNError(f"cannot convert a Conv3d with padding_mode={conv.padding_mode!r}: a 3DTT layer pads its input "
                       "with zeros only; leave the layer out (exclude=...) or use padding_mode='zeros'")
    return {
        "in_channels": conv.in_channels, "out_channels": conv.out_channels, "kernel_size": conv.kernel_size,
        "stride": conv.stride, "padding": conv.padding, "dilation": conv.dilation, "groups": conv.groups,
        "bias": conv.bias is not None, "device": conv.weight.device, "dtype": conv.weight.dtype,
    }


def initial_slice(weight: torch.Tensor, init: str) -> torch.Tensor | None:
    """K0 (O, I/groups, H, W) for `init` from a Conv3d weight (O, I/groups, T, H, W); None for "fresh"."""
    check_choice(init, CONVERT_INITS, "init")
    if init == "first_slice":
        return weight.detach()[:, :, 0]
    if init == "mean_slice":
        return weight.detach().mean(dim=2)
    return None


class Conv3dTT(nn.Module):
    """A 3D convolution whose kernel is built from a learned 2D slice and per-step spatial transforms.

    Args:
        in_channels, out_channels, kernel_size (T, H, W), stride, padding, dilation, groups, bias:
            as in ``nn.Conv3d`` (input padding is always zeros).
        theta: the transform parameterization, one transform per output kernel shared across its input
            channels: ``"affine"`` (a free 2x3 matrix per step, parameter ``theta`` (O, T-1, 2, 3)),
            ``"similarity"`` (eq. 2: ``scale``, ``rotation`` (radians), ``tx``, ``ty``, each (O, T-1)) or
            ``"shared"`` (one (s, r, tx, ty) reused for every step, each (O, 1)).
        warp: ``"sequential"`` (the paper: K_{t+1} = f(K_t)) or ``"direct"`` (each slice warped once from
            K0 by the composed transform: no repeated blurring or loss at the border).
        align_corners, padding_mode: of the kernel resampling (``F.grid_sample``), not of the input.
            Defaults as in the authors' code: ``True`` and ``"zeros"``.
        k0_std: standard deviation of the Gaussian initialization of ``k0``; default ``None`` means
            He-normal over the built kernel's fan-in, ``sqrt(2 / (in_channels / groups * T * H * W))``, the
            scale of PyTorch-style ReLU networks (the authors' code used 1.0 with inputs in 0..255). With
            equal slices at init and similar neighbouring frames, first activations come out up to ~sqrt(T)
            larger than for independent weights.

    Parameters: ``k0`` (O, I/groups, H, W), the transform parameters above (`transform_parameters`), and
    ``bias`` (O,). `freeze_transforms` fixes the transforms at the identity: the kernel is then K0 repeated
    over time (a temporally tied 3D kernel).
    Shapes: input (B, I, D, H', W') -> output (B, O, D_out, H_out, W_out) exactly as ``nn.Conv3d``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int],
        stride: int | tuple[int, int, int] = 1,
        padding: int | tuple[int, int, int] | str = 0,
        dilation: int | tuple[int, int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        theta: ThetaKind = "similarity",
        warp: WarpKind = "sequential",
        align_corners: bool = True,
        padding_mode: str = "zeros",
        k0_std: float | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        check_choice(theta, THETA_KINDS, "theta")
        check_choice(warp, WARP_KINDS, "warp")
        check_choice(padding_mode, PADDING_MODES, "padding_mode")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _triple(kernel_size)
        self.stride, self.dilation = _triple(stride), _triple(dilation)
        self.padding = padding if isinstance(padding, str) else _triple(padding)
        self.groups = groups
        self.theta_kind, self.warp = theta, warp
        self.align_corners, self.padding_mode = align_corners, padding_mode
        frames, height, width = self.kernel_size
        if min(self.kernel_size) < 1:
            raise ValueError(f"kernel_size must be positive, got {self.kernel_size}")
        factory = {"device": device, "dtype": dtype}
        fan_in = in_channels // groups * frames * height * width
        self.k0_std = math.sqrt(2.0 / fan_in) if k0_std is None else float(k0_std)
        self.k0 = nn.Parameter(torch.empty(out_channels, in_channels // groups, height, width, **factory))
        steps = 1 if theta == "shared" else frames - 1
        if theta == "affine":
            self.theta = nn.Parameter(torch.empty(out_channels, steps, 2, 3, **factory))
        else:
            self.scale = nn.Parameter(torch.empty(out_channels, steps, **factory))
            self.rotation = nn.Parameter(torch.empty(out_channels, steps, **factory))
            self.tx = nn.Parameter(torch.empty(out_channels, steps, **factory))
            self.ty = nn.Parameter(torch.empty(out_channels, steps, **factory))
        self.bias = nn.Parameter(torch.empty(out_channels, **factory)) if bias else None
        self.transforms_frozen = False
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """K0 ~ N(0, k0_std^2); identity transforms (s = 1, r = tx = ty = 0); bias as ``nn.Conv3d``."""
        with torch.no_grad():
            nn.init.normal_(self.k0, 0.0, self.k0_std)
            self.reset_transforms()
            if self.bias is not None:
                fan_in = self.k0.shape[1] * math.prod(self.kernel_size)
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(self.bias, -bound, bound)

    def reset_transforms(self) -> None:
        """Every step transform to the identity: s = 1, r = tx = ty = 0 (affine: Theta = [I | 0])."""
        with torch.no_grad():
            if self.theta_kind == "affine":
                self.theta.copy_(torch.eye(2, 3).expand_as(self.theta))
            else:
                self.scale.fill_(1.0)
                for parameter in (self.rotation, self.tx, self.ty):
                    parameter.zero_()

    def transform_parameters(self) -> list[nn.Parameter]:
        """The parameters of the step transforms: ``[theta]`` (affine) or ``[scale, rotation, tx, ty]``."""
        if self.theta_kind == "affine":
            return [self.theta]
        return [self.scale, self.rotation, self.tx, self.ty]

    def freeze_transforms(self) -> "Conv3dTT":
        """Fix every transform at the identity (no gradient; `kernel` repeats K0 exactly); returns self."""
        self.reset_transforms()
        for parameter in self.transform_parameters():
            parameter.requires_grad_(False)
        self.transforms_frozen = True
        return self

    def step_matrices(self) -> torch.Tensor:
        """The sampling matrix of every step t -> t+1: (O, T-1, 2, 3) (eq. 1-2; "shared" repeated)."""
        if self.theta_kind == "affine":
            return self.theta
        matrices = similarity_matrices(self.scale, self.rotation, self.tx, self.ty)  # (O, S, 2, 3)
        if self.theta_kind == "shared":
            matrices = matrices.expand(-1, self.kernel_size[0] - 1, -1, -1)
        return matrices

    def _grid(self, matrices: torch.Tensor, shape: list[int]) -> torch.Tensor:
        """Sampling grids (N, H, W, 2) of matrices (N, 2, 3) for slices of `shape` (N, I, H, W) (eq. 3)."""
        return F.affine_grid(matrices, shape, align_corners=self.align_corners)

    def _sample(self, slices: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        """Bilinear resampling of slices (N, I, H, W) at grid (N, H, W, 2) -> (N, I, H, W) (eq. 4)."""
        return F.grid_sample(
            slices, grid, mode="bilinear", padding_mode=self.padding_mode, align_corners=self.align_corners
        )

    def kernel(self) -> torch.Tensor:
        """The built 3D kernel (O, I/groups, T, H, W); slice 0 is ``k0``. Vectorized over output channels."""
        frames = self.kernel_size[0]
        if frames == 1 or self.transforms_frozen:
            return self.k0.unsqueeze(2).expand(-1, -1, frames, -1, -1)  # K0 at every step
        matrices = self.step_matrices()  # (O, T-1, 2, 3)
        shape = list(self.k0.shape)  # [O, I, H, W]
        if self.warp == "sequential":
            slices = [self.k0]
            grid = self._grid(matrices[:, 0], shape)  # "shared": one grid serves every step
            for step in range(frames - 1):
                if step and self.theta_kind != "shared":
                    grid = self._grid(matrices[:, step], shape)
                slices.append(self._sample(slices[-1], grid))
            return torch.stack(slices, dim=2)  # (O, I, T, H, W)
        out_channels, in_channels, height, width = shape
        composed = compose_matrices(matrices).reshape(-1, 2, 3)  # (O*(T-1), 2, 3)
        repeated = self.k0.unsqueeze(1).expand(-1, frames - 1, -1, -1, -1)  # (O, T-1, I, H, W)
        repeated = repeated.reshape(-1, in_channels, height, width)  # (O*(T-1), I, H, W)
        warped = self._sample(repeated, self._grid(composed, list(repeated.shape)))
        warped = warped.view(out_channels, frames - 1, in_channels, height, width).transpose(1, 2)
        return torch.cat([self.k0.unsqueeze(2), warped], dim=2)  # (O, I, T, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, I, D, H, W) -> (B, O, D', H', W'): an ordinary 3D convolution with the built kernel."""
        return F.conv3d(x, self.kernel(), self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, theta={self.theta_kind!r}, warp={self.warp!r}, "
            f"align_corners={self.align_corners}, padding_mode={self.padding_mode!r}, bias={self.bias is not None}"
        )

    @classmethod
    def from_conv3d(
        cls, conv: nn.Conv3d, *, theta: ThetaKind = "similarity", init: str = "first_slice",
        **options: bool | float | str | None,
    ) -> "Conv3dTT":
        """A 3DTT layer with `conv`'s channels, kernel size, stride, padding (``"same"`` too), dilation, groups
        and bias, on its device and dtype and in its training mode (the rules: `ttn.nn.convert`).

        `init`: ``"first_slice"``: K0 = the conv's slice t = 0, ``weight[:, :, 0]`` (O, I/groups, H, W), and its
        bias, with identity transforms, so that every built slice equals that slice; ``"mean_slice"``: K0 = the
        mean of the T slices (the temporally constant kernel nearest to the weight); ``"fresh"``: initialized
        as a new Conv3dTT. `options`: the constructor's (warp, align_corners, padding_mode, k0_std). Raises
        TTNError for a conv that pads its input with anything but zeros (``padding_mode="reflect"`` ...).
        """
        layer = cls(**conv3d_arguments(conv), theta=theta, **options)  # type: ignore[arg-type]
        k0 = initial_slice(conv.weight, init)  # (O, I/groups, H, W); None for "fresh"
        if k0 is not None:
            with torch.no_grad():
                layer.k0.copy_(k0)
                if conv.bias is not None:
                    layer.bias.copy_(conv.bias)
        return layer.train(conv.training)
