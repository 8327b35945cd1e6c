"""``fleetbot schedules`` and ``fleetbot videos`` through the real console script."""

from __future__ import annotations

from pathlib import Path

from automation.sites.demo.samples import write_sample_videos
from tests.helpers import fleetbot


def test_schedules_add_list_pause_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = fleetbot(
        "schedules",
        "add",
        "warmup",
        "weekdays 09:30",
        "#morning",
        "--tz",
        "Europe/Moscow",
        "--json",
        data_dir=data,
    )
    assert added.code == 0, added.stderr
    doc = added.json()
    assert (doc["kind"], doc["when"], doc["timezone"]) == (
        "warmup",
        "weekdays 09:30",
        "Europe/Moscow",
    )
    assert len(doc["next_fires"]) == 3 and all("T09:30:00+03:00" in f for f in doc["next_fires"])
    paused = fleetbot("schedules", "pause", str(doc["id"]), data_dir=data)
    assert paused.code == 0 and "(paused)" in paused.stdout
    listed = fleetbot("schedules", "list", "--json", data_dir=data).json()["schedules"]
    assert [(s["id"], s["enabled"], s["next_fires"]) for s in listed] == [(doc["id"], False, [])]
    assert fleetbot("schedules", "remove", str(doc["id"]), data_dir=data).code == 0
    assert fleetbot("schedules", "list", "--json", data_dir=data).json() == {"schedules": []}


def test_bad_schedules_fail_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for args, complaint in (
        (["warmup", "daily 9am"], "HH:MM"),
        (["warmup", "daily 09:00", "--tz", "Nowhere/City"], "unknown time zone"),
        (["warmup", "every 5 minutes", "--per-run", "2"], "per_run is for uploads"),
        (["upload", "*/5 * * *"], "not a schedule"),
        (["warmup", "0 9 * * mon-fri-sat"], "day of week 'mon-fri-sat' is not crontab"),
        (["warmup", "5/15 * * * *"], "minute '5/15': a step needs a range or '*'"),
        (["warmup", "every \uff11 hours"], "'\uff11' is not a digit (only 0-9 are)"),
    ):
        result = fleetbot("schedules", "add", *args, data_dir=data)
        assert result.code == 1, args
        assert complaint in result.stderr and len(result.stderr.strip().splitlines()) == 1
    missing = fleetbot("schedules", "pause", "42", data_dir=data)
    assert (missing.code, missing.stderr.strip()) == (1, "fleetbot: there is no schedule #42")
    assert fleetbot("schedules", "list", "--json", data_dir=data).json() == {"schedules": []}


def test_videos_queue(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, second = write_sample_videos(tmp_path / "v", 2)
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    added = fleetbot("videos", "add", str(first), str(second), data_dir=data)
    assert added.code == 0, added.stderr
    again = fleetbot("videos", "add", str(first), data_dir=data)  # the same bytes: no new entry
    assert again.code == 0
    queue = fleetbot("videos", "list", "--json", data_dir=data).json()["videos"]
    assert [(v["name"], v["position"]) for v in queue] == [
        ("sample-1.mp4", 1),
        ("sample-2.mp4", 2),
    ]
    rejected = fleetbot("videos", "add", str(bogus), data_dir=data)
    assert rejected.code == 1 and "MP4" in rejected.stderr
    assert fleetbot("videos", "remove", str(queue[0]["id"]), data_dir=data).code == 0
    left = fleetbot("videos", "list", "--json", data_dir=data).json()["videos"]
    assert [v["name"] for v in left] == ["sample-2.mp4"]


def test_schedules_text_output_and_resume(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = fleetbot(
        "schedules", "add", "upload", "every 2 hours", "--per-run", "2", data_dir=data
    )
    assert added.code == 0, added.stderr
    assert added.stdout.startswith("added #1 upload 'every 2 hours' UTC all; next: ")
    assert len(added.stdout.splitlines()[0].split("next: ")[1].split(", ")) == 3
    assert fleetbot("schedules", "pause", "1", data_dir=data).code == 0
    resumed = fleetbot("schedules", "resume", "1", data_dir=data)
    assert resumed.code == 0 and "(paused)" not in resumed.stdout and "next: " in resumed.stdout
    [listed] = fleetbot("schedules", "list", "--json", data_dir=data).json()["schedules"]
    assert (listed["params"], listed["enabled"], listed["last_fired_at"]) == (
        {"per_run": 2},
        True,
        None,
    )
    table = fleetbot("schedules", "list", data_dir=data)
    assert table.code == 0 and table.stdout.splitlines()[0].split()[:3] == ["ID", "KIND", "WHEN"]
    for args, complaint in (
        (["schedules", "remove", "7"], "fleetbot: there is no schedule #7"),
        (["videos", "remove", "3"], "fleetbot: video #3 is not in the queue"),
        (["schedules", "add", "warmup", "daily 09:00", "--duration", "-5"], "cannot be negative"),
        (["schedules", "add", "upload", "daily 09:00", "--per-run", "0"], "from 1 to 20"),
    ):
        result = fleetbot(*args, data_dir=data)
        assert result.code == 1 and result.stdout == "", args
        assert complaint in result.stderr and len(result.stderr.strip().splitlines()) == 1
    empty = fleetbot("videos", "list", data_dir=data)
    assert (empty.code, empty.stdout.strip()) == (0, "the upload queue is empty")
