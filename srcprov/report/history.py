"""The commits reachable from a revision, with the dates and (mailmapped) authors the report needs."""

from __future__ import annotations

from dataclasses import dataclass

from srcprov.git import Repo


@dataclass(frozen=True)
class CommitRow:
    """One commit as `git log` shows it; author name and email with `.mailmap` applied, as blame does."""

    id: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_time: int
    committer_time: int

    @property
    def author(self) -> str:
        """`Name <email>`, the key authors are counted by."""
        return f"{self.author_name} <{self.author_email}>"

    def time(self, date_field: str) -> int:
        """The author or committer time, as `--date` chooses."""
        return self.committer_time if date_field == "committer" else self.author_time


def list_commits(repo: Repo, commit_id: str) -> list[CommitRow]:
    """Every commit reachable from COMMIT_ID, children before parents (`git log --topo-order`)."""
    # %aN/%aE apply the mailmap from the same places git blame reads it (work tree, mailmap.file/blob).
    out = repo.git("log", "--topo-order", "--format=%H%x00%P%x00%aN%x00%aE%x00%at%x00%ct", commit_id, "--").stdout
    rows = []
    for line in out.split(b"\n"):
        if not line:
            continue
        cid, parents, name, email, at, ct = line.split(b"\x00")
        rows.append(
            CommitRow(
                id=cid.decode(),
                parents=tuple(parents.decode().split()),
                author_name=name.decode("utf-8", "backslashreplace"),
                author_email=email.decode("utf-8", "backslashreplace"),
                author_time=int(at),
                committer_time=int(ct),
            )
        )
    return rows
