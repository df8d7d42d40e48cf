"""The scheduler's decisions as data: triggers, missed runs, job definitions, reload plans, skips.

No scheduler process and no sleeps: each test hands scheduler.py's plain functions the values the
service would (a sources file loaded from disk, rows as the archive returns them, fire times) and
checks what they decide. test_scheduler.py checks the service itself end to end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.sources.config import Config, ConfigError, load_config
from crawler.sources.ops_tables import parse_schedule
from scheduler import (
    JobChange,
    JobDefinition,
    StoredJob,
    build_trigger,
    catch_up,
    count_missed,
    job_defaults,
    job_definition,
    job_definitions,
    missed_record,
    plan_sync,
    runs_to_interrupt,
    skip_record,
    trigger_key,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def trigger_of(text: str, timezone: str = "UTC"):
    return build_trigger(parse_schedule(text), timezone)


def fire_times(trigger, after: datetime, count: int) -> list[datetime]:
    """The trigger's next ``count`` fire times after ``after``, in UTC."""
    times, previous, now = [], None, after
    for _ in range(count):
        when = trigger.get_next_fire_time(previous, now)
        times.append(when.astimezone(UTC))
        previous, now = when, when + timedelta(microseconds=1)
    return times


def sources_file(folder: Path, sources: str, scheduler: str = "") -> Path:
    path = folder / "sources.toml"
    path.write_text(f'[archive]\ndb = "archive.db"\n\n[scheduler]\n{scheduler}\n\n{sources}', encoding="utf-8")
    return path


def source(name: str, schedule: str | None = None) -> str:
    line = f'schedule = "{schedule}"\n' if schedule else ""
    return f'[[sources]]\nname = "{name}"\nstart_urls = ["https://{name}.example/"]\n{line}\n'


def wanted(folder: Path, sources: str, scheduler: str = "", name: str = "sources.toml") -> dict[str, JobDefinition]:
    path = sources_file(folder, sources, scheduler)
    if name != path.name:
        path = path.rename(folder / name)
    return job_definitions(load_config(path), path, NOW)


def stored(definitions: dict[str, JobDefinition]) -> dict[str, StoredJob]:
    """The job store after these jobs were added: what a reload compares."""
    return {name: StoredJob(name, trigger_key(job.trigger), job.args) for name, job in definitions.items()}


def steps(changes: list[JobChange]) -> list[tuple[str, str]]:
    return [(change.action, change.job_id) for change in changes]


# -- triggers -------------------------------------------------------------------------------------


def test_an_interval_fires_every_interval_from_one_interval_after_it_is_made() -> None:
    before = datetime.now(UTC)
    trigger = trigger_of("every 45s")
    first = trigger.get_next_fire_time(None, before)
    assert timedelta(seconds=45) <= first - before < timedelta(seconds=50)
    assert fire_times(trigger, first, 3) == [first, first + timedelta(seconds=45), first + timedelta(seconds=90)]
    assert str(trigger) == "interval[0:00:45]"
    six_hourly = trigger_of("every 6h")
    start = six_hourly.get_next_fire_time(None, before)
    assert fire_times(six_hourly, start, 2) == [start, start + timedelta(hours=6)]


@pytest.mark.parametrize(
    ("timezone", "winter", "summer"),
    [
        ("UTC", datetime(2025, 1, 16, 6, 0, tzinfo=UTC), datetime(2025, 7, 16, 6, 0, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2025, 1, 16, 5, 0, tzinfo=UTC), datetime(2025, 7, 16, 4, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2025, 1, 16, 11, 0, tzinfo=UTC), datetime(2025, 7, 16, 10, 0, tzinfo=UTC)),
    ],
)
def test_a_cron_schedule_fires_at_its_local_time(timezone: str, winter: datetime, summer: datetime) -> None:
    trigger = trigger_of("0 6 * * *", timezone)
    assert fire_times(trigger, datetime(2025, 1, 15, 12, 0, tzinfo=UTC), 1) == [winter]
    assert fire_times(trigger, datetime(2025, 7, 15, 12, 0, tzinfo=UTC), 1) == [summer]


