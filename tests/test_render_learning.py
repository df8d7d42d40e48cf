"""render_js auto learns from a source's runs when to go browser-first, and re-checks now and then."""

from __future__ import annotations

from crawler.browser.learning import TemplateLearning, page_template, plan_rendering


def run(
    run_id: int, needed: int = 0, articles: int = 20, browser_first: bool = False, status: str = "succeeded"
) -> dict:
    return {
        "id": run_id,
        "status": status,
        "renders_needed": needed,
        "articles_new": articles,
        "articles_unchanged": 0,
        "articles_updated": 0,
        "articles_duplicate": 0,
        "browser_first": browser_first,
    }


def test_plain_first_until_most_articles_needed_the_browser() -> None:
    assert not plan_rendering([], 0.5, 5, 10).browser_first
    assert not plan_rendering([run(1, needed=4, articles=6)], 0.5, 5, 10).browser_first  # too few to tell
    assert not plan_rendering([run(1, needed=9, articles=20)], 0.5, 5, 10).browser_first
    plan = plan_rendering([run(2, needed=15, articles=20)], 0.5, 5, 10)
    assert plan.browser_first and "15 of 20 articles" in plan.why and "run 2" in plan.why


def test_failed_and_skipped_runs_do_not_count_and_zero_share_turns_it_off() -> None:
    runs = [run(3, status="failed"), run(2, status="skipped"), run(1, needed=15, articles=20)]
    assert plan_rendering(runs, 0.5, 5, 10).browser_first
    assert not plan_rendering(runs, 0.0, 5, 10).browser_first


def test_browser_first_continues_then_re_probes_plain_http() -> None:
    history = [run(1, needed=15, articles=20)]
    for run_id in range(2, 12):
        plan = plan_rendering(list(reversed(history)), 0.5, 5, 3)
        # Browser-first runs need no retries; a plain-first run meets the JavaScript shells again.
        needed = 0 if plan.browser_first else 15
        history.append(run(run_id, needed=needed, articles=20, browser_first=plan.browser_first))
    modes = [bool(r["browser_first"]) for r in history[1:]]
    assert modes == [True, True, True, False, True, True, True, False, True, True]
    assert "trying plain HTTP first again after 3" in plan_rendering(list(reversed(history[:4])), 0.5, 5, 3).why


def test_pages_of_one_template_share_a_key() -> None:
    assert page_template("https://News.example/json/12/") == page_template("https://news.example/json/13/")
    assert page_template("https://news.example/2025/03/24/a/") == page_template("https://news.example/2024/11/02/b/")
    assert page_template("https://news.example/json/12/") != page_template("https://news.example/static/12/")
    assert page_template("https://news.example/video/12/") != page_template("https://news.example/video/12/clip/")


def test_a_template_goes_browser_first_after_enough_shells_and_few_plain_pages() -> None:
    learning = TemplateLearning(min_shells=5, share=0.9)
    for number in range(4):
        learning.note(f"https://news.example/json/{number}/", shell=True)
    assert not learning.browser_first("https://news.example/json/99/")  # four shells tell too little
    learning.note("https://news.example/json/4/", shell=True)
    assert learning.browser_first("https://news.example/json/99/")
    assert not learning.browser_first("https://news.example/static/99/")
    learning.note("https://news.example/json/5/", shell=False)  # 5 of 6: under 0.9
    assert not learning.browser_first("https://news.example/json/99/")


def test_a_mixed_template_and_a_zero_share_stay_plain_first() -> None:
    mixed = TemplateLearning(min_shells=5, share=0.9)
    for number in range(50):
        mixed.note(f"https://news.example/2025/03/{number}/story/", shell=number % 8 == 0)  # 12 % shells
    assert not mixed.browser_first("https://news.example/2025/04/01/story/")
    off = TemplateLearning(min_shells=1, share=0)
    off.note("https://news.example/json/1/", shell=True)
    assert not off.browser_first("https://news.example/json/2/")
