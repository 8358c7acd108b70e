"""The build environment's allow-list (pure): which tools a command line runs, the CI's image, nothing else."""

from __future__ import annotations

from srcprov.attest.context import command_tools, environment, image, tool_version


def test_tools_of_a_command_line() -> None:
    line = "SOURCE_DATE_EPOCH=1 make -j2 && ./build.sh | gzip -n > x.gz; env A=1 tar -cf - . || bin/x; (cd sub && cargo build)"
    assert command_tools(line) == ["make", "gzip", "tar", "cd", "cargo"]
    assert command_tools('echo "unclosed') == []
    assert command_tools("") == []


def test_version_lines() -> None:
    assert tool_version(b"go version go1.22.1 linux/amd64\n") == "1.22.1"
    assert tool_version(b"gcc (Debian 12.2.0-14) 12.2.0\nCopyright\n") == "12.2.0-14"
    assert tool_version(b"Python 3.11.7\n") == "3.11.7"
    assert tool_version(b"no version here\n") is None


def test_image_and_environment_take_only_the_allow_list() -> None:
    assert image({"ImageOS": "ubuntu24", "ImageVersion": "20241117.1.0"}) == "ubuntu24/20241117.1.0"
    assert image({"CI_JOB_IMAGE": "user:hunter2@registry.example.com/img:1"}) == "registry.example.com/img:1"
    assert image({"CI_JOB_IMAGE": "bad image $(x)"}) is None
    env = {"GITHUB_TOKEN": "ghs_x", "AWS_SECRET_ACCESS_KEY": "k", "ImageOS": "ubuntu24", "ImageVersion": "1",
           "SOURCE_DATE_EPOCH": "1700000000", "RUNNER_ENVIRONMENT": "self-hosted", "HOME": "/home/u", "PATH": "/bin"}
    got = environment(env, "linux", "x86_64", {"make": "4.3"}, "Debian GNU/Linux 12")
    assert got == {"os": "linux", "arch": "x86_64", "osRelease": "Debian GNU/Linux 12", "image": "ubuntu24/1",
                   "runner": "self-hosted", "sourceDateEpoch": "1700000000", "tools": {"make": "4.3"}}
    assert environment({"SOURCE_DATE_EPOCH": "soon"}, "linux", "arm64", {}) == {"os": "linux", "arch": "arm64"}
