"""Files srcprov ships: inside the installed package (`_data/`), or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

from srcprov.errors import SrcprovError


def data_dir(name: str, probe: str) -> Path:
    """The shipped directory NAME (`hooks`, `sample-repo`), recognised by its file PROBE."""
    here = Path(__file__).resolve().parent
    for d in (here / "_data" / name, here.parent / name):
        if (d / probe).is_file():
            return d
    raise SrcprovError(f"{name}/ is missing from this installation of srcprov")
