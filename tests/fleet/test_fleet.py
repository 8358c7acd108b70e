"""`srcprov fleet report` end to end: real repositories, a LocalCluster, and a real scheduler with two workers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from fleet_kit import AS_OF, DaskProcesses, Fleet, fleet_json, report_json, worker_env
from report_histories import make_history

from testing.run import run_srcprov, srcprov_argv

SECTIONS = ("age", "churn", "origin", "review")


def assert_row_is_the_report(row: dict, single: dict) -> None:
    """A repository's row in the fleet report holds its report's sections: whole, or for the two that grow
    with its history, its top ten authors (and how many there are) and coverage without the weekly rate."""
    assert row["revision"] == single["revision"]
    for section in SECTIONS:
        assert row[section] == single[section], section
    assert row["authors"] == single["authors"][:10] and row["authorCount"] == len(single["authors"])
    assert row["coverage"] == {k: v for k, v in single["coverage"].items() if k != "weekly"}


@pytest.fixture(scope="module")
def local_run(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    """The fleet on a LocalCluster of two workers: (document, stderr, the workers' clone cache)."""
    cache = tmp_path_factory.mktemp("local-cache")
    doc, proc = fleet_json(fleet.root, "--repos", str(fleet.list_file), "--workers", "2", env=worker_env(cache))
    return doc, proc.stderr, cache


def _expected(fleet: Fleet) -> dict[str, dict]:
    return {name: report_json(path) for name, path in fleet.good.items()}


def test_local_cluster_reports_every_repository_and_lists_the_broken(fleet: Fleet, local_run: tuple[dict, str, Path]) -> None:
    doc, stderr, cache = local_run
    assert doc["repositories"] == {"listed": 9, "reported": 4, "failed": 5}  # repos/signed listed twice counts once
    assert [r["name"] for r in doc["perRepository"]] == list(fleet.good)  # list order
    failed = {f["name"]: f["error"] for f in doc["failed"]}
    assert set(failed) == set(fleet.broken)
    for name, word in fleet.broken.items():
        assert word in failed[name], (name, failed[name])
        assert f"srcprov: warning: {name}: could not be reported" in stderr
    # Credentials in a URL are never shown, logged or named after.
    out = json.dumps(doc) + stderr
    assert "s3cr3t" not in out and "fleet-user" not in out
    assert not any("s3cr3t" in p.name for p in cache.rglob("*"))
    for cfg in cache.glob("*.git/config"):
        assert "s3cr3t" not in cfg.read_text() and "url" not in cfg.read_text()
    # The file:// entry was cloned into the workers' cache.
    assert [p.name for p in cache.glob("gen-b-*.git")]
    # Repositories without a policy say what that costs; the signed one has none to say.
    warned = {r["name"]: r["warnings"] for r in doc["perRepository"]}
    assert warned["repos/signed"] == []
    assert all("coverage counts every commit as missing" in w[0] for n, w in warned.items() if n != "repos/signed")
    assert "\r" not in stderr  # no progress bar when stderr is not a terminal


def test_fleet_totals_equal_the_sum_of_the_repositories_reports(fleet: Fleet, local_run: tuple[dict, str, Path]) -> None:
    doc, _, _ = local_run
    expected = _expected(fleet)
    rows = {r["name"]: r for r in doc["perRepository"]}
    for name, single in expected.items():
        row = rows[name]
        assert_row_is_the_report(row, single)
        for k in ("files", "lines", "commits"):
            assert row["totals"][k] == single["totals"][k]
        assert row["totals"]["binaryFiles"] == len(single["totals"]["binaryFiles"])
    # The signed repository's commits verify; the others' are missing.
    assert expected["repos/signed"]["coverage"]["verifiedLines"] > 0
    assert doc["coverage"]["verifiedLines"] == expected["repos/signed"]["coverage"]["verifiedLines"]

    singles = list(expected.values())
    t = doc["totals"]
    for k in ("files", "lines", "commits"):
        assert t[k] == sum(s["totals"][k] for s in singles)
    assert t["binaryFiles"] == sum(len(s["totals"]["binaryFiles"]) for s in singles)
    assert t["symlinks"] == sum(len(s["totals"]["symlinks"]) for s in singles)
    assert t["submodules"] == sum(len(s["totals"]["submodules"]) for s in singles)
    assert [a["lines"] for a in doc["age"]] == [sum(s["age"][i]["lines"] for s in singles) for i in range(len(doc["age"]))]
    assert sum(a["lines"] for a in doc["age"]) == t["lines"] > 0
    for w, c in doc["churn"].items():
        for k in ("commits", "insertions", "deletions"):
            assert c[k] == sum(s["churn"][w][k] for s in singles)

    def summed(section: str, key: str) -> Counter[str]:
        total: Counter[str] = Counter()
        for s in singles:
            total.update({x[key]: x["lines"] for x in s[section]})
        return total

    assert {a["author"]: a["lines"] for a in doc["authors"]} == summed("authors", "author")
    assert {o["origin"]: o["lines"] for o in doc["origin"]} == summed("origin", "origin")
    statuses: Counter[str] = Counter()
    weeks: Counter[str] = Counter()
    for s in singles:
        statuses.update(s["coverage"]["commits"])
        weeks.update({w["week"]: w["commits"] for w in s["coverage"]["weekly"]})
    assert doc["coverage"]["commits"] == dict(statuses)
    assert {w["week"]: w["commits"] for w in doc["coverage"]["weekly"]} == dict(weeks)
    verified_weeks: Counter[str] = Counter()
    for s in singles:
        verified_weeks.update({w["week"]: w["verified"] for w in s["coverage"]["weekly"]})
    assert {w["week"]: w["verified"] for w in doc["coverage"]["weekly"]} == dict(verified_weeks)
    assert doc["review"]["reviewedLines"] == sum(s["review"]["reviewedLines"] for s in singles)
    assert doc["asOf"] == AS_OF


def steady(doc: dict) -> dict:
    """DOC with what the clock puts in a failed clone's message (curl's "after 0 ms") made constant: under
    load the same failure takes a millisecond more."""
    failed = [{**f, "error": re.sub(r"after [0-9]+ ms", "after N ms", f["error"])} for f in doc["failed"]]
    return {**doc, "failed": failed}


def test_a_scheduler_and_two_worker_processes_give_the_same_report(fleet: Fleet, local_run: tuple[dict, str, Path],
                                                                    tmp_path: Path) -> None:
    local, _, _ = local_run
    dask = DaskProcesses(tmp_path, workers=2)
    try:
        doc, proc = fleet_json(fleet.root, "--repos", str(fleet.list_file), "--scheduler", dask.address)
        assert steady(doc) == steady(local)
        assert "s3cr3t" not in proc.stderr
        assert [p.name for p in dask.cache.glob("gen-b-*.git")]  # cloned into the workers' own cache
    finally:
        dask.stop()
    assert all(p.poll() is not None for p in dask.procs)


def test_a_worker_killed_mid_task_is_retried_and_its_repository_reported(tmp_path: Path) -> None:
    slow = make_history(tmp_path / "slow.git", 5, 400, nfiles=50, line_range=(10, 120))
    small = [make_history(tmp_path / f"small{i}.git", 20 + i, 15) for i in range(2)]
    listing = tmp_path / "fleet.txt"
    listing.write_text("\n".join(str(p) for p in [*small, slow]) + "\n")
    dask = DaskProcesses(tmp_path, workers=2)
    try:
        proc = subprocess.Popen(srcprov_argv("fleet", "report", "--repos", str(listing), "--scheduler", dask.address,
                                             "--as-of", AS_OF, "--json"),
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        killed = None
        with dask.client() as client:
            deadline = time.time() + 120
            while killed is None and time.time() < deadline and proc.poll() is None:
                for addr, keys in client.processing().items():
                    if any(str(k).startswith("srcprov-fleet-2-") for k in keys):
                        killed = dask.worker_pids()[addr]
                        os.kill(killed, signal.SIGKILL)
                        break
                time.sleep(0.02)
        out, err = proc.communicate(timeout=300)
        assert killed is not None, "the slow repository's task was never seen running"
        assert proc.returncode == 0, err
    finally:
        dask.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)
    doc = json.loads(out)
    assert doc["failed"] == [] and doc["repositories"]["reported"] == 3
    assert_row_is_the_report(doc["perRepository"][2], report_json(slow))


def test_a_directory_of_repositories_as_an_html_page(fleet: Fleet, tmp_path: Path) -> None:
    page = tmp_path / "fleet.html"
    run_srcprov(fleet.root, "fleet", "report", "--repos", str(fleet.root / "repos"), "--workers", "2",
                "--as-of", AS_OF, "--format", "html", "--output", str(page), check=0, timeout=300)
    html = page.read_text()
    # Every repository below the directory (not-a-repo is no repository; the dangling one fails).
    for name in ("signed", "gen-a.git", "gen-b.git", "plain"):
        assert f"<tr class=\"repo\"><td title=\"{fleet.root / 'repos' / name}\">{name}</td>" in html
    assert html.count("<tr class=\"repo\">") == 4 and html.count('<tr class="failed">') == 1
    assert html.index('class="failed"') < html.index(">plain</td>")
    assert html.index(">plain</td>") < html.index(">signed</td>")  # the verified one needs attention least
    assert "<script" not in html and "src=" not in html and "href=" not in html


def test_a_fleet_of_which_nothing_could_be_reported_exits_2_after_listing_why(tmp_path: Path) -> None:
    (tmp_path / "plain-dir").mkdir()
    listing = tmp_path / "fleet.txt"
    listing.write_text("plain-dir\nmissing\n")
    proc = run_srcprov(tmp_path, "fleet", "report", "--repos", str(listing), "--workers", "1", "--json", check=2,
                       timeout=300)
    doc = json.loads(proc.stdout)
    assert [f["name"] for f in doc["failed"]] == ["plain-dir", "missing"]
    assert proc.stderr.splitlines()[-1] == "srcprov: error: none of the 2 repositories could be reported"


def test_progress_shows_on_a_terminal_only(tmp_path: Path) -> None:
    import pty

    repos = [make_history(tmp_path / f"r{i}.git", 30 + i, 10) for i in range(2)]
    listing = tmp_path / "fleet.txt"
    listing.write_text("".join(f"{p}\n" for p in repos))
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(srcprov_argv("fleet", "report", "--repos", str(listing), "--workers", "1",
                                           "--format", "csv"),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                              timeout=300)
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert b"reporting [" in shown and b"2/2 repositories" in shown
    assert b"reporting" not in proc.stdout and proc.stdout.startswith(b"repository,source,")
