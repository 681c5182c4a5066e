"""hash_path gives the digests DVC 3 writes, reuses the stat cache, and refuses what it must."""

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

import pytest

from cmf_core.errors import ArtifactError, InvalidInputError
from cmf_core.hashing import (
    BLOCK_SIZE,
    EMPTY_DIR_DIGEST,
    SMALL_FILE,
    THREADED_SIZE,
    DigestInfo,
    MemoryStatCache,
    StatEntry,
    hash_path,
    manifest_bytes,
)
from cmf_core.progress import HashProgress, is_terminal

DVC = Path(sys.executable).parent / "dvc"


# -- trees that the real `dvc add` hashes too ---------------------------------------------


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _single_file(root: Path) -> Path:
    target = root / "model.bin"
    _write(target, bytes(range(256)) * 40)
    return target


def _large_file(root: Path) -> Path:
    """A lone file big enough for the stat cache to be worth consulting."""
    target = root / "weights.bin"
    _write(target, bytes(range(256)) * (SMALL_FILE // 256))
    return target


def _crlf_text_file(root: Path) -> Path:
    target = root / "notes.txt"  # DVC 3 hashes CRLF verbatim (no dos2unix any more)
    _write(target, b"first line\r\nsecond line\r\n")
    return target


def _file_larger_than_a_block(root: Path) -> Path:
    target = root / "large.bin"
    _write(target, random.Random(1).randbytes(5 * 2**20 // 2 + 7))
    return target


def _empty_file(root: Path) -> Path:
    target = root / "empty.bin"
    _write(target, b"")
    return target


def _nested_directories(root: Path) -> Path:
    target = root / "nested"
    # relpaths sort as whole strings: "a-b" < "a.b" < "a/…" < "a0" (by code point)
    for rel, data in {
        "a/b/c/deep.txt": b"deep",
        "a/x": b"x",
        "a-b": b"dash",
        "a.b/z": b"dot",
        "a0": b"zero",
        "B": b"upper",
    }.items():
        _write(target / rel, data)
    return target


def _empty_files(root: Path) -> Path:
    target = root / "empties"
    for rel in ("one", "two", "sub/three"):
        _write(target / rel, b"")
    _write(target / "full", b"not empty")
    return target


def _empty_directory_inside(root: Path) -> Path:
    target = root / "with_empty"
    _write(target / "data.csv", b"a,b\n1,2\n")
    (target / "empty" / "emptier").mkdir(parents=True)
    return target


def _top_level_empty_directory(root: Path) -> Path:
    target = root / "nothing"
    target.mkdir()
    return target


def _unicode_and_spaces(root: Path) -> Path:
    target = root / "names"
    for rel in ("café menu.txt", "日本語/ファイル.txt", "with  two spaces", "ä", "Z", "🙂.bin"):
        _write(target / rel, rel.encode())
    return target


def _many_files(root: Path, count: int = 1500) -> Path:
    target = root / "many"
    rng = random.Random(7)
    for i in range(count):
        _write(target / f"shard{i % 13:02d}" / f"f{i:04d}.bin", rng.randbytes(rng.randrange(3000)))
    return target


def _what_dvc_leaves_out(root: Path) -> Path:
    target = root / "repoish"
    _write(target / "kept.txt", b"kept")
    _write(target / ".git" / "HEAD", b"ref")  # .git directories are skipped
    _write(target / "sub" / ".git", b"gitdir: ..")  # ... and .git files
    _write(target / ".hg" / "store", b"hg")  # .hg directories are skipped
    _write(target / "sub" / ".hg", b"a plain file named .hg is kept")
    _write(target / "nested_repo" / ".dvc" / "config", b"")  # a DVC sub-repo: skipped whole
    _write(target / "nested_repo" / "data.bin", b"not listed")
    _write(target / "real" / "r.txt", b"real")
    (target / "dir_link").symlink_to("real")  # a symlink to a directory: skipped
    (target / "file_link").symlink_to("kept.txt")  # a symlink to a file: followed
    return target


DVC_CASES: dict[str, Callable[[Path], Path]] = {
    "a single file": _single_file,
    "a text file with CRLF line endings": _crlf_text_file,
    "a file larger than one read block": _file_larger_than_a_block,
    "an empty file": _empty_file,
    "nested directories": _nested_directories,
    "empty files": _empty_files,
    "an empty directory inside a tree": _empty_directory_inside,
    "a top-level empty directory": _top_level_empty_directory,
    "unicode and spaces in names": _unicode_and_spaces,
    "a directory with many files": _many_files,
    "what dvc leaves out of a directory": _what_dvc_leaves_out,
}


def _dvc_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVC_")}
    env.update(
        HOME=str(home),
        DVC_NO_ANALYTICS="1",  # no usage report
        DVC_TEST="1",  # no analytics, no updater check
        DVC_SITE_CACHE_DIR=str(home / "site-cache"),
        DVC_GLOBAL_CONFIG_DIR=str(home / "global-config"),
        DVC_SYSTEM_CONFIG_DIR=str(home / "system-config"),
    )
    return env


def _parse_dvc_file(text: str) -> DigestInfo:
    """Read md5, size and nfiles from the single out of a `.dvc` file."""
    md5 = re.search(r"^\s*-?\s*md5: (\S+)$", text, re.MULTILINE)
    size = re.search(r"^\s*size: (\d+)$", text, re.MULTILINE)
    nfiles = re.search(r"^\s*nfiles: (\d+)$", text, re.MULTILINE)
    assert md5 is not None and size is not None, text
    return DigestInfo(
        f"md5:{md5.group(1)}", int(size.group(1)), int(nfiles.group(1)) if nfiles else None
    )


@pytest.fixture(scope="module")
def digests_by_case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[DigestInfo, str]]:
    """Ours and the `.dvc` file text of one `dvc add` of every case, in one repository."""
    repo = tmp_path_factory.mktemp("dvc_repo")
    home = tmp_path_factory.mktemp("dvc_home")
    env = _dvc_env(home)
    subprocess.run([str(DVC), "init", "--no-scm", "-q"], cwd=repo, env=env, check=True)
    targets = {name: build(repo) for name, build in DVC_CASES.items()}
    # ours first: `dvc add` then swaps the files for links into its cache
    ours = {name: hash_path(target) for name, target in targets.items()}
    added = subprocess.run(
        [str(DVC), "add", "-q", *(target.name for target in targets.values())],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    return {
        name: (ours[name], (repo / f"{target.name}.dvc").read_text(encoding="utf-8"))
        for name, target in targets.items()
    }


@pytest.mark.dvc
@pytest.mark.parametrize("case", DVC_CASES)
def test_digest_size_and_file_count_equal_what_dvc_add_writes(
    case: str, digests_by_case: dict[str, tuple[DigestInfo, str]]
) -> None:
    ours, dvc_file = digests_by_case[case]
    assert ours == _parse_dvc_file(dvc_file)


@pytest.mark.dvc
def test_manifest_bytes_equal_dvc_data_tree_bytes() -> None:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta
    from dvc_data.hashfile.tree import Tree

    rng = random.Random(3)
    alphabet = 'aZ09 -._/"\\\t\né日🙂\x7f'
    relpaths = {"".join(rng.choices(alphabet, k=rng.randrange(1, 12))) for _ in range(300)}
    entries = sorted((relpath, f"{rng.getrandbits(128):032x}") for relpath in relpaths)
    tree = Tree()
    for relpath, md5 in entries:
        tree.add(tuple(relpath.split("/")), Meta(), HashInfo("md5", md5))
    assert manifest_bytes(entries) == tree.as_bytes()


def test_an_empty_directory_has_the_digest_of_an_empty_manifest(tmp_path: Path) -> None:
    assert hash_path(tmp_path) == DigestInfo(EMPTY_DIR_DIGEST, 0, 0)
    assert hash_path(tmp_path).is_dir
    assert not hash_path(_single_file(tmp_path)).is_dir


def test_threads_and_a_single_thread_give_the_same_digest(tmp_path: Path) -> None:
    tree = _many_files(tmp_path, 400)
    _write(tree / "big1", random.Random(2).randbytes(2**21 + 3))
    _write(tree / "big2", random.Random(4).randbytes(2**21 + 5))
    assert hash_path(tree, workers=1) == hash_path(tree, workers=8)


def test_a_path_like_and_a_relative_path_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _nested_directories(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert hash_path("nested") == hash_path(tree) == hash_path(f"{tree}{os.sep}")


# -- stat cache ----------------------------------------------------------------------------


class RecordingStatCache(MemoryStatCache):
    """A MemoryStatCache that remembers each call made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.gets: list[list[str]] = []
        self.puts: list[list[StatEntry]] = []

    def get_stat_entries(self, paths: Sequence[str]) -> dict[str, StatEntry]:
        self.gets.append(list(paths))
        return super().get_stat_entries(paths)

    def put_stat_entries(self, entries: Sequence[StatEntry]) -> None:
        self.puts.append(list(entries))
        super().put_stat_entries(entries)


def test_a_first_hash_looks_up_and_stores_every_file_in_one_batch_each(tmp_path: Path) -> None:
    tree = _nested_directories(tmp_path)
    cache = RecordingStatCache()
    hash_path(tree, stat_cache=cache)
    files = sorted(str(p) for p in tree.rglob("*") if p.is_file())
    assert [sorted(paths) for paths in cache.gets] == [files]
    assert [sorted(entry.path for entry in entries) for entries in cache.puts] == [files]
    assert len(cache) == len(files)
    deep = tree / "a" / "b" / "c" / "deep.txt"
    (entry,) = [entry for entry in cache.puts[0] if entry.path == str(deep)]
    info = deep.stat()
    assert entry == StatEntry(
        str(deep), info.st_ino, info.st_mtime_ns, 4, hash_path(deep).digest.removeprefix("md5:")
    )


def test_an_unchanged_directory_is_hashed_again_from_the_stat_cache_alone(
    tmp_path: Path,
) -> None:
    tree = _nested_directories(tmp_path)
    cache = RecordingStatCache()
    first = hash_path(tree, stat_cache=cache)
    # Plant a wrong md5 under the unchanged stat key: if the file were read, it would not show.
    deep = str(tree / "a" / "b" / "c" / "deep.txt")
    (entry,) = cache.get_stat_entries([deep]).values()
    cache.put_stat_entries([StatEntry(deep, entry.inode, entry.mtime_ns, entry.size, "0" * 32)])
    cache.puts.clear()
    second = hash_path(tree, stat_cache=cache)
    assert second != first
    assert second.size == first.size and second.nfiles == first.nfiles
    assert cache.puts == []  # nothing was read, so nothing new to store


def test_a_single_file_is_hashed_again_from_the_stat_cache(tmp_path: Path) -> None:
    target = _large_file(tmp_path)
    cache = MemoryStatCache()
    hash_path(target, stat_cache=cache)
    (entry,) = cache.get_stat_entries([str(target)]).values()
    cache.put_stat_entries(
        [StatEntry(entry.path, entry.inode, entry.mtime_ns, entry.size, "f" * 32)]
    )
    assert hash_path(target, stat_cache=cache).digest == "md5:" + "f" * 32


def test_a_file_rewritten_with_a_new_mtime_is_read_again(tmp_path: Path) -> None:
    tree = _nested_directories(tmp_path)
    cache = MemoryStatCache()
    hash_path(tree, stat_cache=cache)
    deep = tree / "a" / "b" / "c" / "deep.txt"
    before = deep.stat()
    deep.write_bytes(b"DEEP")  # same size
    os.utime(deep, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert hash_path(tree, stat_cache=cache) == hash_path(tree)


def test_a_file_replaced_by_another_inode_is_read_again(tmp_path: Path) -> None:
    tree = _nested_directories(tmp_path)
    cache = MemoryStatCache()
    hash_path(tree, stat_cache=cache)
    deep = tree / "a" / "b" / "c" / "deep.txt"
    before = deep.stat()
    fresh = tmp_path / "fresh"
    fresh.write_bytes(b"DEEP")  # same size, and the same mtime below: only the inode differs
    os.utime(fresh, ns=(before.st_atime_ns, before.st_mtime_ns))
    fresh.replace(deep)
    assert deep.stat().st_ino != before.st_ino
    assert hash_path(tree, stat_cache=cache) == hash_path(tree)


# -- files that change while they are hashed -----------------------------------------------


def _append(victim: Path) -> None:
    with victim.open("ab") as stream:
        stream.write(b"one more line\n")


def _rewrite_in_place(victim: Path) -> None:
    """Same inode, same size: only the mtime tells."""
    before = victim.stat()
    with victim.open("r+b") as stream:
        stream.write(b"X")
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))


def _replace(victim: Path) -> None:
    """Same content, size and mtime under a new inode."""
    before = victim.stat()
    stand_in = victim.with_name("stand-in")
    stand_in.write_bytes(victim.read_bytes())
    os.utime(stand_in, ns=(before.st_atime_ns, before.st_mtime_ns))
    stand_in.replace(victim)


class ChangingStatCache(MemoryStatCache):
    """Changes ``victim`` when asked for entries: after the walk's stat, before the read."""

    def __init__(self, victim: Path, change: Callable[[Path], None]) -> None:
        super().__init__()
        self.victim = victim
        self.change = change
        self.puts: list[StatEntry] = []

    def get_stat_entries(self, paths: Sequence[str]) -> dict[str, StatEntry]:
        self.change(self.victim)
        return super().get_stat_entries(paths)

    def put_stat_entries(self, entries: Sequence[StatEntry]) -> None:
        self.puts.extend(entries)
        super().put_stat_entries(entries)


def _truncate(victim: Path) -> None:
    """Shorter, so that a read of the listed size comes back short."""
    os.truncate(victim, victim.stat().st_size // 2)


def _swap_for_fifo(victim: Path) -> None:
    """A FIFO under the same name: a non-blocking read returns at once, empty."""
    victim.unlink()
    os.mkfifo(victim)


def _swap_for_directory(victim: Path) -> None:
    """A directory under the same name: it opens, but reading it fails."""
    victim.unlink()
    victim.mkdir()


CHANGES = {
    "appended": _append,
    "rewritten": _rewrite_in_place,
    "replaced": _replace,
    "truncated": _truncate,
    "a FIFO now": _swap_for_fifo,
    "a directory now": _swap_for_directory,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
@pytest.mark.parametrize("workers", [1, 4])
def test_a_file_that_changes_before_it_is_read_raises_and_is_not_cached(
    tmp_path: Path, change: Callable[[Path], None], workers: int, no_hang: None
) -> None:
    tree = _many_files(tmp_path, 400)
    victim = tree / "shard12" / "f0389.bin"  # the last file: in the 4th batch of 128
    cache = ChangingStatCache(victim, change)
    with pytest.raises(ArtifactError, match="changed while it was being hashed") as caught:
        hash_path(tree, stat_cache=cache, workers=workers)
    assert str(victim) in str(caught.value)
    assert str(victim) not in {entry.path for entry in cache.puts}
    if workers == 1:
        assert len(cache.puts) >= 3 * 128  # the batches read before it keep their entries


@pytest.mark.parametrize(
    "victim",
    ["block.bin", "large03.bin", "shard05/f0200.bin"],
    ids=["over a block", "large", "small"],
)
@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_during_a_threaded_hash_raises_and_keeps_the_files_hashed_cleanly(
    tmp_path: Path, victim: str, change: Callable[[Path], None], no_hang: None
) -> None:
    tree = _many_files(tmp_path, 400)
    rng = random.Random(3)
    for index in range(8):  # large enough to be shared among threads, 2 MiB in all
        _write(tree / f"large{index:02d}.bin", rng.randbytes(THREADED_SIZE))
    _write(tree / "block.bin", rng.randbytes(BLOCK_SIZE + 1))  # read block by block
    cache = ChangingStatCache(tree / victim, change)
    with pytest.raises(ArtifactError, match="changed while it was being hashed"):
        hash_path(tree, stat_cache=cache, workers=4)
    assert str(tree / victim) not in {entry.path for entry in cache.puts}
    assert cache.puts  # the files hashed before the error are remembered
    for entry in cache.puts:
        assert entry.md5 == hash_path(entry.path).digest.removeprefix("md5:")


def test_a_small_single_file_is_read_without_the_stat_cache(tmp_path: Path) -> None:
    target = _single_file(tmp_path)
    cache = MemoryStatCache()
    assert hash_path(target, stat_cache=cache) == hash_path(target)
    assert len(cache) == 0


def test_a_single_file_that_changes_before_it_is_read_raises(tmp_path: Path) -> None:
    target = _large_file(tmp_path)
    cache = ChangingStatCache(target, _append)
    with pytest.raises(ArtifactError, match="changed while it was being hashed"):
        hash_path(target, stat_cache=cache)
    assert cache.puts == []


# -- what hash_path refuses ----------------------------------------------------------------


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail, rather than hang, if the test blocks (e.g. by opening a FIFO)."""

    def timeout(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("hash_path blocked")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, 10)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _missing(root: Path) -> Path:
    return root / "not-there"


def _fifo(root: Path) -> Path:
    os.mkfifo(root / "pipe")
    return root / "pipe"


def _fifo_in_a_directory(root: Path) -> Path:
    _write(root / "data" / "a.txt", b"a")
    os.mkfifo(root / "data" / "pipe")
    return root / "data"


def _dangling_symlink(root: Path) -> Path:
    (root / "link").symlink_to(root / "gone")
    return root / "link"


def _dangling_symlink_in_a_directory(root: Path) -> Path:
    _write(root / "data" / "a.txt", b"a")
    (root / "data" / "link").symlink_to("gone")
    return root / "data"


def _symlink_loop(root: Path) -> Path:
    (root / "one").symlink_to(root / "two")
    (root / "two").symlink_to(root / "one")
    return root / "one"


def _symlink_loop_in_a_directory(root: Path) -> Path:
    _write(root / "data" / "a.txt", b"a")
    (root / "data" / "one").symlink_to("two")
    (root / "data" / "two").symlink_to("one")
    return root / "data"


def _file_with_trailing_slash(root: Path) -> str:
    return f"{_single_file(root)}{os.sep}"


def _dvcignore_inside(root: Path) -> Path:
    _write(root / "data" / "a.txt", b"a")
    _write(root / "data" / ".dvcignore", b"*.log\n")
    return root / "data"


def _character_device(root: Path) -> str:
    return os.devnull


def _below_a_file(root: Path) -> Path:
    return _single_file(root) / "child"


REFUSALS: dict[str, tuple[Callable[[Path], Path | str], str, str]] = {
    # case: (make the path, where the offending path is, what the message says)
    "a missing path": (_missing, "not-there", "No file or directory"),
    "a FIFO": (_fifo, "pipe", "is a FIFO"),
    "a FIFO inside a directory": (_fifo_in_a_directory, "pipe", "is a FIFO"),
    "a dangling symlink": (_dangling_symlink, "link", "which does not exist"),
    "a dangling symlink inside a directory": (
        _dangling_symlink_in_a_directory,
        "link",
        "which does not exist",
    ),
    "a symlink loop": (_symlink_loop, "one", "symbolic link loop"),
    "a symlink loop inside a directory": (_symlink_loop_in_a_directory, "data", "link loop"),
    "a file written with a trailing slash": (
        _file_with_trailing_slash,
        "model.bin",
        "is a file, not a directory",
    ),
    "a .dvcignore inside the directory": (_dvcignore_inside, ".dvcignore", "DVC refuses"),
    "a character device": (_character_device, os.devnull, "is a character device"),
    "a path below a file": (_below_a_file, "model.bin/child", "Not a directory"),
}


@pytest.mark.usefixtures("no_hang")
@pytest.mark.parametrize("case", REFUSALS)
def test_paths_without_a_content_digest_raise_an_artifact_error_naming_them(
    tmp_path: Path, case: str
) -> None:
    make, named, says = REFUSALS[case]
    target = make(tmp_path)
    with pytest.raises(ArtifactError, match=re.escape(says)) as caught:
        hash_path(target)
    assert named in str(caught.value)


def test_a_socket_is_refused() -> None:
    short = Path(tempfile.mkdtemp(prefix="cmf"))  # AF_UNIX paths must stay short
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(short / "sock"))
            with pytest.raises(ArtifactError, match="is a socket") as caught:
                hash_path(short / "sock")
            assert str(short / "sock") in str(caught.value)
            _write(short / "a.txt", b"a")
            with pytest.raises(ArtifactError, match="is a socket"):
                hash_path(short)
    finally:
        shutil.rmtree(short)


def test_os_errors_are_wrapped_with_their_cause(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as caught:
        hash_path(tmp_path / "missing")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


@contextlib.contextmanager
def _as_an_unprivileged_user() -> Iterator[None]:
    """Run the block without root's right to read anything (as nobody, when root)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize("what", ["file", "directory"])
def test_an_unreadable_path_raises_permission_denied(what: str) -> None:
    # Not in tmp_path: as nobody, the test must be able to reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="cmf-unreadable-"))
    try:
        folder.chmod(0o755)
        _write(folder / "data" / "secret.bin", b"secret")
        (folder / "data").chmod(0o755)
        locked = folder / "data" / "secret.bin" if what == "file" else folder / "data"
        locked.chmod(0)
        with _as_an_unprivileged_user(), pytest.raises(ArtifactError) as caught:
            hash_path(folder / "data")
        assert "permission denied" in str(caught.value)
        assert str(locked) in str(caught.value)
    finally:
        for path in (folder / "data", folder / "data" / "secret.bin"):
            with contextlib.suppress(OSError):
                path.chmod(stat.S_IRWXU)
        shutil.rmtree(folder)


def test_workers_below_one_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="workers"):
        hash_path(tmp_path, workers=0)


# -- progress and imports ------------------------------------------------------------------


def _advance_past_the_delay(stream: TextIO, *, show: bool | None) -> HashProgress:
    with HashProgress(total_files=2, total_bytes=10, show=show, stream=stream, delay=0) as bar:
        bar.advance(files=1, nbytes=4)
        bar.advance(files=1, nbytes=6)
    return bar


def test_progress_writes_nothing_to_a_pipe() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader:
        with os.fdopen(write_end, "w") as writer:
            bar = _advance_past_the_delay(writer, show=None)
        assert reader.read() == b""
    assert not bar.is_shown


def test_forced_progress_writes_to_a_pipe_once_done() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader:
        with os.fdopen(write_end, "w") as writer:
            bar = _advance_past_the_delay(writer, show=True)
        assert b"2/2 files" in reader.read()
    assert bar.is_shown


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_draws_a_bar_on_a_terminal() -> None:
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        bar = _advance_past_the_delay(terminal, show=None)
    output = b""
    with contextlib.suppress(OSError):  # EIO once the follower side is closed
        while chunk := os.read(leader, 65536):
            output += chunk
    os.close(leader)
    assert bar.is_shown
    assert b"2/2 files" in output


def test_a_closed_stream_is_not_a_terminal() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    writer = os.fdopen(write_end, "w")
    writer.close()
    assert not is_terminal(writer)


def test_progress_draws_nothing_before_the_delay() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader:
        with (
            os.fdopen(write_end, "w") as writer,
            HashProgress(total_files=1, total_bytes=1, show=True, stream=writer, delay=3600) as bar,
        ):
            bar.advance(files=1, nbytes=1)
        assert reader.read() == b""
    assert not bar.is_shown


@pytest.mark.parametrize(("progress", "is_written"), [(None, False), (True, True)])
def test_hashing_with_stderr_on_a_pipe_draws_only_a_forced_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, progress: bool | None, is_written: bool
) -> None:
    tree = _many_files(tmp_path, 200)
    monkeypatch.setattr("cmf_core.progress.DEFAULT_DELAY", 0.0)
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader:
        with os.fdopen(write_end, "w") as writer:
            monkeypatch.setattr(sys, "stderr", writer)
            hash_path(tree, progress=progress)
            monkeypatch.undo()
        assert (b"200/200 files" in reader.read()) is is_written


def test_importing_and_hashing_leave_heavy_libraries_out(tmp_path: Path) -> None:
    tree = _nested_directories(tmp_path)
    script = (
        "import sys\n"
        "from cmf_core.hashing import hash_path\n"
        f"print(hash_path({str(tree)!r}, progress=None).digest)\n"
        "print(*sorted(m for m in ('rich', 'dvc', 'dvc_data', 'sqlalchemy') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [hash_path(tree).digest]
    assert done.stderr == ""
