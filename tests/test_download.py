"""Model download: a real HTTP server on localhost serving good, corrupt, truncated and
malicious archives to the real fetch code and to ``voicecoach models fetch``."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import os
import select
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO

import pytest

from voicecoach.asr.download import ModelSpec, fetch
from voicecoach.asr.vosk import is_vosk_model
from voicecoach.cli import models_cmd
from voicecoach.errors import DownloadError

FOLDER = "vosk-model-tiny-test"


def model_zip(extra: dict[str, bytes] | None = None, top: str = FOLDER) -> bytes:
    """A small zip laid out like a Vosk model (fake contents: the download is tested)."""
    files = {
        "am/final.mdl": b"\0" * 50_000,
        "conf/model.conf": b"--min-active=200\n",
        "conf/mfcc.conf": b"--use-energy=false\n",
        "graph/Gr.fst": bytes(range(256)) * 200,
        "README": b"tiny test model\n",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(f"{top}/{name}", data)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


GOOD = model_zip()
EVIL = model_zip({"../escaped.txt": b"owned"})
NOT_A_MODEL = model_zip(top="something-else")  # still a model layout, wrong folder name
PLAIN = b"PK-not-really" * 100


def spec_for(data: bytes) -> ModelSpec:
    return ModelSpec(
        name="tiny",
        url="http://unused.invalid/tiny.zip",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        folder=FOLDER,
    )


class Handler(BaseHTTPRequestHandler):
    """/good.zip, /corrupt.zip (bytes flipped), /drop.zip (closes halfway), /evil.zip,
    /plain.zip; anything else 404."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        bodies = {"/good.zip": GOOD, "/evil.zip": EVIL, "/plain.zip": PLAIN}
        if self.path == "/corrupt.zip":
            data = bytearray(GOOD)
            data[len(data) // 2] ^= 0xFF
            bodies[self.path] = bytes(data)
        if self.path == "/slow.zip":  # a start, then nothing for a long while
            self.send_response(200)
            self.send_header("Content-Length", str(40_000_000))
            self.end_headers()
            self.wfile.write(b"PK" + bytes(65_534))
            self.wfile.flush()
            time.sleep(30)
            return
        if self.path == "/drop.zip":
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.wfile.write(GOOD[: len(GOOD) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        body = bodies.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_fetch_installs_a_verified_model_with_progress(server: str, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    path = fetch(
        spec_for(GOOD),
        tmp_path,
        url=f"{server}/good.zip",
        progress=lambda d, t: seen.append((d, t)),
    )
    assert path == tmp_path / FOLDER
    assert is_vosk_model(path)
    assert (path / "README").read_bytes() == b"tiny test model\n"
    assert leftovers(tmp_path) == [FOLDER]  # no zip or work folder left behind
    assert seen[0] == (0, len(GOOD))
    assert seen[-1] == (len(GOOD), len(GOOD))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_already_installed_is_kept_unless_forced(server: str, tmp_path: Path) -> None:
    path = fetch(spec_for(GOOD), tmp_path, url=f"{server}/good.zip")
    marker = path / "local-note"
    marker.write_text("mine")
    # Not forced: no download at all (the URL would 404).
    assert fetch(spec_for(GOOD), tmp_path, url=f"{server}/missing.zip") == path
    assert marker.exists()
    fetch(spec_for(GOOD), tmp_path, url=f"{server}/good.zip", force=True)
    assert is_vosk_model(path) and not marker.exists()
    assert leftovers(tmp_path) == [FOLDER]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/corrupt.zip", "SHA-256"),
        ("/drop.zip", "dropped after"),
        ("/missing.zip", "HTTP 404"),
    ],
)
def test_failed_download_leaves_nothing(
    server: str, tmp_path: Path, path: str, message: str
) -> None:
    dest = tmp_path / "models"
    with pytest.raises(DownloadError, match=message) as info:
        fetch(spec_for(GOOD), dest, url=server + path)
    assert "nothing was installed" in info.value.message
    assert leftovers(dest) == []


def test_a_download_that_does_not_match_says_it_is_damaged_and_what_to_do(
    server: str, tmp_path: Path
) -> None:
    # It said "the file from URL is corrupt or not tiny (SHA-256 ..., expected ...):
    # try again or use the official address" even where the official address was used.
    official = dataclasses.replace(spec_for(GOOD), url=f"{server}/corrupt.zip")
    with pytest.raises(DownloadError) as info:
        fetch(official, tmp_path)
    said = info.value.message
    assert said.startswith(
        f"the download of tiny from {server}/corrupt.zip is damaged, or the file there is "
        "not the one this voicecoach knows: its SHA-256 checksum does not match; nothing "
        "was installed. Try again; if it fails the same way, update voicecoach"
    )
    assert "official address" not in said and "--url" not in said
    # From an address the user gave: it may be another file; the way back is named.
    for where in ("/corrupt.zip", "/plain.zip"):
        with pytest.raises(DownloadError) as info:
            fetch(spec_for(GOOD), tmp_path, url=server + where)
        said = info.value.message
        assert said.startswith(
            f"the file from {server}{where} is not the tiny archive this voicecoach knows "
            f"({FOLDER}.zip), or it was damaged on the way: its SHA-256 checksum does not "
            "match; nothing was installed. Check the file or the address and try again, "
            "or leave --url out to download from the official address."
        )
    # One larger than the model is refused as soon as it is: the same words, and why.
    big = dataclasses.replace(spec_for(GOOD), size=100)
    with pytest.raises(DownloadError) as info:
        fetch(big, tmp_path, url=f"{server}/good.zip")
    assert info.value.message == (
        f"the file from {server}/good.zip is not the tiny archive this voicecoach knows "
        f"({FOLDER}.zip), or it was damaged on the way: it is larger than the 100 bytes "
        "of tiny; nothing was installed. Check the file or the address and try again, or "
        "leave --url out to download from the official address."
    )
    assert leftovers(tmp_path) == []


def test_a_work_folder_left_by_a_killed_fetch_is_removed_by_the_next_after_a_day(
    server: str, tmp_path: Path
) -> None:
    # A fetch killed (SIGKILL, a power cut) never ran its clean-up: its hidden work
    # folder, with the part of the archive it had, stayed for good.
    old, recent = tmp_path / f".{FOLDER}.part-old", tmp_path / f".{FOLDER}.part-recent"
    for work in (old, recent):
        work.mkdir()
        (work / f"{FOLDER}.zip").write_bytes(GOOD[:100])
    day_ago = time.time() - 25 * 3600
    for path in (old, old / f"{FOLDER}.zip"):
        os.utime(path, (day_ago, day_ago))
    fetch(spec_for(GOOD), tmp_path, url=f"{server}/good.zip")
    # One still being written (another fetch running) is left alone.
    assert leftovers(tmp_path) == [f".{FOLDER}.part-recent", FOLDER]


def slow_fetch(server: str, dest: Path) -> subprocess.Popen[bytes]:
    """Another process fetching the tiny model from /slow.zip into ``dest``, returned
    once its work folder holds the start of the archive."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from voicecoach.asr.download import ModelSpec, fetch; "
            f"fetch(ModelSpec('tiny', sys.argv[1], '0' * 64, 40_000_000, {FOLDER!r}), "
            "Path(sys.argv[2]), url=sys.argv[1])",
            f"{server}/slow.zip",
            str(dest),
        ],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30  # a guard against a hang, not a measurement
    while not any(p.stat().st_size for p in dest.glob(".*.part-*/*.zip")):
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.05)
    return child


def date_all(folder: Path, when: float) -> None:
    for path in (folder, *folder.iterdir()):
        os.utime(path, (when, when))


def test_a_work_folder_left_before_a_power_cut_is_removed_though_dated_in_the_future(
    server: str, tmp_path: Path
) -> None:
    # A Raspberry Pi has no battery-backed clock: after a power cut it starts at the
    # date saved at the last shutdown (or older), so the work folder of a fetch the cut
    # killed is dated days ahead. It was kept until the clock had caught up and a
    # day more (with no network, maybe never), the part archive filling the card.
    child = slow_fetch(server, tmp_path)
    child.kill()  # the power cut: no clean-up
    child.wait(timeout=30)
    [work] = tmp_path.glob(".*.part-*")
    date_all(work, time.time() + 3 * 24 * 3600)
    fetch(spec_for(GOOD), tmp_path, url=f"{server}/good.zip")
    assert leftovers(tmp_path) == [FOLDER]


def test_the_work_folder_of_a_fetch_still_running_is_left_alone_whatever_its_date(
    server: str, tmp_path: Path
) -> None:
    # The clock set forward (by hand, or a network cable plugged in once) while a fetch
    # runs dates its work folder over a day ago: a second fetch removed it under the
    # first, which then failed.
    child = slow_fetch(server, tmp_path)
    try:
        [work] = tmp_path.glob(".*.part-*")
        date_all(work, time.time() - 2 * 24 * 3600)
        fetch(spec_for(GOOD), tmp_path, url=f"{server}/good.zip")
        assert work.is_dir() and child.poll() is None
    finally:
        child.kill()
        child.wait(timeout=30)


def test_a_fetch_stopped_with_sigterm_removes_its_work_folder(server: str, tmp_path: Path) -> None:
    # Stopped by SIGTERM (a service stopped, `kill`), its clean-up never ran: the hidden
    # work folder with the part of the archive stayed in the models folder.
    child = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "models", "fetch", "vosk-small-en"]
        + ["--url", f"{server}/slow.zip", "--dest", str(tmp_path)],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30  # a guard against a hang, not a measurement
        while not any(p.stat().st_size for p in tmp_path.glob(".*.part-*/*.zip")):
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
    finally:
        child.kill()
    assert child.returncode != 0
    assert leftovers(tmp_path) == []


def test_connection_refused_is_a_download_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="check the network"):
        fetch(spec_for(GOOD), tmp_path, url="http://127.0.0.1:9/none.zip", timeout=5)
    assert leftovers(tmp_path) == []


def test_path_traversal_member_is_refused(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "models"
    with pytest.raises(DownloadError, match="outside its folder"):
        fetch(spec_for(EVIL), dest, url=f"{server}/evil.zip")  # the hash matches: only the
    assert leftovers(dest) == []  # member names make it unsafe
    assert not (tmp_path / "escaped.txt").exists()


def test_archive_without_the_model_or_not_a_zip_is_refused(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="not a valid zip"):
        fetch(spec_for(PLAIN), tmp_path, url=f"{server}/plain.zip")
    # Without conf/ the unpacked folder is not a model (served from a file: URL).
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(GOOD)) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            if "/conf/" not in item.filename:
                dst.writestr(item, src.read(item))
    data = buf.getvalue()
    archive = tmp_path / "no-conf.zip"
    archive.write_bytes(data)
    with pytest.raises(DownloadError, match="holds no Vosk model"):
        fetch(spec_for(data), tmp_path / "models", url=archive.as_uri())
    assert leftovers(tmp_path / "models") == []


def test_a_single_top_folder_of_another_name_is_accepted(tmp_path: Path) -> None:
    archive = tmp_path / "renamed.zip"
    archive.write_bytes(NOT_A_MODEL)
    path = fetch(spec_for(NOT_A_MODEL), tmp_path / "models", url=archive.as_uri())
    assert path == tmp_path / "models" / FOLDER and is_vosk_model(path)


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="voicecoach")
    models_cmd.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture()
def tiny_registered(monkeypatch: pytest.MonkeyPatch) -> ModelSpec:
    """The CLI's registry with the tiny test model in it (the registry is data)."""
    from voicecoach.asr import download

    spec = dataclasses.replace(spec_for(GOOD), name="vosk-tiny")
    monkeypatch.setitem(download.MODELS, "vosk-tiny", spec)
    return spec


def test_cli_fetch_end_to_end(
    server: str, tmp_path: Path, tiny_registered: ModelSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "models"
    assert (
        run_cli(
            ["models", "fetch", "vosk-tiny", "--dest", str(dest), "--url", f"{server}/good.zip"]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "\r" not in err  # not a terminal: whole lines (the bar is drawn on one)
    assert f"vosk-tiny: 100% ({len(GOOD) / 1e6:.1f} of {len(GOOD) / 1e6:.1f} MB)\n" in err
    assert f"installed vosk-tiny in {dest / FOLDER}" in err
    assert is_vosk_model(dest / FOLDER)

    assert run_cli(["models", "fetch", "vosk-tiny", "--dest", str(dest)]) == 0
    assert "already installed" in capsys.readouterr().err


def download_shown(stream: TextIO, total: int | None, size: int = 50_000_000) -> None:
    """Show a download of ``size`` bytes in 64 KiB blocks on a bar on ``stream``."""
    bar = models_cmd.DownloadBar(stream, "vosk-tiny")
    for done in range(0, size, 65_536):
        bar(done, total)
    bar(size, total)
    bar.finish()


def test_the_download_shows_a_few_whole_lines_where_it_is_not_on_a_terminal() -> None:
    # Piped into a file or a service's journal, the bar's "\r" frames (ten a second
    # over a slow download) piled up as one endless line.
    shown = io.StringIO()
    download_shown(shown, 50_000_000)
    assert "\r" not in shown.getvalue()
    lines = shown.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == [f"{p}%" for p in range(0, 101, 10)]
    assert lines[0] == "vosk-tiny: 0% (0.0 of 50.0 MB)"
    assert lines[-1] == "vosk-tiny: 100% (50.0 of 50.0 MB)"
    unknown = io.StringIO()
    download_shown(unknown, None, size=25_000_000)
    lines = unknown.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["0.0", "10.0", "20.1"]  # every 10 MB
    assert all(line.endswith(" MB (size unknown)") for line in lines)


def test_the_download_bar_is_redrawn_on_one_line_on_a_terminal() -> None:
    import pty
    import tty

    leader, follower = pty.openpty()
    tty.setraw(follower)  # what is written is what is read, "\n" as it is
    try:
        with open(follower, "w", closefd=False) as terminal:
            download_shown(terminal, 50_000_000)
        drawn = ""
        # The terminal passes it on in pieces, after a while: read up to the line's end.
        while not drawn.endswith("\n") and select.select([leader], [], [], 10)[0]:
            drawn += os.read(leader, 100_000).decode()
    finally:
        os.close(leader)
        os.close(follower)
    assert drawn.startswith("\rvosk-tiny [") and drawn.count("\n") == 1
    assert "] 100% 50.0/50.0 MB" in drawn.rsplit("\r", 1)[1]


def test_cli_failed_fetch_does_not_clobber_the_installed_model(
    server: str, tmp_path: Path, tiny_registered: ModelSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "models"
    run_cli(["models", "fetch", "vosk-tiny", "--dest", str(dest), "--url", f"{server}/good.zip"])
    before = sorted(p.relative_to(dest) for p in dest.rglob("*"))
    for bad in ("/corrupt.zip", "/drop.zip"):
        with pytest.raises(DownloadError) as info:
            run_cli(
                [
                    "models",
                    "fetch",
                    "vosk-tiny",
                    "--dest",
                    str(dest),
                    "--url",
                    server + bad,
                    "--force",
                ]
            )
        assert info.value.exit_code == 7
        err = capsys.readouterr().err
        assert err.endswith("\n")  # the bar's line is ended before the error is printed
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == before
    assert is_vosk_model(dest / FOLDER)


def test_cli_list(
    tmp_path: Path,
    tiny_registered: ModelSpec,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VOICECOACH_VOSK_MODEL", str(tmp_path / "nowhere"))
    assert run_cli(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "vosk-small-en:" in out and "vosk-tiny:" in out
    assert "not installed: voicecoach models fetch vosk-tiny" in out
    assert "no Vosk model at" in out and "$VOICECOACH_VOSK_MODEL" in out
    assert "PocketSphinx model: ships in the pocketsphinx package" in out


def test_a_path_to_the_archive_is_taken_as_the_user_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "model.zip").write_bytes(GOOD)
    monkeypatch.chdir(tmp_path)
    path = fetch(spec_for(GOOD), tmp_path / "models", url="downloads/model.zip")
    assert is_vosk_model(path)


def test_a_url_that_is_neither_an_address_nor_a_file_says_so(tmp_path: Path) -> None:
    for where in (str(tmp_path / "missing.zip"), "example.org/model.zip"):
        with pytest.raises(DownloadError, match="neither a URL .* nor an archive"):
            fetch(spec_for(GOOD), tmp_path / "models", url=where)
    assert leftovers(tmp_path / "models") == []


def test_a_folder_given_as_the_archive_says_what_to_give(tmp_path: Path) -> None:
    # Both were "neither a URL ... nor an archive on this machine", though both are there.
    folder = tmp_path / "downloads"
    folder.mkdir()
    with pytest.raises(DownloadError, match="downloads is a folder: give the model's .zip file"):
        fetch(spec_for(GOOD), tmp_path / "models", url=str(folder))
    with zipfile.ZipFile(io.BytesIO(GOOD)) as z:
        z.extractall(folder)
    unpacked = folder / FOLDER
    assert is_vosk_model(unpacked)
    with pytest.raises(DownloadError, match=f"VOICECOACH_VOSK_MODEL={unpacked}, or give its"):
        fetch(spec_for(GOOD), tmp_path / "models", url=str(unpacked))
    assert leftovers(tmp_path / "models") == []


def test_cli_fetch_does_not_replace_a_folder_that_is_not_a_model_unless_forced(
    server: str, tmp_path: Path, tiny_registered: ModelSpec
) -> None:
    # The CLI passed force=True to fetch() whatever was asked, so a half-copied model
    # or the user's own folder of that name was deleted and replaced without a word.
    dest = tmp_path / "models"
    (dest / FOLDER).mkdir(parents=True)
    (dest / FOLDER / "notes.txt").write_text("mine")
    fetch_args = [
        "models",
        "fetch",
        "vosk-tiny",
        "--dest",
        str(dest),
        "--url",
        f"{server}/good.zip",
    ]
    with pytest.raises(DownloadError, match="exists but is not a Vosk model") as info:
        run_cli(fetch_args)
    assert "--force" in info.value.message
    assert (dest / FOLDER / "notes.txt").read_text() == "mine"
    assert run_cli([*fetch_args, "--force"]) == 0
    assert is_vosk_model(dest / FOLDER) and not (dest / FOLDER / "notes.txt").exists()


def test_a_full_disk_is_reported_as_the_disk_s_fault_not_the_network_s(
    server: str, tmp_path: Path
) -> None:
    """A file size limit (``ulimit -f``, in a child process) fails the writes as a full
    disk does; the error said "check the network and try again"."""
    limit = len(GOOD) // 2
    spec = spec_for(GOOD)
    child = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from voicecoach.asr.download import ModelSpec, fetch\n"
        "from voicecoach.errors import DownloadError\n"
        "spec = ModelSpec('tiny', sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])\n"
        "limit = int(sys.argv[6])\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
        "try:\n"
        "    fetch(spec, Path(sys.argv[5]))\n"
        "except DownloadError as err:\n"
        "    print(err.message)\n"
    )
    dest = tmp_path / "models"
    proc = subprocess.run(
        [sys.executable, "-c", child, f"{server}/good.zip", spec.sha256, str(spec.size)]
        + [FOLDER, str(dest), str(limit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "cannot save the download (File too large): is the disk full?" in proc.stdout
    assert "--dest" in proc.stdout and "network" not in proc.stdout
    assert leftovers(dest) == []


def test_cli_list_does_not_call_a_model_that_cannot_load_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Laid out as a model, but not one: "Vosk model in use: ..." was printed while the
    # coach (and `voicecoach check`) fell back to PocketSphinx.
    broken = tmp_path / "broken"
    (broken / "am").mkdir(parents=True)
    (broken / "conf").mkdir()
    (broken / "am" / "final.mdl").write_bytes(b"not a kaldi model" * 100)
    monkeypatch.setenv("VOICECOACH_VOSK_MODEL", str(broken))
    assert run_cli(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "in use" not in out
    assert f"Vosk model: the Vosk model in {broken} cannot be loaded" in out
