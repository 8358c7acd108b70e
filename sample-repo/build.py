"""Build dist/tinyledger.tar.gz so that one commit always gives the same bytes (a reproducible build).

What would make two builds differ, and what this script does about it:
- file times: every entry gets SOURCE_DATE_EPOCH (default: the commit's time), not the time of the checkout;
- the order of a directory listing: entries are sorted by name;
- who built it: owner and group are 0/root, modes are 0644;
- gzip's header: it stores a time and the file name, so both are left empty (what `gzip -n` does).
"""

import gzip
import io
import os
import subprocess
import tarfile
from pathlib import Path

epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or subprocess.run(
    ["git", "log", "-1", "--format=%ct"], capture_output=True, text=True, check=True).stdout)
files = sorted(["README.md", *(str(p) for p in Path("tinyledger").glob("*.py"))])

buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for name in files:
        data = Path(name).read_bytes()
        info = tarfile.TarInfo(f"tinyledger-0.1/{name}")
        info.size, info.mtime, info.mode = len(data), epoch, 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(data))

Path("dist").mkdir(exist_ok=True)
with open("dist/tinyledger.tar.gz", "wb") as out, gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
    gz.write(buf.getvalue())
print(f"built dist/tinyledger.tar.gz from {len(files)} files (SOURCE_DATE_EPOCH={epoch})")