def test_a_cron_schedule_keeps_its_local_time_across_a_daylight_saving_change() -> None:
    trigger = trigger_of("0 6 * * *", "Europe/Berlin")
    assert fire_times(trigger, datetime(2025, 3, 29, 0, 0, tzinfo=UTC), 2) == [
        datetime(2025, 3, 29, 5, 0, tzinfo=UTC),  # 06:00 CET
        datetime(2025, 3, 30, 4, 0, tzinfo=UTC),  # 06:00 CEST
    ]
    assert fire_times(trigger_of("*/30 * * * *"), datetime(2025, 3, 10, 11, 50, tzinfo=UTC), 3) == [
        datetime(2025, 3, 10, 12, 0, tzinfo=UTC),
        datetime(2025, 3, 10, 12, 30, tzinfo=UTC),
        datetime(2025, 3, 10, 13, 0, tzinfo=UTC),
    ]


@pytest.mark.parametrize("schedule", ["every 5 parsecs", "61 * * * *"])
def test_a_bad_schedule_is_a_problem_naming_source_and_field(tmp_path: Path, schedule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(sources_file(tmp_path, source("bad", schedule)))
    assert "source 'bad', field 'schedule'" in str(caught.value)


# -- runs missed while the scheduler was down --------------------------------------------------


def test_missed_runs_are_counted_across_a_downtime() -> None:
    every_4s = trigger_of("every 4s")
    first = every_4s.get_next_fire_time(None, datetime.now(UTC))
    assert count_missed(every_4s, first, first + timedelta(seconds=9)) == 3  # first, +4s, +8s
    assert count_missed(every_4s, first, first + timedelta(seconds=8)) == 3  # a fire time at "now" counts
    assert count_missed(every_4s, first, first + timedelta(seconds=7)) == 2
    assert count_missed(every_4s, first, first - timedelta(seconds=1)) == 0
    assert count_missed(every_4s, first, first + timedelta(days=1), cap=10) == 10
    half_hourly = trigger_of("*/30 * * * *")
    down_since = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
    assert count_missed(half_hourly, down_since, datetime(2025, 3, 10, 12, 10, tzinfo=UTC)) == 5  # 10:00 .. 12:00
    morning = trigger_of("0 6 * * *", "Europe/Berlin")
    assert count_missed(morning, datetime(2025, 3, 29, 5, 0, tzinfo=UTC), datetime(2025, 4, 1, 5, 0, tzinfo=UTC)) == 4


def test_runs_missed_within_misfire_grace_become_one_catch_up_run() -> None:
    half_hourly = trigger_of("*/30 * * * *")
    due = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
    decision = catch_up("news", half_hourly, due, datetime(2025, 3, 10, 12, 10, tzinfo=UTC), misfire_grace=86400)
    assert decision is not None
    assert (decision.job_id, decision.since, decision.missed, decision.run_now) == ("news", due, 5, True)
    assert catch_up("news", half_hourly, due, due + timedelta(hours=1), misfire_grace=3600).run_now  # at the limit


def test_runs_missed_for_longer_than_misfire_grace_are_not_caught_up() -> None:
    daily = trigger_of("0 6 * * *")
    due = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)  # missed: March 1 to 10, at 06:00
    decision = catch_up("news", daily, due, NOW, misfire_grace=86400)
    assert decision is not None and decision.missed == 10 and not decision.run_now


def test_nothing_is_caught_up_when_the_next_run_is_still_ahead_or_paused() -> None:
    hourly = trigger_of("every 1h")
    assert catch_up("news", hourly, NOW + timedelta(seconds=1), NOW, misfire_grace=86400) is None
    assert catch_up("news", hourly, NOW, NOW, misfire_grace=86400) is None
    assert catch_up("news", hourly, None, NOW, misfire_grace=86400) is None


# -- job definitions ----------------------------------------------------------------------------


