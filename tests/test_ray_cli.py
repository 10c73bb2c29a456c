"""`--ray` and `[ray]` as a user meets them (issue 16): `newsdesk index/update/rebuild` run in a subprocess
on a real Ray — a private one on this machine, or the session's loopback cluster (conftest: ray_cluster) —
with the real int8 model. The index equals the local one byte for byte, the report names the cluster,
Ray's logs stay out of the output, the workers are stopped when a build fails, and without Ray installed
the command says how to install it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index.layout import read_manifest
from index.maintenance import rebuild
from index.sources import load_sources
from tests.conftest import REPO, SAMPLE, store_contents, write_jsonl

pytest.importorskip("ray", reason="the ray extra is not installed (pip install '.[ray]')")

ARTICLES = [
    {
        "title": "Harbor council approves tram line",
        "url": "https://harbor.example/tram",
        "text": "The council voted 7-2 to build a 12-kilometre tram line to the port. Work starts in spring.",
        "date": "2026-02-02",
    },
    {
        "title": "Heatwave strains the grid",
        "url": "https://valley.example/heat",
        "text": "Grid operators asked residents to save power as temperatures reached 41 degrees.",
        "date": "2026-02-03",
    },
]
# Makes `import ray` fail as it does on the default install (no ray extra), without touching our code.
NO_RAY = """
import sys

class NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return None

sys.meta_path.insert(0, NoRay())
"""


def python(*args: str, pythonpath: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    """Python in a fresh process on this checkout, with no $RAY_ADDRESS: `--ray` alone means a private Ray."""
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join(map(str, (*pythonpath, REPO)))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=600)


def newsdesk(*args: str, pythonpath: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    return python("-m", "search.cli", *args, pythonpath=pythonpath)


def test_index_on_a_local_ray_equals_the_local_index_and_the_report_names_the_cluster(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    local = newsdesk("index", str(corpus), "--index", str(tmp_path / "A"), "--json")
    on_ray = newsdesk("index", str(corpus), "--index", str(tmp_path / "B"), "--ray", "--json")
    assert local.returncode == 0, local.stderr
    assert on_ray.returncode == 0, on_ray.stderr
    assert on_ray.stderr == ""  # none of Ray's start-up, worker or shutdown chatter reaches the user

    built_here, built_on_ray = json.loads(local.stdout), json.loads(on_ray.stdout)
    assert "ray" not in built_here  # a build without Ray reports as before
    cluster = built_on_ray.pop("ray")
    assert cluster["address"] == "local" and cluster["nodes"] == 1 and cluster["worker_nodes"] == 1
    assert cluster["workers"] >= 1 and cluster["replaced"] == 0
    assert cluster["passages"] == built_on_ray["embedded"] > 20 and cluster["passages_per_second"] > 0
    for report in (built_here, built_on_ray):
        for key in ("seconds", "time", "alerts"):
            report.pop(key)
    assert built_on_ray == built_here

    assert read_manifest(tmp_path / "B")["encoder"] == read_manifest(tmp_path / "A")["encoder"]
    assert store_contents(tmp_path / "B") == store_contents(tmp_path / "A")  # segment files byte for byte


def test_update_embeds_on_the_cluster_its_sources_file_names(ray_cluster, tmp_path):
    write_jsonl(tmp_path / "news" / "a.jsonl", ARTICLES)
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'index = "idx"\n[ray]\naddress = "{ray_cluster.address}"\nworkers = 1\n[[source]]\npaths = ["news"]\n',
        encoding="utf-8",
    )
    run = newsdesk("update", "--sources", str(sources))
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    # The session's cluster: a head without CPUs and two worker nodes of one CPU each; one worker asked for.
    assert f"ray {ray_cluster.address}: nodes 3 (2 CPUs), workers 1 (on 1 of the nodes); embedded 2 passages" in (
        run.stdout
    )
    assert "added 2," in run.stdout


def test_without_ray_installed_ray_options_say_how_to_install_it(tmp_path):
    blocker = tmp_path / "no_ray"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_RAY, encoding="utf-8")
    corpus = write_jsonl(tmp_path / "news" / "a.jsonl", ARTICLES)

    asked = newsdesk("index", str(corpus), "--index", str(tmp_path / "idx"), "--ray", pythonpath=(blocker,))
    assert asked.returncode == 2  # a usage error, before anything is loaded
    assert "pip install '.[ray]'" in asked.stderr and "Traceback" not in asked.stderr
    assert not (tmp_path / "idx").exists()

    sources = tmp_path / "sources.toml"
    sources.write_text('index = "idx"\n[ray]\n[[source]]\npaths = ["news"]\n', encoding="utf-8")
    configured = newsdesk("update", "--sources", str(sources), pythonpath=(blocker,))
    assert configured.returncode == 1
    assert configured.stderr.strip().splitlines() == [
        "error: embedding on Ray needs the ray extra, not installed here: pip install '.[ray]' (or pip install "
        "'newsdesk[ray]')"
    ]
    assert not (tmp_path / "idx").exists()
    # Without Ray the same build runs on this machine, as always.
    assert newsdesk("index", str(corpus), "--index", str(tmp_path / "idx"), pythonpath=(blocker,)).returncode == 0


# Runs the CLI in a process of its own that can look at Ray afterwards: a failed build must stop the
# workers it started, and the private Ray it started; a Ray the caller joined stays joined. One process
# per case: in one process, Ray 2.60 starts no actor on a cluster joined after a private Ray was shut down.
AFTER_A_FAILED_BUILD = """
import json, sys, time
import ray
from click.testing import CliRunner
from index.ray_cluster import connect
from search.cli import main

sources, index_dir, address = sys.argv[1:4]
joined = connect(address) if address else None  # the caller's own connection; else the command starts a Ray
result = CliRunner().invoke(main, ["rebuild", "--sources", sources, "--index", index_dir, "--ray"])
seen = {"exit_code": result.exit_code, "output": result.output, "connected": ray.is_initialized()}
if joined:
    deadline = time.monotonic() + 60
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    seen["free_cpus"] = ray.available_resources().get("CPU", 0)
    joined.close()
print(json.dumps(seen))
"""


def test_a_build_that_fails_on_ray_stops_its_workers_and_its_private_ray(ray_cluster, tmp_path, encoder):
    news = tmp_path / "news"
    write_jsonl(news / "a.jsonl", ARTICLES)
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\npaths = ["news"]\n', encoding="utf-8")
    index_dir = tmp_path / "idx"
    rebuild(load_sources(sources), index_dir, encoder)
    (news / "a.jsonl").write_text("not json\n", encoding="utf-8")  # the rebuild now fails, after Ray started

    def failed_rebuild(address: str) -> dict:
        run = python("-c", AFTER_A_FAILED_BUILD, str(sources), str(index_dir), address)
        assert run.returncode == 0, run.stderr
        seen = json.loads(run.stdout.strip().splitlines()[-1])
        assert seen["exit_code"] == 1 and "refusing to replace" in seen["output"]
        return seen

    assert failed_rebuild("")["connected"] is False  # the private Ray the command started is gone
    joined = failed_rebuild(ray_cluster.address)
    assert joined["connected"] is True  # the caller's connection is not the command's to close
    assert joined["free_cpus"] == 2  # its workers were killed: the cluster's two CPUs are free again
