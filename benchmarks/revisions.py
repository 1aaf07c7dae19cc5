"""An earlier revision's files, so a benchmark can measure it beside the working tree in the same run."""

from __future__ import annotations

import contextlib
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def revision_tree(revision: str) -> Iterator[Path]:
    """The files of `revision` (any git revision) in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="ocp-baseline-") as folder:
        archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=REPO, check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)
