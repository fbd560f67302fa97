"""grainlib.data.public: public data sets fetched by name through pooch, from a local server.

The files are served from the shared copy of the raw Fast-FineCut files by an HTTP
server on 127.0.0.1 in a thread: the real pooch download path runs, checksums included,
and no test contacts any other host.
"""

import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grainlib.core import config
from grainlib.data import public as data
from grainlib.data import sources
from grainlib.run.cli import main as cli

from conftest import SHARED_IRON, closed_port_url

RAW = SHARED_IRON / "raw"
FILES = sorted(data.IRON_SECTIONS.files)

needs_shared = pytest.mark.skipif(not RAW.is_dir(),
                                  reason=f"shared copy of the raw iron files absent ({RAW})")


class _Server:
    """A static file server on 127.0.0.1 (random port) that notes every request."""

    def __init__(self, root: Path):
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """An empty cache folder; home, user cache and temporary folders inside tmp_path,
    so that any write outside the cache folder would show up there."""
    for name in ("home", "xdg", "tmp"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "cache"))
    monkeypatch.setenv(data.ENV_URL, closed_port_url())
    return tmp_path


def serve(root, monkeypatch):
    server = _Server(root)
    monkeypatch.setenv(data.ENV_URL, server.url)
    return server


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def same_partition(a, b) -> bool:
    """True when the label maps a and b are equal up to relabelling (a bijection)."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


# --------------------------------------------------------------------------- download


@needs_shared
def test_fetch_downloads_verifies_and_caches_only_in_the_cache_folder(sandbox, monkeypatch):
    server = serve(RAW, monkeypatch)
    try:
        paths = data.fetch("iron-sections")
        assert sorted(server.requests) == sorted(f"/{f}" for f in FILES)
        assert set(paths) == set(FILES)
        for relpath, path in paths.items():
            assert path == sandbox / "cache" / relpath
            assert path.read_bytes() == (RAW / relpath).read_bytes()
        assert data.is_cached("iron-sections")
        # a second fetch reads the cache and asks the server nothing
        data.fetch("iron-sections")
        data.iron_sections()
        assert len(server.requests) == len(FILES)
    finally:
        server.close()
    # nothing written outside the cache folder, and nothing but the files in it
    outside = {p for p in files_under(sandbox) if not p.startswith("cache/")}
    assert outside == set()
    assert files_under(sandbox / "cache") == set(FILES)


@needs_shared
def test_corrupted_download_is_refused_and_not_kept(sandbox, monkeypatch):
    mirror = sandbox / "mirror"
    shutil.copytree(RAW, mirror)
    bad = mirror / "Original" / "003.tif"
    bad.chmod(0o644)
    content = bytearray(bad.read_bytes())
    content[5000] ^= 0xFF
    bad.write_bytes(bytes(content))
    server = serve(mirror, monkeypatch)
    try:
        with pytest.raises(data.DataError) as caught:
            data.fetch("iron-sections")
    finally:
        server.close()
    message = str(caught.value)
    assert message.startswith(f"refused {server.url}Original/003.tif")
    assert "SHA256" in message and data.IRON_SECTIONS.files["Original/003.tif"][0] in message
    cached = files_under(sandbox / "cache")
    assert "Original/003.tif" not in cached
    assert cached <= set(FILES)  # no temporary download left behind


@needs_shared
def test_corrupted_cached_file_is_refused_and_left_as_it_is(sandbox, monkeypatch):
    shutil.copytree(RAW, sandbox / "cache")
    bad = sandbox / "cache" / "GroundTruth" / "002.tif"
    bad.chmod(0o644)
    bad.write_bytes(bad.read_bytes()[:-10])
    before = bad.read_bytes()
    assert data.file_states("iron-sections")["GroundTruth/002.tif"] == "corrupt"
    server = serve(RAW, monkeypatch)
    try:
        with pytest.raises(data.DataError, match=r"GroundTruth/002.tif is corrupt: its SHA256"):
            data.iron_sections()
    finally:
        server.close()
    assert bad.read_bytes() == before and server.requests == []


# --------------------------------------------------------------------------- offline


@needs_shared
def test_offline_folder_is_used_with_the_network_unreachable(sandbox, monkeypatch):
    monkeypatch.setenv(data.ENV_DIR, str(RAW))  # read-only: any write would fail
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in RAW.rglob("*")}
    images, grain_ids = data.iron_sections()
    assert images.shape == grain_ids.shape == (5, 800, 800)
    assert images.dtype == np.uint8 and grain_ids.dtype == np.int32
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in RAW.rglob("*")} == before


def test_missing_file_without_network_says_what_to_download_and_where(sandbox):
    with pytest.raises(data.DataError) as caught:
        data.fetch("iron-sections")
    message = str(caught.value)
    first = next(iter(data.IRON_SECTIONS.files))  # fetched in registry order
    assert message.splitlines()[0] == (f"cannot download {first} into {sandbox / 'cache'} "
                                       f"(no network: no answer from 127.0.0.1:"
                                       f"{data.base_url('iron-sections').split(':')[-1][:-1]})")
    assert f"{data.IRON_SECTIONS.base_url}{first}" in message  # the real address
    assert str(sandbox / "cache" / first) in message           # where to put it
    assert data.ENV_DIR in message
    assert not (sandbox / "cache").exists()  # a failed download leaves nothing behind


def test_the_command_says_in_a_short_line_what_failed_then_what_to_download(sandbox, capsys):
    """Offline, ``data fetch`` reports the file and the folder in a short first line, then
    one line per file to download and where it goes."""
    assert cli(["data", "fetch", "iron-sections"]) == 1
    first, *rest = capsys.readouterr().err.splitlines()[-13:]
    assert first.startswith("error: data fetch iron-sections: cannot download "
                            "Original/001.tif into ") and "(no network: " in first
    assert len(first.replace(str(sandbox / "cache"), "")) < 120, first
    assert rest[0].startswith("To work offline, download the 10 missing file(s)")
    assert rest[1:-1] == [f"  {data.IRON_SECTIONS.base_url}{p}  ->  {sandbox / 'cache' / p}"
                          for p in data.IRON_SECTIONS.files]


# --------------------------------------------------------------------------- conversion


@needs_shared
def test_grain_ids_and_images_equal_the_shared_converted_sections(monkeypatch):
    monkeypatch.setenv(data.ENV_DIR, str(RAW))
    images, grain_ids = data.iron_sections()
    for k in range(5):
        expected_image = np.asarray(Image.open(SHARED_IRON / "images" / f"{k + 1:03d}.png"))
        expected_ids = np.asarray(Image.open(SHARED_IRON / "instances" / f"{k + 1:03d}.png"))
        np.testing.assert_array_equal(images[k], expected_image)
        assert same_partition(grain_ids[k], expected_ids), f"section {k + 1:03d}"
        assert grain_ids[k].min() == 1 and grain_ids[k].max() == len(np.unique(expected_ids))


def test_same_partition_tells_relabelling_from_merging():
    a = np.array([[1, 1, 2], [3, 3, 2]])
    assert same_partition(a, 10 - a)
    assert not same_partition(a, np.where(a == 3, 1, a))


# --------------------------------------------------------------------------- profile, CLI


def test_profile_source_is_the_named_data_set():
    cfg = config.load("iron-sections")
    assert cfg["data"]["source"] == "iron-sections"
    assert cfg["data"]["images_dir"] is None and cfg["data"]["labels_dir"] is None
    signature = sources.source_signature(cfg)
    assert signature["files"]["Original/001.tif"] == data.IRON_SECTIONS.files["Original/001.tif"][0]


def test_unknown_data_set_names_the_known_ones():
    with pytest.raises(data.DataError, match="unknown data set 'steel'.*iron-sections"):
        data.fetch("steel")


@needs_shared
def test_command_line_lists_and_fetches(sandbox, monkeypatch, capsys):
    assert cli(["data"]) == 0
    out = capsys.readouterr().out
    assert "iron-sections  3.7 MB  MIT licence  not cached" in out
    assert str(sandbox / "cache") in out and "Micron 116 (2019) 5-14" in out
    assert cli(["data", "fetch", "iron-sections"]) == 1  # the network is unreachable
    assert "cannot download" in capsys.readouterr().err
    server = serve(RAW, monkeypatch)
    try:
        assert cli(["data", "fetch", "iron-sections"]) == 0
    finally:
        server.close()
    assert "10 files verified" in capsys.readouterr().out
    assert cli(["data", "list"]) == 0
    assert "MIT licence  cached" in capsys.readouterr().out


def test_project_files_name_nothing_outside_the_project():
    """Only tests/ and .ci/ may know about the shared folder beside the checkout."""
    root = config.PROJECT_ROOT
    skip = {".git", ".venv", "runs", ".cache", "tests", ".ci", "build", "__pycache__",
            ".ipynb_checkpoints", "figures"}
    suffixes = {".py", ".ipynb", ".md", ".yaml", ".yml", ".toml", ".txt", ".cfg", ""}
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in skip and not d.endswith(".egg-info")]
        for name in names:
            path = Path(folder) / name
            if path.suffix not in suffixes:
                continue
            text = path.read_text(errors="replace")
            for needle in ("../shared", "PROTOCOL.md", 'parent / "shared"'):
                if needle in text:
                    found.append(f"{path.relative_to(root)}: {needle}")
    assert found == []
