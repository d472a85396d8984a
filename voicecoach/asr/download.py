"""Downloading speech models: a registry of known archives and a careful fetch.

:func:`fetch` never leaves a half model where :func:`~voicecoach.asr.vosk.find_vosk_model`
looks: the archive is downloaded and unpacked in a hidden work folder next to the
destination, checked (size, SHA-256, safe member names, Vosk layout) and only then
renamed into place. Any failure removes the work folder and raises
:class:`~voicecoach.errors.DownloadError`; an installed model is replaced only by a
complete, verified one.

Nothing here runs unless asked: the network is touched only by :func:`fetch`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..errors import DownloadError
from ..paths import data_dir, project_models_dir
from ..processes import process_identity, still_running
from .vosk import is_vosk_model

log = logging.getLogger(__name__)

Progress = Callable[[int, "int | None"], None]
"""Called with (bytes received so far, total bytes or None when unknown)."""

_BLOCK = 64 * 1024
_MAX_UNPACKED = 2 * 1024**3  # refuse archives that claim to unpack to more than this


@dataclass(frozen=True)
class ModelSpec:
    """A downloadable model archive."""

    name: str
    """Short name used on the command line (``vosk-small-en``)."""
    url: str
    """Where the zip is published."""
    sha256: str
    """Hex SHA-256 of the zip; the download is refused if it differs."""
    size: int
    """Size of the zip in bytes (for the progress bar and a sanity limit)."""
    folder: str
    """The folder the zip unpacks to, and the installed model's folder name."""
    description: str = ""
    """One line for ``voicecoach models list``."""


MODELS: dict[str, ModelSpec] = {
    "vosk-small-en": ModelSpec(
        name="vosk-small-en",
        url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
        # Pinned from several independent projects that pin this exact archive (e.g. the
        # AUR vosk-api PKGBUILD, numen's get-model.sh), all agreeing; not re-downloaded
        # here. alphacephei publishes no digest itself.
        sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
        size=41_205_931,
        folder="vosk-model-small-en-us-0.15",
        description="Vosk small US English model (Apache-2.0)",
    ),
}


def default_models_dir() -> Path:
    """Where models go by default: the checkout's ``models/`` when it exists and is
    writable, else ``models/`` in the user data folder."""
    project = project_models_dir()
    if project.is_dir() and os.access(project, os.W_OK | os.X_OK):
        return project
    return data_dir() / "models"


