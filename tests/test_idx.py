"""The IDX reader on valid files and on every way a file can be broken."""

import gzip
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mnist_nn.data.idx import idx_bytes, read_idx, write_idx
from mnist_nn.errors import UserError

rng = np.random.default_rng(0)
IMAGES = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
LABELS = rng.integers(0, 10, size=5, dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("array", [IMAGES, LABELS], ids=["images", "labels"])
def test_round_trip(tmp_path, array, compress):
    path = tmp_path / "file"
    write_idx(path, array, compress=compress)
    np.testing.assert_array_equal(read_idx(path), array)


def test_checksum_of_decompressed_bytes(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, LABELS, compress=True)
    good = hashlib.sha256(idx_bytes(LABELS)).hexdigest()
    np.testing.assert_array_equal(read_idx(path, expected_sha256=good), LABELS)
    with pytest.raises(UserError, match=f"SHA-256 mismatch \\(expected {'0' * 64}, got {good}\\)"):
        read_idx(path, expected_sha256="0" * 64)


def broken(tmp_path, data: bytes, compress=False):
    path = tmp_path / "broken"
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not an IDX file"),
        (idx_bytes(IMAGES)[:-1], "header claims 5 images .* holds 3919 bytes"),
        (idx_bytes(IMAGES) + b"\0", "holds more than that"),
        (idx_bytes(IMAGES)[:10], "truncated header"),
        (b"\x00\x00\x08\x02" + bytes(8), "wrong magic number 2050"),
        (b"PK\x03\x04" + bytes(100), "wrong magic number"),
        (b"\x00\x00\x0d\x01" + struct.pack(">I", 4) + bytes(16), "0x0d is not unsigned byte"),
        (b"\x00\x00\x08\x03" + struct.pack(">III", 3, 0, 28), "images of 0x28 pixels"),
    ],
    ids=["empty", "truncated", "trailing", "short-header", "2-dims", "zip", "float", "no-pixels"],
)
@pytest.mark.parametrize("compress", [False, True])
def test_broken_files_give_a_clear_error_naming_the_file(tmp_path, data, message, compress):
    path = broken(tmp_path, data, compress)
    with pytest.raises(UserError, match=message) as error:
        read_idx(path)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_a_lying_header_does_not_allocate_what_it_claims(tmp_path):
    # 10^9 images of 28x28 would be 784 GB: refused on the header alone.
    path = broken(tmp_path, b"\x00\x00\x08\x03" + struct.pack(">III", 10**9, 28, 28) + bytes(784))
    with pytest.raises(UserError, match="claims 784,000,000,000 bytes of data, more than any"):
        read_idx(path)
    # 1,000 images claimed, 784 bytes there: refused on length.
    path = broken(tmp_path, b"\x00\x00\x08\x03" + struct.pack(">III", 1000, 28, 28) + bytes(784))
    with pytest.raises(UserError, match="claims 1000 images .* holds 784 bytes"):
        read_idx(path)


def test_a_gzip_that_inflates_far_past_its_header_is_read_no_further(tmp_path):
    """2 labels claimed, 300 MB of zeros behind them in a 300 KB .gz: refused after 3 bytes."""
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    parts = [compressor.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 2))]
    chunk = bytes(1 << 20)
    parts += [compressor.compress(chunk) for _ in range(300)] + [compressor.flush()]
    path = tmp_path / "bomb.gz"
    path.write_bytes(b"".join(parts))
    assert path.stat().st_size < 1_000_000
    with pytest.raises(UserError, match="claims 2 labels .* holds more than that"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    compressed = gzip.compress(idx_bytes(IMAGES))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(UserError, match="damaged or truncated"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        read_idx(tmp_path / "nothing")


@settings(max_examples=60, deadline=None)
@given(
    array=st.one_of(
        arrays(np.uint8, st.tuples(st.integers(0, 20))),
        arrays(np.uint8, st.tuples(st.integers(0, 4), st.integers(1, 6), st.integers(1, 6))),
    ),
    compress=st.booleans(),
)
def test_any_array_round_trips(tmp_path_factory, array, compress):
    path = tmp_path_factory.mktemp("idx") / "file"
    write_idx(path, array, compress=compress)
    np.testing.assert_array_equal(read_idx(path), array)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_damaged_bytes_give_the_array_or_a_user_error_never_a_crash(tmp_path_factory, data):
    original = idx_bytes(IMAGES[:2])
    cut = data.draw(st.integers(0, len(original)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, 15), st.integers(0, 255)), max_size=3))
    damaged = bytearray(original[:cut])
    for position, value in flips:
        if position < len(damaged):
            damaged[position] = value
    path = tmp_path_factory.mktemp("idx") / "file"
    path.write_bytes(bytes(damaged))
    try:
        result = read_idx(path)
    except UserError as error:
        assert str(path) in str(error)
    else:
        assert result.nbytes == len(damaged) - (4 + 4 * result.ndim)
