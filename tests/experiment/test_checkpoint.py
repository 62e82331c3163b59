"""Checkpoints: round trip through the file, and one clear error for every kind of bad file."""
from __future__ import annotations

import pytest
import torch

from ttn.errors import TTNError
from ttn.experiment.checkpoint import load_checkpoint, save_checkpoint
from ttn.nn import build_model


def test_checkpoint_round_trip(tmp_path) -> None:
    kwargs = {"channels": [3, 4], "theta": "shared"}
    model = build_model("3dttn", **kwargs)
    with torch.no_grad():
        model.conv1.rotation.fill_(0.3)
    path = save_checkpoint(tmp_path / "sub" / "m.pt", model, arch="3dttn", model_kwargs=kwargs, extra={"run_id": "x"})
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary file left
    loaded, header = load_checkpoint(path)
    assert header.arch == "3dttn" and header.extra == {"run_id": "x"} and header.model_kwargs == kwargs
    assert not loaded.training
    x = torch.rand(2, 1, 30, 28, 28)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_bad_checkpoints_raise_ttn_error(tmp_path) -> None:
    with pytest.raises(TTNError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(TTNError, match="cannot read"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(TTNError, match="not a ttn checkpoint"):
        load_checkpoint(foreign)
    good = save_checkpoint(tmp_path / "good.pt", build_model("3d", channels=(2, 3)), arch="3d",
                           model_kwargs={"channels": [2, 4]}, extra={})  # recipe does not fit the weights
    with pytest.raises(TTNError, match="do not fit"):
        load_checkpoint(good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(TTNError, match="cannot read"):
        load_checkpoint(truncated)


def test_the_header_says_how_to_feed_the_model_and_older_files_still_read(tmp_path) -> None:
    kwargs = {"channels": [2, 3], "frames": 16, "size": 28}
    model = build_model("3d", **kwargs)
    path = save_checkpoint(tmp_path / "raw.pt", model, arch="3d", model_kwargs=kwargs, input_scale="raw")
    _, header = load_checkpoint(path)
    assert (header.arch, header.input_scale, header.frames, header.size) == ("3d", "raw", 16, 28)
    _, header = load_checkpoint(save_checkpoint(tmp_path / "plain.pt", model, arch="3d", model_kwargs={"channels": [2, 3],
                                                                                                      "frames": 16}))
    assert (header.input_scale, header.frames, header.size) == ("unit", 16, 28)  # build_model's defaults
    # a file written before the input scale was a field of its own: `ttn train --save-model` kept it in the config
    payload = torch.load(path, weights_only=True)
    del payload["input_scale"]
    payload["extra"] = {"config": {"input_scale": "raw"}}
    torch.save(payload, tmp_path / "older.pt")
    assert load_checkpoint(tmp_path / "older.pt")[1].input_scale == "raw"
    payload["extra"] = {}
    torch.save(payload, tmp_path / "older.pt")
    assert load_checkpoint(tmp_path / "older.pt")[1].input_scale == "unit"
    payload["input_scale"] = "bright"
    torch.save(payload, tmp_path / "older.pt")
    with pytest.raises(TTNError, match="trained on input scale 'bright', which this ttn does not know"):
        load_checkpoint(tmp_path / "older.pt")
