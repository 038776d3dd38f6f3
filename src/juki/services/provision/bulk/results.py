"""Where result files live on the server, and how one is written: atomically, after the commit.

The 照会結果ファイル is an output the law asks for (ARCHITECTURE §2: outputs go to the designated output
folder, mode 0600). It is written next to its final name (``result-<job>.csv.part``), flushed and
synced, and renamed to ``result-<job>.csv`` only once the job's provision records have committed
(:meth:`ResultStore.publish`): a reader never sees a half-written file, and a crash before the rename
leaves no result that the records do not back.

Encoding: the request's. CP932 cannot hold every character of the register (外字, IVS): such a
character is written as 〓 (geta, the customary mark of a character that cannot be shown) and the
row's ``note`` column says so, rather than the whole job failing or the character silently changing.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from juki.config import Settings
from juki.domain.records import FileKind

__all__ = ["GETA", "ResultStore", "ResultWriter", "result_directory"]

GETA: Final = "〓"
_GETA_NOTE: Final = "表せない文字を〓で表記"


def result_directory(settings: Settings) -> Path:
    """``<JUKI_DATA_DIR>/provision/results``: the designated output folder of bulk results."""
    return settings.data_dir / "provision" / "results"


class ResultWriter:
    """Writes one result file's rows (CSV lines from PostgreSQL, UTF-8) in the target encoding."""

    def __init__(self, out: BinaryIO, encoding: str) -> None:
        self._out = out
        self._encoding = encoding
        self._hash = hashlib.sha256()
        self.rows = 0
        self.replaced = 0

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._hash.update(data)

    def header(self, line: str) -> None:
        self._write(line.encode(self._encoding))

    def rows_from(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        """Rows as COPY … TO STDOUT (FORMAT csv) sends them: one row per chunk, the note column last."""
        utf8 = self._encoding == "utf-8"
        for chunk in chunks:
            data = bytes(chunk)
            self.rows += 1
            if utf8:
                self._write(data)
                continue
            text = data.decode("utf-8")
            try:
                self._write(text.encode(self._encoding))
            except UnicodeEncodeError:
                self.replaced += 1
                body = text.rstrip("\n")
                # The note column is last and empty here (the SQL leaves it empty): append the note.
                self._write((body + _GETA_NOTE + "\n").encode(self._encoding, errors="replace_geta"))

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def _geta(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeEncodeError)
    return GETA * (error.end - error.start), error.end


codecs.register_error("replace_geta", _geta)


@dataclass(frozen=True)
class ResultStore:
    """The result files of one file's bulk jobs: ``<directory>/<file>/result-<job>.csv``."""

    directory: Path

    def path(self, file: FileKind, job_id: int) -> Path:
        return self.directory / file.value / f"result-{job_id}.csv"

    def part_path(self, file: FileKind, job_id: int) -> Path:
        return self.path(file, job_id).with_suffix(".csv.part")

    def open_part(self, file: FileKind, job_id: int) -> BinaryIO:
        """A new, private (0600) partial file for the job's result."""
        part = self.part_path(file, job_id)
        part.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        return os.fdopen(fd, "wb")

    @staticmethod
    def sync(out: BinaryIO) -> None:
        out.flush()
        os.fsync(out.fileno())

    def publish(self, file: FileKind, job_id: int) -> Path:
        """Rename the synced partial file to its final name (after the records committed)."""
        final = self.path(file, job_id)
        os.replace(self.part_path(file, job_id), final)
        directory = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return final

    def discard(self, file: FileKind, job_id: int) -> None:
        """Remove a partial file of a job that did not commit."""
        self.part_path(file, job_id).unlink(missing_ok=True)