def test_each_scheduled_source_gets_one_job_named_after_it(tmp_path: Path) -> None:
    path = sources_file(
        tmp_path,
        source("hourly", "every 1h") + source("manual") + source("morning", "0 6 * * *"),
        scheduler='timezone = "Europe/Berlin"\nmisfire_grace = "2h"\n',
    )
    config = load_config(path)
    made_at = datetime.now(UTC)
    jobs = job_definitions(config, path, NOW)
    assert list(jobs) == ["hourly", "morning"]  # the file's order; no schedule, no job
    morning = jobs["morning"]
    assert (morning.id, morning.name, morning.schedule) == ("morning", "crawl morning", "0 6 * * *")
    assert morning.args == (str(path), str(tmp_path / "archive.db"), "morning")
    assert morning.kwargs == {"trigger": "schedule"}
    assert (morning.max_instances, morning.coalesce, morning.misfire_grace_time) == (1, True, 7200)
    assert morning.next_run_time == datetime(2025, 3, 11, 5, 0, tzinfo=UTC)  # 06:00 in Berlin (CET)
    assert str(morning.trigger) == str(trigger_of("0 6 * * *", "Europe/Berlin"))
    hourly = jobs["hourly"]
    assert hourly.next_run_time - made_at >= timedelta(hours=1)  # an interval's first run: one interval on
    assert hourly.next_run_time - made_at < timedelta(hours=1, seconds=5)
    options = morning.add_job_options()
    assert options == {
        "trigger": morning.trigger,
        "args": [str(path), str(tmp_path / "archive.db"), "morning"],
        "kwargs": {"trigger": "schedule"},
        "id": "morning",
        "name": "crawl morning",
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": 7200,
        "next_run_time": datetime(2025, 3, 11, 5, 0, tzinfo=UTC),
    }


def test_job_defaults_never_run_two_at_once_and_coalesce(tmp_path: Path) -> None:
    config = load_config(sources_file(tmp_path, source("news", "every 1h")))
    assert job_defaults(config.scheduler) == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 86400}
    (job,) = job_definitions(config, tmp_path / "sources.toml", NOW).values()
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 86400)


def test_a_source_without_schedule_has_no_job_definition(tmp_path: Path) -> None:
    config: Config = load_config(sources_file(tmp_path, source("manual")))
    assert job_definitions(config, tmp_path / "sources.toml", NOW) == {}
    with pytest.raises(ValueError, match="'manual' has no schedule"):
        job_definition(config.source("manual"), config, tmp_path / "sources.toml", NOW)


# -- reload plans -------------------------------------------------------------------------------


def test_a_first_start_adds_every_scheduled_source_in_file_order(tmp_path: Path) -> None:
    jobs = wanted(tmp_path, source("beta", "every 1h") + source("alpha", "*/30 * * * *"))
    assert steps(plan_sync(jobs, {})) == [("add", "beta"), ("add", "alpha")]
    assert all(change.definition is jobs[change.job_id] for change in plan_sync(jobs, {}))


def test_reloading_an_unchanged_file_changes_nothing(tmp_path: Path) -> None:
    text = source("alpha", "every 1h") + source("beta", "*/30 * * * *")
    before = wanted(tmp_path, text)
    after = wanted(tmp_path, text)  # new trigger objects (an interval's start differs): same schedule
    assert plan_sync(after, stored(before)) == []


def test_a_reload_adds_removes_and_reschedules_without_duplicates(tmp_path: Path) -> None:
    before = wanted(
        tmp_path,
        source("alpha", "every 1h")
        + source("beta", "*/30 * * * *")
        + source("gamma", "every 1d")
        + source("zeta", "every 5m"),
    )
    after = wanted(
        tmp_path,
        source("alpha", "every 1h") + source("beta", "every 30m") + source("gamma") + source("delta", "0 6 * * *"),
    )
    plan = plan_sync(after, stored(before))
    # gamma lost its schedule and zeta its entry: removed; beta's schedule changed: rescheduled
    assert steps(plan) == [("remove", "gamma"), ("remove", "zeta"), ("reschedule", "beta"), ("add", "delta")]
    (reschedule,) = [change for change in plan if change.action == "reschedule"]
    assert str(reschedule.definition.trigger) == "interval[0:30:00]"
    assert all(change.definition is None for change in plan if change.action == "remove")


def test_applying_a_reload_plan_gives_the_file_s_jobs_once_each(tmp_path: Path) -> None:
    store = stored(wanted(tmp_path, source("alpha", "every 1h")))
    for text in (
        source("alpha", "every 1h") + source("beta", "*/30 * * * *"),
        source("beta", "*/30 * * * *"),
        source("beta", "*/15 * * * *") + source("alpha", "every 2h"),
    ):
        goal = wanted(tmp_path, text)
        for change in plan_sync(goal, store):
            if change.action == "remove":
                del store[change.job_id]
            else:
                assert change.action != "add" or change.job_id not in store  # never a second job for a source
                store[change.job_id] = stored({change.job_id: change.definition})[change.job_id]
        assert store == stored(goal)
        assert plan_sync(goal, store) == []


