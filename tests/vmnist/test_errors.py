"""`first_line`: the one way an exception's message is quoted inside another message (issue 28 item 5)."""
from __future__ import annotations

import pytest

from vmnist.infra.errors import first_line


@pytest.mark.parametrize("exc, typed, limit, expected", [
    (ValueError("bad value\nsecond line"), False, None, "bad value"),
    (ValueError("\n  \n  bad   value\t here  \nmore"), False, None, "bad value here"),
    (RuntimeError("no space left on device"), True, None, "RuntimeError: no space left on device"),
    (RuntimeError(""), False, None, "RuntimeError"),
    (RuntimeError(" \n "), True, None, "RuntimeError"),
    (KeyError("conv1.weight"), False, None, "'conv1.weight'"),
    (ValueError("x" * 300), False, 80, "x" * 80),
    (ValueError("abc"), True, 2, "ValueError: ab"),
])
def test_first_line(exc: BaseException, typed: bool, limit: int | None, expected: str) -> None:
    assert first_line(exc, typed=typed, limit=limit) == expected
