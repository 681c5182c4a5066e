"""The content store: DVC's layout, stored once, read-only, verified, checked out again."""

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from cmf_core import ArtifactError, InvalidInputError
from cmf_core.artifacts.cache import Cache, cache_dir, parse_link_types
from cmf_core.artifacts.copying import write_error
from cmf_core.hashing import MemoryStatCache, hash_path


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def objects(cache: Cache) -> list[str]:
    return sorted(cache.iter_oids())


def test_a_file_is_stored_once_under_its_md5_in_dvc_layout(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    first = write(tmp_path / "a" / "train.csv", b"x,y\n1,2\n")
    second = write(tmp_path / "b" / "copy-of-train.csv", b"x,y\n1,2\n")
    digest = hash_path(first).digest
    assert cache.add(first, digest) == 8
    assert cache.add(second, hash_path(second).digest) == 0  # same bytes, another name
    md5 = hashlib.md5(b"x,y\n1,2\n").hexdigest()
    assert objects(cache) == [md5]
    stored = tmp_path / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    assert stored.read_bytes() == b"x,y\n1,2\n"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444


def test_a_directory_is_its_dvc_manifest_plus_one_object_per_distinct_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    write(folder / "a.txt", b"same")
    write(folder / "sub" / "b.txt", b"same")
    write(folder / "sub" / "c.txt", b"other")
    write(folder / ".git" / "HEAD", b"skipped like DVC does")
    info = hash_path(folder)
    cache = Cache(tmp_path / "cache")
    assert cache.add(folder, info.digest) == 4 + 5  # "same" is stored once
    manifest = Path(cache.object_path(info.digest.removeprefix("md5:")))
    data = manifest.read_bytes()
    assert f"md5:{hashlib.md5(data).hexdigest()}.dir" == info.digest
    assert [e["relpath"] for e in json.loads(data)] == ["a.txt", "sub/b.txt", "sub/c.txt"]
    assert len(objects(cache)) == 3  # the manifest and two distinct files
    assert cache.has(info.digest)


def test_known_md5s_come_from_the_stat_cache_and_a_changed_directory_is_refused(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    write(folder / "a.txt", b"one")
    stats = MemoryStatCache()
    info = hash_path(folder, stat_cache=stats)
    write(folder / "a.txt", b"two")  # changed after it was hashed
    cache = Cache(tmp_path / "cache")
    with pytest.raises(ArtifactError, match="changed since it was hashed"):
        cache.add(folder, info.digest, stat_cache=stats)
    assert not cache.has(info.digest)


def test_a_file_changed_after_hashing_is_not_placed_under_its_digest(tmp_path: Path) -> None:
    path = write(tmp_path / "model.bin", b"version 1")
    digest = hash_path(path).digest
    path.write_bytes(b"version 2")
    cache = Cache(tmp_path / "cache")
    with pytest.raises(ArtifactError, match="changed since it was hashed"):
        cache.add(path, digest)
    assert objects(cache) == []
    assert cache.temp_files() == []


def test_checkout_puts_a_file_and_a_directory_back_as_writable_copies(tmp_path: Path) -> None:
    folder = write(tmp_path / "data" / "x" / "y.txt", b"deep").parent.parent
    write(folder / "z.txt", b"top")
    model = write(tmp_path / "model.bin", b"weights")
    cache = Cache(tmp_path / "cache")
    for path in (folder, model):
        cache.add(path, hash_path(path).digest)
    out = tmp_path / "out"
    assert cache.checkout(hash_path(folder).digest, out / "data") == 2
    assert cache.checkout(hash_path(model).digest, out / "model.bin") == 1
    assert (out / "data" / "x" / "y.txt").read_bytes() == b"deep"
    assert (out / "model.bin").read_bytes() == b"weights"
    assert os.access(out / "model.bin", os.W_OK)
    assert hash_path(out / "data").digest == hash_path(folder).digest


def test_hardlinked_objects_share_the_inode_and_are_read_only(tmp_path: Path) -> None:
    path = write(tmp_path / "big.bin", b"0" * 4096)
    digest = hash_path(path).digest
    cache = Cache(tmp_path / "cache", link_types=parse_link_types("hardlink,copy"))
    cache.add(path, digest)
    stored = Path(cache.object_path(digest.removeprefix("md5:")))
    assert stored.stat().st_ino == path.stat().st_ino
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444  # the workspace file is protected too


def test_unknown_link_types_are_refused_with_the_valid_ones() -> None:
    with pytest.raises(InvalidInputError, match="reflink, hardlink, copy"):
        parse_link_types("symlink,copy")


def test_the_cache_is_dvcs_in_a_dvc_repo_and_cmfs_otherwise(tmp_path: Path) -> None:
    assert cache_dir(tmp_path) == tmp_path / ".cmf" / "cache"
    (tmp_path / ".dvc").mkdir()
    assert cache_dir(tmp_path) == tmp_path / ".dvc" / "cache"
    (tmp_path / ".dvc" / "config").write_text("[cache]\n    dir = ../shared-cache\n")
    assert cache_dir(tmp_path) == tmp_path / ".dvc" / ".." / "shared-cache"


def test_a_full_disk_is_reported_as_such() -> None:
    import errno

    error = write_error("/cache/files/md5/ab/cd", OSError(errno.ENOSPC, "No space left"))
    assert "disk is full" in str(error) and "nothing partial was placed" in str(error)


def test_bytes_the_stat_cache_vouches_for_are_copied_whole_without_a_second_hash(
    tmp_path: Path,
) -> None:
    data = os.urandom(600_000)  # over the size hash_path keeps in the stat cache
    path = write(tmp_path / "model.bin", data)
    stats = MemoryStatCache()
    digest = hash_path(path, stat_cache=stats).digest
    cache = Cache(tmp_path / "cache")
    assert cache.add(path, digest, stat_cache=stats) == 600_000
    assert Path(cache.object_path(digest.removeprefix("md5:"))).read_bytes() == data
    assert cache.check_object(digest.removeprefix("md5:"))