def test_a_moved_sources_file_changes_the_jobs_arguments_in_place(tmp_path: Path) -> None:
    text = source("alpha", "every 1h") + source("beta", "*/30 * * * *")
    before = wanted(tmp_path, text)
    after = wanted(tmp_path, text, name="moved.toml")
    plan = plan_sync(after, stored(before))
    assert steps(plan) == [("change_args", "alpha"), ("change_args", "beta")]
    assert plan[0].definition.args == (str(tmp_path / "moved.toml"), str(tmp_path / "archive.db"), "alpha")


# -- a run due while the previous one still goes ------------------------------------------------


def test_a_run_due_while_one_runs_is_recorded_as_skipped_naming_that_run() -> None:
    running = [
        {"id": 7, "source": "other", "started_at": "2025-03-10T11:58:00.000Z"},
        {"id": 9, "source": "news", "started_at": "2025-03-10T11:59:30.000Z"},
    ]
    skip = skip_record("news", datetime(2025, 3, 10, 13, 0, tzinfo=BERLIN), running)
    assert skip.source == "news" and skip.trigger == "schedule"
    assert skip.reason == (
        "run 9 (started 2025-03-10T11:59:30.000Z) was still running; never two runs of one source at once"
    )
    assert "still running" in skip.reason
    assert skip.scheduled_for == "2025-03-10T12:00:00+00:00"
    assert skip.cause == "run 9 (started 2025-03-10T11:59:30.000Z) was still running"


def test_a_skip_without_a_running_row_still_says_why() -> None:
    skip = skip_record("news", None, [{"id": 7, "source": "other", "started_at": "2025-03-10T11:58:00.000Z"}])
    assert skip.reason == "the previous run was still running; never two runs of one source at once"
    assert skip.scheduled_for is None


def test_a_run_missed_beyond_misfire_grace_is_recorded_as_skipped() -> None:
    due = datetime(2025, 3, 10, 13, 0, tzinfo=BERLIN)
    skip = missed_record("news", due)
    assert (skip.source, skip.trigger, skip.scheduled_for) == ("news", "schedule", "2025-03-10T12:00:00+00:00")
    assert skip.reason == "missed: due at 2025-03-10T13:00:00+01:00, more than misfire_grace late"


# -- "running" rows at start and at shutdown --------------------------------------------------


def test_shutdown_interrupts_only_the_scheduled_crawls_it_started() -> None:
    running = [
        {"id": 1, "trigger": "schedule", "pid": 10},
        {"id": 2, "trigger": "catch-up", "pid": 11},
        {"id": 3, "trigger": "manual", "pid": 10},  # `newsarchive crawl` by hand
        {"id": 4, "trigger": "schedule", "pid": 99},  # another scheduler's
        {"id": 5, "trigger": "schedule", "pid": None},
    ]
    chosen = runs_to_interrupt(running, lambda pid: pid in (10, 11))
    assert [run["id"] for run in chosen] == [1, 2]


def test_a_new_time_zone_alone_reschedules_a_cron_job(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    morning = JobDefinition(
        id="morning",
        name="crawl morning",
        schedule="0 6 * * *",
        trigger=trigger_of("0 6 * * *", "Europe/Berlin"),
        args=(str(path), str(tmp_path / "archive.db"), "morning"),
        kwargs={},
        max_instances=1,
        coalesce=True,
        misfire_grace_time=60,
        next_run_time=None,
    )
    stored = {"morning": StoredJob("morning", trigger_key(trigger_of("0 6 * * *", "UTC")), morning.args)}
    assert str(morning.trigger) == str(trigger_of("0 6 * * *", "UTC"))  # why str() alone cannot tell
    assert [change.action for change in plan_sync({"morning": morning}, stored)] == ["reschedule"]
    unchanged = {"morning": StoredJob("morning", trigger_key(morning.trigger), morning.args)}
    assert plan_sync({"morning": morning}, unchanged) == []
