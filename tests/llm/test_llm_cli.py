"""`admarket run` with language-model agents: replay, budget stop, and every way an
endpoint can fail — a clear one-line error with exit code 2, or a clean stop that says so,
never a result that looks complete."""

from __future__ import annotations

import json
import re
import socket
from types import SimpleNamespace

import pytest

from admarket.cli import main
from admarket.cli.llm import print_llm_summary
from admarket.outputs.store import COMPLETE_MARKER, query
from tests.golden.fingerprint import table_fingerprints

TINY = ["--buyers", "2", "--sellers", "2", "--campaigns-per-buyer", "2", "--days", "3"]
LLM = ["--policy", "buyer=llm,seller=llm", "--no-progress"]


def run(*args: str) -> int:
    """``admarket run`` of a tiny market with language-model agents; an option of TINY
    given in ``args`` replaces TINY's (an option given twice is refused)."""
    tiny = [x for i in range(0, len(TINY), 2) if TINY[i] not in args for x in TINY[i : i + 2]]
    return main(["run", "--scenarios", "b,c", *tiny, *LLM, *args])


def live(srv, *args: str) -> list[str]:
    return ["--llm-base-url", srv.base_url, "--llm-model", "fake", *args]


def test_a_recorded_run_replays_identically_with_no_endpoint(fake, tmp_path, capsys):
    srv = fake(wrong_rate=0.2, omit_rate=0.1)
    assert run(*live(srv), "--out", str(tmp_path / "live")) == 0
    asked = len(srv.served.requests)
    srv.stop()  # nothing answers any more
    recording = tmp_path / "live" / "llm_recording.jsonl"
    assert recording.is_file()
    code = run("--llm-replay", str(recording), "--out", str(tmp_path / "replay"))
    assert code == 0 and len(srv.served.requests) == asked
    a = table_fingerprints(tmp_path / "live" / "admarket.duckdb")
    b = table_fingerprints(tmp_path / "replay" / "admarket.duckdb")
    assert a == b and {"llm_runs", "llm_statements", "llm_calls", "llm_agents"} <= set(a)
    assert (tmp_path / "replay" / "llm_recording.jsonl").read_text() == recording.read_text()

    def report(run: str) -> tuple[str, str]:  # report.md's first lines say when it was made
        md = re.sub(
            r"\d{4}-\d\d-\d\dT[\d:]+\+00:00", "<when>", (tmp_path / run / "report.md").read_text()
        )
        return (tmp_path / run / "report.json").read_text(), md

    assert report("replay") == report("live")
    report = json.loads((tmp_path / "replay" / "report.json").read_text())
    assert set(report["llm"]["scenarios"]) == {"B", "C"}
    assert "## Language-model agents" in (tmp_path / "replay" / "report.md").read_text()
    out = capsys.readouterr().out
    assert "replay of" in out and "numbers stated" in out


def test_a_replay_that_diverges_is_an_error(fake, tmp_path, capsys):
    srv = fake()
    rec = tmp_path / "rec.jsonl"
    assert run(*live(srv), "--llm-record", str(rec)) == 0
    capsys.readouterr()
    assert run("--llm-replay", str(rec), "--seed", "7", "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err.strip()
    assert "diverged" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o" / COMPLETE_MARKER).exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "behaviour, options, fragment",
    [
        ({"fail": "error"}, [], "HTTP 500"),
        ({"fail": "429"}, ["--llm-retries", "1"], "rate limited (HTTP 429)"),
        ({"fail": "timeout", "delay": 2.0}, ["--llm-timeout", "0.3"], "no answer within 0.3 s"),
        ({"fail": "malformed_json"}, [], "unusable 3 times"),
        ({"fail": "bad_body"}, [], "malformed response"),
        ({"fail": "no_choices"}, [], "no choices"),
        ({"fail": "error", "fail_after": 20}, [], "HTTP 500"),
    ],
)
def test_a_failing_endpoint_is_one_line_and_exit_2(
    fake, tmp_path, capsys, behaviour, options, fragment
):
    srv = fake(**behaviour)
    out = tmp_path / "out"
    retries = [] if "--llm-retries" in options else ["--llm-retries", "0"]
    code = run(*live(srv, *retries, *options), "--out", str(out))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("admarket: error: ")
    assert fragment in err and "day " in err  # which agent, task and hour
    assert not (out / COMPLETE_MARKER).exists()


def test_no_server_at_all(tmp_path, capsys):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    code = run("--llm-base-url", url, "--llm-model", "m", "--llm-retries", "0")
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot connect" in err and len(err.splitlines()) == 1


def test_a_failed_run_can_continue_from_its_partial_recording(fake, tmp_path, capsys):
    failing = fake(fail="error", fail_after=15)
    rec = tmp_path / "partial.jsonl"
    assert run(*live(failing, "--llm-retries", "0"), "--llm-record", str(rec)) == 2
    err = capsys.readouterr().err
    assert str(rec) in err and rec.is_file()
    n_partial = len(rec.read_text().splitlines()) - 1
    assert n_partial >= 1
    good = fake()
    code = run("--llm-replay", str(rec), *live(good), "--out", str(tmp_path / "done"))
    assert code == 0
    whole = len((tmp_path / "done" / "llm_recording.jsonl").read_text().splitlines()) - 1
    assert len(good.served.requests) == whole - n_partial  # the recorded ones were not asked


