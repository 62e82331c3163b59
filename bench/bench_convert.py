"""What converting a 3D ResNet-18 to 3DTT saves in parameters and costs in step time (docs/method.md, "3DTT in
other networks"), measured in one run against the original.

    python bench/bench_convert.py                       # batch 4, 16 frames, 112x112, 5 steps: ~2 minutes on 2 cores
    python bench/bench_convert.py --memory-format channels_last_3d --repeats 3

The network is our rebuild of the conv stack of torchvision's ``r3d_18`` (Tran et al., 2018, "A closer look at
spatiotemporal convolutions"): written from the architecture, not from torchvision's code, because torchvision
0.28.0 (the release for torch 2.13.0) does not import beside the CPU build of torch on our machines. Module
names, kernels, strides, paddings and parameter count (33,371,472) are those of ``torchvision.models.video.r3d_18``;
where torchvision imports, ``--check-torchvision`` compares every Conv3d with it::

    stem   conv 3->64, 3x7x7, stride (1, 2, 2), padding (1, 3, 3), BN, ReLU
    layer1..layer4: two basic blocks each, 64 / 128 / 256 / 512 channels; the first block of layers 2-4 has
           stride 2 and a 1x1x1 stride-2 conv + BN on its shortcut
    block  conv 3x3x3 (padding 1), BN, ReLU, conv 3x3x3, BN, + shortcut, ReLU
    head   global average pool, fc 512 -> 400

Printed: parameters per kind of layer before and after `ttn.convert_model`, the time of building every 3DTT
kernel (forward + backward), and the median forward + backward step of the original and the converted model
(`ttn.experiment.steptime`, interleaved), with their ratio and the verdict against the target of +15%: the exit
code is 1 when it prints "target NOT met".
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ttn.experiment.steptime import clip_batch, compare_steps, fwd_bwd_step, interleaved_times, target_verdict
from ttn.nn import Conv3dTT, convert_model
from ttn.nn.convert import parameter_count
from ttn.registry import CONVERT_INITS, THETA_KINDS

WIDTHS = (64, 128, 256, 512)
CLASSES = 400  # Kinetics-400, as torchvision's head


def conv_bn(cin: int, cout: int, kernel: int | tuple[int, int, int], stride: int | tuple[int, int, int],
            padding: int | tuple[int, int, int], relu: bool) -> nn.Sequential:
    """Conv3d (no bias) -> BatchNorm3d [-> ReLU]: (B, cin, T, H, W) -> (B, cout, T', H', W')."""
    layers: list[nn.Module] = [nn.Conv3d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm3d(cout)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two 3x3x3 convs with a shortcut (a 1x1x1 strided conv + BN where the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride, 1, relu=True)
        self.conv2 = conv_bn(cout, cout, 3, 1, 1, relu=False)
        self.downsample = conv_bn(cin, cout, 1, stride, 0, relu=False) if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv2(self.conv1(x)) + shortcut)


class R3D18(nn.Module):
    """3D ResNet-18: clips (B, 3, T, H, W) -> logits (B, 400); T and H, W shrink 8x and 16x before the pool."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn(3, WIDTHS[0], (3, 7, 7), (1, 2, 2), (1, 3, 3), relu=True)
        cin = WIDTHS[0]
        for index, width in enumerate(WIDTHS, start=1):
            stride = 1 if index == 1 else 2
            setattr(self, f"layer{index}", nn.Sequential(BasicBlock(cin, width, stride), BasicBlock(width, width, 1)))
            cin = width
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(WIDTHS[-1], CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, 64, T, H/2, W/2)
        for index in range(1, len(WIDTHS) + 1):
            x = getattr(self, f"layer{index}")(x)  # layers 2-4 halve T, H and W
        return self.fc(self.avgpool(x).flatten(1))


def layer_kind(name: str, module: nn.Module) -> str:
    """The row of the parameter table a parameter-holding module belongs to."""
    if name.startswith("stem.0"):
        return "stem conv 3x7x7"
    if isinstance(module, (nn.Conv3d, Conv3dTT)):
        return "1x1x1 shortcut convs" if "downsample" in name else "3x3x3 convs"
    return "batch norm + fc"


def parameters_by_kind(model: nn.Module) -> dict[str, int]:
    """Parameters per `layer_kind` (each leaf module counted once)."""
    counts: dict[str, int] = {}
    for name, module in model.named_modules():
        if not list(module.children()) and (own := parameter_count(module)):
            counts[layer_kind(name, module)] = counts.get(layer_kind(name, module), 0) + own
    return counts


def kernel_build_step(model: nn.Module) -> Callable[[], None]:
    """Forward + backward of building every 3DTT kernel of `model` alone, from a given kernel gradient (what
    3DTT adds to a step; in training that gradient comes from the conv's weight gradient)."""
    layers = [layer for layer in model.modules() if isinstance(layer, Conv3dTT)]
    grads = [torch.ones_like(layer.kernel()).detach() for layer in layers]

    def step() -> None:
        model.zero_grad(set_to_none=True)
        torch.autograd.backward([layer.kernel() for layer in layers], grads)

    return step


def check_torchvision(rebuild: nn.Module) -> str:
    """Compare every Conv3d of torchvision's r3d_18 with the rebuild's; a one-line verdict."""
    from ttn.errors import TTNError
    from ttn.nn.convert import video_model

    try:
        reference = video_model("r3d_18")
    except TTNError as exc:
        return f"not checked against torchvision: {exc}"

    def convs(model: nn.Module) -> list[tuple]:
        return [(name, m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.bias is None)
                for name, m in model.named_modules() if isinstance(m, nn.Conv3d)]

    same = convs(reference) == convs(rebuild) and parameter_count(reference) == parameter_count(rebuild)
    return "every Conv3d and the parameter count equal torchvision's r3d_18" if same else "DIFFERS from torchvision"


def main() -> int:
    """Run the benchmark; the exit code: 0 when the step target is met, 1 when not."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--theta", choices=THETA_KINDS, default="similarity")
    parser.add_argument("--init", choices=CONVERT_INITS, default="first_slice")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory-format", choices=["contiguous", "channels_last_3d"], default="contiguous")
    parser.add_argument("--check-torchvision", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(0)
    original = R3D18()
    if args.check_torchvision:
        print(check_torchvision(original))
    converted, summary = convert_model(original, theta=args.theta, init=args.init)
    before, after = parameters_by_kind(original), parameters_by_kind(converted)
    print(f"r3d_18 (our rebuild) -> 3DTT {args.theta}: {len(summary.converted)} of {len(summary.layers)} Conv3d converted")
    print(f"{'parameters':24s} {'before':>12s} {'after':>12s}")
    for kind in before:
        print(f"{kind:24s} {before[kind]:12,d} {after[kind]:12,d}")
    print(f"{'total':24s} {summary.params_before:12,d} {summary.params_after:12,d}  "
          f"({summary.params_after / summary.params_before - 1:+.1%})")

    x, y = clip_batch(args.batch, args.frames, args.size)
    memory_format = getattr(torch, args.memory_format.replace("contiguous", "contiguous_format"))
    x = x.contiguous(memory_format=memory_format)
    for model in (original, converted):  # 5D weights only (a 3DTT kernel is built in the default format)
        for module in model.modules():
            if isinstance(module, nn.Conv3d):
                module.weight.data = module.weight.data.contiguous(memory_format=memory_format)
    build = interleaved_times({"build": kernel_build_step(converted)}, repeats=5)["build"]
    print(f"building the {len(summary.converted)} 3DTT kernels, forward + backward: {statistics.median(build) * 1e3:.1f} ms")
    started = time.perf_counter()
    result = compare_steps(fwd_bwd_step(original, x, y), fwd_bwd_step(converted, x, y), args.repeats)
    print(f"forward + backward, batch {args.batch} x 3 x {args.frames} x {args.size} x {args.size}, {args.memory_format}, "
          f"{torch.get_num_threads()} threads: original {result.reference_s:.3f} s, 3DTT {result.candidate_s:.3f} s "
          f"(median of {args.repeats}), ratio {result.ratio:.3f} ({result.ratio - 1:+.1%}); "
          f"all steps: {[round(t, 3) for t in result.reference_all]} / {[round(t, 3) for t in result.candidate_all]}; "
          f"{time.perf_counter() - started:.0f} s")
    met, verdict = target_verdict(result)
    print(verdict)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
