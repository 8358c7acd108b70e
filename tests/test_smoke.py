def test_commit_is_recorded_and_verifies(repo):
    c = repo.commit()
    out = repo.srcprov("verify", "--json")
    import json

    data = json.loads(out.stdout)
    assert data["ok"] is True
    assert data["commits"][0]["commit"] == c
    assert data["commits"][0]["status"] == "verified"