def fetch(
    spec: ModelSpec,
    dest_dir: Path,
    *,
    url: str | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
    force: bool = False,
) -> Path:
    """Download, verify and unpack ``spec`` into ``dest_dir / spec.folder``; its path.

    ``url`` overrides the published address (a mirror, a local file server); the
    archive must still match ``spec.sha256``. An installed model is kept as it is
    unless ``force``. ``timeout`` applies to connecting and to each read.
    """
    if url is not None:
        url = archive_url(url)
    target = dest_dir / spec.folder
    if is_vosk_model(target) and not force:
        log.info("%s is already installed in %s", spec.name, target)
        return target
    if target.exists() and not is_vosk_model(target) and not force:
        raise DownloadError(
            f"{target} exists but is not a Vosk model: move it away, or use --force to replace it"
        )
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale_work(dest_dir, spec)
        work = Path(tempfile.mkdtemp(prefix=f".{spec.folder}.part-", dir=dest_dir))
    except OSError as err:
        raise DownloadError(
            f"cannot write to {dest_dir} ({err.strerror or err}): choose another folder with --dest"
        ) from err
    try:
        # It names this fetch, so a later one tells it from one cut off; without it (a
        # full disk: the archive fails next) the folder is judged by its age.
        with contextlib.suppress(OSError):
            (work / OWNER).write_text(f"{os.getpid()} {process_identity() or ''}\n")
        archive = work / f"{spec.folder}.zip"
        _download(url or spec.url, archive, spec, progress, timeout)
        unpacked = _unpack(archive, work / "unpacked", spec)
        archive.unlink()
        _install(unpacked, target, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("installed %s in %s", spec.name, target)
    return target


OWNER = "owner"
"""The file in a work folder naming the fetch that made it: its pid and
:func:`~voicecoach.processes.process_identity`."""

STALE_WORK = 24 * 3600.0
"""Seconds after which a work folder that names no fetch (made by an older voicecoach)
is removed by the next fetch, its fetch taken for killed. A day, so that a fetch still
running on a slow line is never touched."""


def _fetch_gone(work: Path) -> bool | None:
    """Whether the fetch that made ``work`` was cut off, from its :data:`OWNER` file;
    None when the folder names no fetch."""
    try:
        pid, _, identity = (work / OWNER).read_text().strip().partition(" ")
        return not still_running(int(pid), identity or None)
    except (OSError, ValueError):
        return None


def _remove_stale_work(dest_dir: Path, spec: ModelSpec) -> None:
    """Remove the hidden work folders of fetches of ``spec`` that were killed (SIGKILL,
    a power cut: their own clean-up never ran).

    A folder's fetch is gone when its process no longer runs, which the date of the
    folder cannot tell on a machine without a battery-backed clock (a Raspberry Pi
    offline): after a power cut the clock starts behind, dating the folder of a fetch
    cut off in the future, and a clock set forward ages the folder of one still at work.
    Only a folder that names no fetch is judged by its age (:data:`STALE_WORK`).
    """
    now = time.time()
    for old in dest_dir.glob(f".{spec.folder}.part-*"):
        try:
            if not old.is_dir():
                continue
            gone = _fetch_gone(old)
            if gone is None:
                # The archive inside is written all along: the newest time counts.
                touched = max([old.stat().st_mtime] + [f.stat().st_mtime for f in old.iterdir()])
                gone = now - touched > STALE_WORK
            if gone:
                log.info("removing %s, left by a fetch that was cut off", old)
                shutil.rmtree(old, ignore_errors=True)
        except OSError as err:
            log.debug("cannot check %s: %s", old, err)


def archive_url(where: str) -> str:
    """``where`` as a URL: one with a scheme as it is, a path to a local archive as a
    ``file://`` URL (so ``--url ~/Downloads/model.zip`` works as the user meant)."""
    if "://" in where:
        return where
    path = Path(where).expanduser()
    if path.is_dir():
        if is_vosk_model(path):  # already unpacked: nothing to fetch
            raise DownloadError(
                f"{where} is a Vosk model already unpacked: use it as it is, with "
                f"VOICECOACH_VOSK_MODEL={path.resolve()}, or give its .zip to install it"
            )
        raise DownloadError(f"{where} is a folder: give the model's .zip file, or its address")
    if not path.is_file():
        raise DownloadError(
            f"{where} is neither a URL (http://..., https://..., file://...) nor an "
            "archive on this machine: give the model's .zip, or its address"
        )
    return path.resolve().as_uri()


def _download(
    url: str, path: Path, spec: ModelSpec, progress: Progress | None, timeout: float
) -> None:
    """Stream ``url`` into ``path``, checking length and SHA-256."""
    digest = hashlib.sha256()
    received = 0
    request = urllib.request.Request(url, headers={"User-Agent": "voicecoach"})
    try:
        # Unbuffered: a full disk fails a write in _save, not the file's closing.
        with (
            urllib.request.urlopen(request, timeout=timeout) as response,
            path.open("wb", buffering=0) as out,
        ):
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            total = expected if expected is not None else (spec.size or None)
            if progress is not None:
                progress(0, total)
            while True:
                block = response.read(_BLOCK)
                if not block:
                    break
                received += len(block)
                if spec.size and received > spec.size:
                    raise _not_the_archive(
                        spec, url, f"it is larger than the {spec.size} bytes of {spec.name}"
                    )
                digest.update(block)
                _save(out, block)
                if progress is not None:
                    progress(received, total)
    except DownloadError:
        raise
    except urllib.error.HTTPError as err:
        raise DownloadError(
            f"downloading {url} failed: HTTP {err.code} {err.reason}; nothing was installed"
        ) from err
    except ValueError as err:  # urllib's "unknown url type" and the like
        raise DownloadError(
            f"{url} is not an address to download from ({err}): give an http://, "
            "https:// or file:// URL, or a path to the archive; nothing was installed"
        ) from err
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        reason = getattr(err, "reason", None) or err
        raise DownloadError(
            f"downloading {url} failed after {received} bytes ({reason}): check the "
            "network and try again, or copy an unzipped model folder in by hand "
            "(see models/README.md); nothing was installed"
        ) from err
    if expected is not None and received != expected:
        raise DownloadError(
            f"the connection to {url} dropped after {received} of {expected} bytes: "
            "try again; nothing was installed"
        )
    got = digest.hexdigest()
    if got != spec.sha256.lower():
        raise _not_the_archive(
            spec,
            url,
            "its SHA-256 checksum does not match",
            f" SHA-256: got {got}, expected {spec.sha256}.",
        )


def _not_the_archive(spec: ModelSpec, url: str, why: str, detail: str = "") -> DownloadError:
    """The error for a download that is not the archive of ``spec``: damaged on the
    way, or another file. What to do depends on whose address it came from."""
    if url == spec.url:
        return DownloadError(
            f"the download of {spec.name} from {url} is damaged, or the file there is not "
            f"the one this voicecoach knows: {why}; nothing was installed. Try again; if it "
            "fails the same way, update voicecoach (the file at that address may have "
            f"changed).{detail}"
        )
    return DownloadError(
        f"the file from {url} is not the {spec.name} archive this voicecoach knows "
        f"({spec.folder}.zip), or it was damaged on the way: {why}; nothing was installed. "
        "Check the file or the address and try again, or leave --url out to download "
        f"from the official address.{detail}"
    )


def _save(out: BinaryIO, block: bytes) -> None:
    """Write a downloaded block to the (unbuffered) file: a failure there (a full disk,
    a file size limit) is the disk's, and must not be reported as the network's."""
    try:
        view = memoryview(block)
        while view:
            view = view[out.write(view) :]
    except OSError as err:
        raise DownloadError(
            f"cannot save the download ({err.strerror or err}): is the disk full? Free "
            "some space or choose another folder with --dest; nothing was installed"
        ) from err


def _safe_member(name: str) -> bool:
    """True for a relative archive path that stays inside the folder it unpacks to."""
    if not name or "\\" in name or name.startswith("/") or ":" in name.split("/")[0]:
        return False
    return ".." not in PurePosixPath(name).parts


def _unpack(archive: Path, into: Path, spec: ModelSpec) -> Path:
    """Unpack ``archive`` into ``into`` after checking every member; the model folder."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            bad = [m.filename for m in members if not _safe_member(m.filename)]
            if bad:
                raise DownloadError(
                    f"refusing the archive of {spec.name}: member {bad[0]!r} would unpack "
                    "outside its folder; nothing was installed"
                )
            links = [m.filename for m in members if (m.external_attr >> 16) & 0o170000 == 0o120000]
            if links:
                raise DownloadError(
                    f"refusing the archive of {spec.name}: it contains a symbolic link "
                    f"({links[0]!r}); nothing was installed"
                )
            if sum(m.file_size for m in members) > _MAX_UNPACKED:
                raise DownloadError(
                    f"refusing the archive of {spec.name}: it unpacks to more than "
                    f"{_MAX_UNPACKED // 1024**3} GiB; nothing was installed"
                )
            zf.extractall(into)
    except zipfile.BadZipFile as err:
        raise DownloadError(
            f"the archive of {spec.name} is not a valid zip ({err}); nothing was installed"
        ) from err
    except OSError as err:
        raise DownloadError(
            f"unpacking {spec.name} failed ({err.strerror or err}): is the disk full? "
            "Nothing was installed"
        ) from err
    candidates = [into / spec.folder, into]
    subdirs = [p for p in into.iterdir() if p.is_dir()] if into.is_dir() else []
    if len(subdirs) == 1:
        candidates.append(subdirs[0])
    for folder in candidates:
        if is_vosk_model(folder):
            return folder
    raise DownloadError(
        f"the archive of {spec.name} holds no Vosk model (no am/final.mdl and conf/); "
        "nothing was installed"
    )


def _install(unpacked: Path, target: Path, work: Path) -> None:
    """Rename ``unpacked`` to ``target``; an old ``target`` is moved into ``work`` first
    (same folder, so both renames are atomic) and restored if the swap fails."""
    old = work / "previous"
    moved = False
    try:
        if target.exists():
            os.replace(target, old)
            moved = True
        os.replace(unpacked, target)
    except OSError as err:
        if moved and not target.exists():
            os.replace(old, target)
        raise DownloadError(
            f"cannot move the model into {target} ({err.strerror or err}); nothing was changed"
        ) from err
