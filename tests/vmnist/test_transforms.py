"""vmnist.transforms and VideoMNIST's transform / target_transform, in this process and in DataLoader workers."""
from __future__ import annotations

import pickle

import pytest
import torch
from torch.utils.data import DataLoader

from vmnist import VideoMNIST, load_split
from vmnist import transforms as T
from vmnist.infra.errors import first_line
from vmnist.testing import make_tiny_dataset

FRAMES = 6


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=20, frames=FRAMES)


def random_video(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def test_to_float_scales_uint8_and_leaves_floats_alone() -> None:
    video = torch.tensor([[0, 51, 255]], dtype=torch.uint8)
    torch.testing.assert_close(T.ToFloat()(video), torch.tensor([[0.0, 0.2, 1.0]]))
    floats = random_video(1, 2, 3, 3)
    assert T.ToFloat()(floats) is floats


@pytest.mark.parametrize("shape", [(1, FRAMES, 28, 28), (2, 1, FRAMES, 28, 28)])
def test_repeat_channels_copies_the_grey_channel(shape) -> None:
    video = random_video(*shape)
    rgb = T.RepeatChannels(3)(video)
    assert rgb.shape == (*shape[:-4], 3, *shape[-3:])
    for c in range(3):
        assert torch.equal(rgb.select(-4, c), video.select(-4, 0))
    with pytest.raises(ValueError, match="one channel"):
        T.RepeatChannels(3)(rgb)
    with pytest.raises(ValueError, match=r"\(C, T, H, W\)"):
        T.RepeatChannels(3)(torch.zeros(FRAMES, 28, 28))  # (T, H, W): the channel dimension is missing


def test_resize_changes_frames_only_and_keeps_each_frame_apart() -> None:
    video = torch.zeros(2, FRAMES, 28, 28)
    video[0, 1] = 1.0  # one bright frame of channel 0: no other frame or channel may receive ink
    video[1, 3, 10:14, 10:14] = 0.5
    out = T.Resize(112)(video)
    assert out.shape == (2, FRAMES, 112, 112) and out.dtype == torch.float32
    torch.testing.assert_close(out[0, 1], torch.ones(112, 112))
    assert out[0, [0, 2, 3, 4, 5]].abs().max() == 0 and out[1, [0, 1, 2, 4, 5]].abs().max() == 0
    assert out[1, 3].sum() == pytest.approx(16 * 0.5 * 16, rel=0.05)  # ink scales with the area (4x4 -> 16x16)
    assert T.Resize((14, 21))(video).shape == (2, FRAMES, 14, 21)
    same = random_video(1, FRAMES, 28, 28)
    torch.testing.assert_close(T.Resize(28)(same), same)


def test_resize_of_uint8_rounds_like_float() -> None:
    video = (random_video(1, 2, 28, 28) * 255).round().to(torch.uint8)
    out = T.Resize(40)(video)
    assert out.dtype == torch.uint8
    expected = T.Resize(40)(video.float()).round().clamp(0, 255)
    assert torch.equal(out.float(), expected)


def test_normalize_per_channel() -> None:
    video = torch.full((3, 2, 4, 4), 0.5)
    out = T.Normalize(T.KINETICS_MEAN, T.KINETICS_STD)(video)
    for c in range(3):
        torch.testing.assert_close(out[c], torch.full((2, 4, 4), (0.5 - T.KINETICS_MEAN[c]) / T.KINETICS_STD[c]))
    batch = random_video(2, 1, 2, 4, 4)
    torch.testing.assert_close(T.Normalize(0.25, 0.5)(batch), (batch - 0.25) / 0.5)
    with pytest.raises(ValueError, match="3 channel values for a video of 1 channels"):
        T.Normalize(T.KINETICS_MEAN, T.KINETICS_STD)(video[:1])
    with pytest.raises(ValueError, match="ToFloat"):
        T.Normalize(0.5, 0.5)(torch.zeros(1, 2, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="positive"):
        T.Normalize(0.5, 0.0)


@pytest.mark.parametrize("shape", [(3, FRAMES, 5, 7), (2, 3, FRAMES, 5, 7)])
def test_time_first_and_channels_first_swap_the_layout(shape) -> None:
    video = random_video(*shape)
    time_first = T.TimeFirst()(video)
    assert time_first.shape == (*shape[:-4], FRAMES, 3, 5, 7) and time_first.is_contiguous()
    assert torch.equal(time_first[..., 4, 2, :, :], video[..., 2, 4, :, :])
    assert torch.equal(T.ChannelsFirst()(time_first), video)


def test_for_video_resnet_gives_what_r3d_18_takes() -> None:
    chain = T.for_video_resnet()
    video = torch.zeros(1, FRAMES, 28, 28)
    out = chain(video)
    assert out.shape == (3, FRAMES, 112, 112) and out.dtype == torch.float32
    for c in range(3):  # black: -mean / std of each channel
        torch.testing.assert_close(out[c], torch.full((FRAMES, 112, 112), -T.KINETICS_MEAN[c] / T.KINETICS_STD[c]))
    clone = pickle.loads(pickle.dumps(chain))  # what a DataLoader worker receives
    assert torch.equal(clone(video), out)
    assert "RepeatChannels(channels=3)" in repr(chain) and "Resize(size=(112, 112))" in repr(chain)


def half_label(label: int) -> int:
    return label // 2


def test_dataset_applies_transform_and_target_transform(tiny) -> None:
    plain = VideoMNIST(tiny, "val", indices=[3, 0, 7])
    chain = T.Compose([T.RepeatChannels(3), T.Resize(32)])
    dataset = VideoMNIST(tiny, "val", transform=chain, target_transform=half_label, indices=[3, 0, 7])
    for i in range(3):
        video, label = dataset[i]
        plain_video, plain_label = plain[i]
        assert video.shape == (3, FRAMES, 32, 32)
        assert torch.equal(video, chain(plain_video)) and label == plain_label // 2
    assert dataset.targets.tolist() == plain.targets.tolist() == [int(plain[i][1]) for i in range(3)]
    assert "Number of videos: 3" in repr(dataset) and "Resize(size=(32, 32))" in repr(dataset)
    with pytest.raises(TypeError):
        VideoMNIST(tiny, "val", None)  # transform, target_transform and indices are keyword-only


def test_dataloader_with_two_workers_transforms_every_video(tiny) -> None:
    dataset = VideoMNIST(tiny, "test", transform=T.for_video_resnet(size=16), target_transform=half_label)
    batches = list(DataLoader(dataset, batch_size=6, num_workers=2))
    videos = torch.cat([videos for videos, _ in batches])
    labels = torch.cat([labels for _, labels in batches])
    assert videos.shape == (20, 3, FRAMES, 16, 16) and videos.dtype == torch.float32
    raw, raw_labels = load_split(tiny, "test")  # uint8 (20, T, 28, 28), int64 (20,)
    expected = T.for_video_resnet(size=16)(T.ToFloat()(raw).unsqueeze(1))  # the same chain on a whole batch
    torch.testing.assert_close(videos, expected)
    assert torch.equal(labels, raw_labels // 2)


def test_r3d_18_takes_the_transformed_videos(tiny) -> None:
    """The README's recipe, where torchvision imports (see the README for the environment it needs on a CPU)."""
    try:
        from torchvision.models.video import R3D_18_Weights, r3d_18
    except Exception as exc:  # noqa: BLE001 (ImportError, or RuntimeError from a torchvision built for another torch)
        pytest.skip(f"torchvision unusable here: {first_line(exc, typed=True)}")
    preset = R3D_18_Weights.KINETICS400_V1.transforms()
    assert (tuple(preset.mean), tuple(preset.std), list(preset.crop_size)) == (
        T.KINETICS_MEAN, T.KINETICS_STD, [T.VIDEO_RESNET_SIZE] * 2)
    torch.manual_seed(0)
    model = r3d_18(num_classes=10).eval()
    videos, labels = next(iter(DataLoader(VideoMNIST(tiny, "train", transform=T.for_video_resnet(size=32)), batch_size=2)))
    assert videos.shape == (2, 3, FRAMES, 32, 32)
    with torch.no_grad():
        assert model(videos).shape == (2, 10)
        with pytest.raises(RuntimeError, match="to have 3 channels"):
            model(VideoMNIST(tiny, "train")[0][0].unsqueeze(0))  # the one-channel video as it is
