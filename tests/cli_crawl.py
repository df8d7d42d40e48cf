"""End-to-end tests' way in: a sources file for one local source, and ``newsarchive crawl`` on it
through click's CliRunner (the real CLI, crawl child process and all)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from crawler.cli.main import main


def write_config(folder: Path, body: str, name: str = "fixture") -> Path:
    """``sources.toml`` in ``folder``: the archive ``archive.db`` beside it and one source, ``body`` its keys."""
    config = folder / "sources.toml"
    config.write_text(f'[archive]\ndb = "archive.db"\n\n[[sources]]\nname = "{name}"\n' + body)
    return config


def crawl(config: Path) -> str:
    """Crawl every source of ``config``; the run must exit 0. Returns what the command printed."""
    result = CliRunner().invoke(main, ["crawl", "--config", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    return result.output
