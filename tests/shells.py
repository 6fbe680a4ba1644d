"""Real IPython shells with the extension loaded through its entry point, pointed at a stand-in."""

from __future__ import annotations

from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from claude_magic.testing import StandIn


def shell_config(standin: StandIn, tmp_path: Path) -> Config:
    config = Config()
    config.HistoryManager.hist_file = ":memory:"  # no history database on disk
    config.ClaudeMagics.base_url = standin.base_url
    config.ClaudeMagics.download_dir = str(tmp_path / "downloads")
    config.ClaudeMagics.max_retries = 0
    return config


def start_shell(config: Config) -> InteractiveShell:
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config)
    shell.extension_manager.load_extension("claude_magic")  # the real entry point
    return shell


def stop_shell(shell: InteractiveShell) -> None:
    shell.extension_manager.unload_extension("claude_magic")  # no-op if a test already unloaded it
    InteractiveShell.clear_instance()