def test_the_budget_stops_the_run_cleanly_and_says_so(fake, tmp_path, capsys):
    srv = fake()
    out = tmp_path / "out"
    code = run(*live(srv), "--llm-budget-usd", "0.002", "--out", str(out), "--days", "6")
    text = capsys.readouterr().out
    assert code == 3
    assert "STOPPED AT BUDGET" in text
    assert "Stopped at budget — not a complete result" in (out / "report.md").read_text()
    runs = query(out, "SELECT scenario, status, days_run, days, usd, budget_usd FROM llm_runs")
    assert (runs["status"] == "stopped at budget").all()
    assert (runs["days_run"] < runs["days"]).all()
    assert set(query(out, "SELECT status FROM runs")["status"]) == {"stopped at budget"}
    spent = query(out, "SELECT run_id, MAX(day) AS last FROM llm_calls GROUP BY run_id")
    assert (spent["last"] < 5).all()  # nothing asked after the stop
    # `status` says so too: the folder is a complete publication of a partial result
    assert main(["status", str(out)]) == 0
    status = capsys.readouterr().out
    first = runs.sort_values("scenario").iloc[0]
    assert "stopped at budget: " in status
    assert f"{first.scenario} seed 42 after {first.days_run} day" in status


def test_status_says_nothing_of_a_budget_when_none_was_hit(fake, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(*live(fake()), "--days", "1", "--out", str(out)) == 0
    capsys.readouterr()
    assert main(["status", str(out)]) == 0
    assert "budget" not in capsys.readouterr().out


def test_a_tiny_budget_is_shown_to_its_significant_digits(fake, tmp_path, capsys):
    srv = fake()
    out = tmp_path / "out"
    code = run(*live(srv), "--llm-budget-usd", "0.00001", "--out", str(out))
    text = capsys.readouterr().out
    assert code == 3  # B and C share it: $0.000005 each, not "$0.0000"
    assert "this run's budget $0.0000050)" in text and "$0.0000)" not in text
    assert "against its budget $0.0000050" in (out / "report.md").read_text()


def test_counts_of_one_in_the_language_model_lines_are_singular(capsys):
    # (stand-ins with only what the summary reads: one question, one number, one lookup)
    costs = SimpleNamespace(
        records=[SimpleNamespace(lookups=1)], prompt_tokens=1234, completion_tokens=5, usd=0.01
    )
    policies = SimpleNamespace(
        active=True,
        costs=costs,
        statements=[SimpleNamespace(wrong=0)],
        llm=[SimpleNamespace(name="buyer-0")],
        stopped="",
    )
    model = SimpleNamespace(scenario_id="B", policies=policies)
    assert not print_llm_summary([model], SimpleNamespace(label="a stand-in"))
    text = capsys.readouterr().out
    assert "buyer-0; 1 question, 1,234 prompt + 5 completion tokens ($0.0100); " in text
    assert "1 number stated, 0 wrong (0.0%); 1 ledger lookup\n" in text


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("notaurl", "no scheme"),
        ("localhost:11434/v1", "no scheme"),
        ("http:/127.0.0.1/v1", "no // after the scheme"),
        ("http://h h/v1", "it holds a space or a control character"),
        (" http://h/v1", "it holds a space or a control character"),
        ("http://h:0/v1", "port 0"),
        ("127.0.0.1:11434/v1", "no scheme"),
        ("ftp://x", "its scheme is ftp"),
        ("http://", "no host"),
        ("https://:8080/v1", "no host"),
        ("http://127.0.0.1:port/v1", "Port could not be cast"),
    ],
)
@pytest.mark.parametrize("replay", [False, True])
def test_a_malformed_base_url_is_refused_before_anything_runs(
    url, fragment, replay, tmp_path, capsys
):
    out = tmp_path / "out"
    source = ["--llm-replay", "x"] if replay else ["--llm-model", "m"]  # (x is never read)
    code = run("--llm-base-url", url, *source, "--out", str(out))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"admarket: error: invalid --llm-base-url = {url!r}: {fragment}")
    assert "; allowed: an http:// or https:// URL with a host" in err and "day " not in err
    assert not out.exists()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--policy", "buyer=robot"], "ROLE=POLICY"),
        (["--policy", "buyer=llm"], "needs an endpoint"),
        (["--llm-base-url", "http://x/v1"], "no agent uses the llm policy"),
        (["--policy", "buyer=llm", "--scenarios", "a", "--llm-replay", "x"], "scenario b or c"),
        (["--policy", "seller=llm", "--llm-base-url", "http://x/v1"], "needs --llm-model"),
        (["--policy", "buyer=llm", "--llm-replay", "/nonexistent.jsonl"], "no such file"),
        (
            ["--policy", "buyer=llm", "--llm-replay", "x", "--checkpoint-every", "1"],
            "--checkpoint-every cannot",
        ),
        (["--policy", "buyer=llm", "--llm-replay", "x", "--llm-concurrency", "0"], "concurrency"),
        (["--set", "llm_context_tokens=10"], "llm_context_tokens"),
    ],
)
def test_bad_llm_options_are_one_line(args, fragment, capsys):
    code = main(["run", "--days", "1", "--buyers", "1", "--sellers", "1", "--no-progress", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and fragment in err and len(err.splitlines()) == 1


def test_compare_and_sweep_refuse_language_model_agents(tmp_path, capsys):
    args = ["--days", "1", "--seeds", "1", "--processes", "1", "--set", "llm_buyers=true"]
    assert main(["compare", *args, "--out", str(tmp_path / "c")]) == 2
    assert "`admarket run` only" in capsys.readouterr().err
    assert main(["sweep", *args, "--grid", "decay_rate=0,0.1"]) == 2


def test_a_window_too_small_for_the_prompt_is_a_config_error(fake, capsys):
    srv = fake()
    code = run(*live(srv), "--set", "llm_context_tokens=512", "--campaigns-per-buyer", "10")
    err = capsys.readouterr().err
    assert code == 2 and "llm_context_tokens" in err and "system prompt" in err
