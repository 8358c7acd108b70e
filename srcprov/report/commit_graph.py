"""A commit-graph with changed-path Bloom filters that only srcprov's blames read.

git blame is about twice as fast with one (see COMMIT_GRAPH_HINT), but writing it into the repository
changes the repository. This one lives in the report's cache, in an object directory that holds nothing
but the graph, which git reads through `GIT_ALTERNATE_OBJECT_DIRECTORIES` when the repository has no
graph of its own. A graph changes how fast git walks history, never what blame answers; a graph that
misses newer commits is still used (git parses those commits the usual way).
"""

from __future__ import annotations

from pathlib import Path

from srcprov.errors import SrcprovError
from srcprov.git import Repo
from srcprov.report.cache import ReportCache

# Below this many blames the graph is not worth writing; a graph missing more than REWRITE_SHARE of the
# history's commits (or at least REWRITE_MIN of them) is written again.
MIN_BLAMES = 64
REWRITE_SHARE = 0.1
REWRITE_MIN = 100


def _has_own_graph(repo: Repo) -> bool:
    info = repo.common_dir / "objects" / "info"
    return (info / "commit-graph").exists() or (info / "commit-graphs").is_dir()


def blame_env(repo: Repo, cache: ReportCache | None, tip: str, ncommits: int, nblames: int) -> dict[str, str] | None:
    """Environment variables that point git blame at the private graph of TIP's history (writing it if
    missing or stale), or None where it would not help or cannot be used."""
    if cache is None or cache.root is None or not cache.usable_start_points or nblames < MIN_BLAMES:
        return None
    if _has_own_graph(repo):
        return None  # git reads the repository's own graph first; ours would never be seen
    objects = cache.root / "graph" / "objects"
    env = {"GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects)}
    marker = cache.root / "graph" / "written"
    covered = _covered(marker)
    if covered is not None and (objects / "info" / "commit-graph").exists() and ncommits - covered <= max(REWRITE_MIN, REWRITE_SHARE * ncommits):
        return env
    try:
        (objects / "info").mkdir(parents=True, exist_ok=True)
        (objects / "pack").mkdir(exist_ok=True)
        done = repo.git("commit-graph", "write", "--no-progress", "--changed-paths", "--object-dir", str(objects),
                        "--stdin-commits", input=tip.encode() + b"\n", env=env, check=False)
        if done.returncode != 0 or not (objects / "info" / "commit-graph").exists():
            return None  # an old git, a concurrent writer holding the lock: blame without it
        marker.write_text(f"{ncommits}\n")
    except (OSError, SrcprovError):
        return None
    return env


def _covered(marker: Path) -> int | None:
    try:
        return int(marker.read_text().strip())
    except (OSError, ValueError):
        return None
