"""`rapport demo` ends with a `rapport serve` command, ready to paste, in which the links
of the demo's outbox open.

The demo signs its links with the key kept in its own database; the printed command
points `serve` at that database by absolute path and clears an exported
RAPPORT_SECRET_KEY (which would win over the stored key). Here the demo runs with an
operator's RAPPORT_SECRET_KEY exported, the printed command runs exactly as printed
(its variable assignments applied to that environment) in the folder the demo ran in,
where ./config.yaml alone would name another database (var/rapport.db), and every
link of a sample of the outbox's e-mails, the List-Unsubscribe header's included, is
opened against it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
from demo_store import RAPPORT, environment, run_cli_demo, shared_cli_demo

LINK = re.compile(r"https?://[^\s\"'<>]+")


def links_in(path: Path) -> list[str]:
    """Every web link of an e-mail: its text part's links and List-Unsubscribe's."""
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    found = LINK.findall(str(message.get("List-Unsubscribe", "")))
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            found += LINK.findall(part.get_content())
    return sorted(set(found))


@pytest.fixture
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """The demo run once per test run (demo_store.shared_cli_demo, test_cli's too): the
    folder it ran in, its output and the links' port."""
    ran = shared_cli_demo(tmp_path_factory)
    return ran.folder, ran.output, ran.port


def printed_serve_command(output: str) -> str:
    lines = output.splitlines()
    start = lines.index(
        "Open the links in these messages (preferences, unsubscribe, feedback) with the web app:"
    )
    return lines[start + 1].strip()


def split_assignments(command: str) -> tuple[dict[str, str], list[str]]:
    """The variable assignments a shell applies to the command, and its words."""
    words = shlex.split(command)
    assignments = {}
    while "=" in words[0] and not words[0].startswith("/"):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    return assignments, words


def test_the_printed_serve_command_opens_every_link_of_the_demo_outbox(
    demo: tuple[Path, str, int],
) -> None:
    folder, output, port = demo
    assignments, words = split_assignments(printed_serve_command(output))
    assert assignments.get("RAPPORT_SECRET_KEY") == ""  # the exported key is cleared
    assert assignments["RAPPORT_DATABASE_URL"].startswith("sqlite:////")  # absolute
    assert words[0] == RAPPORT and words[1] == "serve"
    open_the_links(folder, output, port, assignments, words)


def test_the_links_open_when_config_yaml_writes_a_secret_key(tmp_path: Path) -> None:
    """A ``secret_key`` in config.yaml would win over the demo database's key, and no
    variable can clear it: the printed command names the demo's own key instead."""
    # A smaller sample and a short history (as test_packaging's demo): the key and the
    # links come from the same path; the full history took 10-20 s more.
    ran = run_cli_demo(
        tmp_path,
        *("--customers", "120", "--history-days", "3"),
        more_config="secret_key: the-operators-file-key\n",
    )
    folder, output, port = ran.folder, ran.output, ran.port
    assignments, words = split_assignments(printed_serve_command(output))
    open_the_links(folder, output, port, assignments, words)
    named = assignments["RAPPORT_SECRET_KEY"]  # the demo's key, never the operator's
    assert named not in ("", "the-operators-file-key", "the-operators-own-key")


def open_the_links(
    folder: Path, output: str, port: int, assignments: dict[str, str], words: list[str]
) -> None:
    """Run the printed command as printed, in the demo's folder, and open every link of
    a sample of the outbox's e-mails and the summary's example link."""
    process = subprocess.Popen(
        words,
        cwd=folder,
        env=environment(**{"RAPPORT_SECRET_KEY": "the-operators-own-key", **assignments}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    pytest.fail(process.communicate()[1].decode()[-2000:])
                time.sleep(0.1)

        emails = sorted((folder / "var" / "demo" / "outbox").glob("*.eml"))
        assert len(emails) >= 10
        opened: dict[str, int] = {}
        for path in emails[:: max(1, len(emails) // 12)]:
            for link in links_in(path):
                assert link.startswith(base + "/"), link
                opened[link] = httpx.get(link, timeout=10).status_code
        assert opened and all(code == 200 for code in opened.values()), opened
        kinds = {link.split("/")[3] for link in opened}
        assert {"preferences", "unsubscribe"} <= kinds, kinds

        example = re.search(r"then, for example: (\S+)", output)
        assert example is not None
        assert httpx.get(example.group(1), timeout=10).status_code == 200
        forged = example.group(1)[:-2] + ("AA" if not example.group(1).endswith("AA") else "BB")
        assert httpx.get(forged, timeout=10).status_code == 404  # the signature is checked
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_printed_commands_name_the_config_and_the_database_by_absolute_path(
    demo: tuple[Path, str, int],
) -> None:
    folder, output, _ = demo
    database = f"RAPPORT_DATABASE_URL=sqlite:///{folder.resolve() / 'var' / 'demo' / 'rapport.db'}"
    hints = [line.strip() for line in output.splitlines() if RAPPORT in line]
    assert len(hints) == 4, output  # explain, preview, serve, report (88ce610)
    for hint in hints:
        assert database in hint and "--config config.yaml" in hint, hint
