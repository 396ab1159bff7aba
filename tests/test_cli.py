"""The command line: the plan's smoke checks, tables, and clear errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from admarket.cli import main, verify
from admarket.ledger.verify import VerifyResult


@pytest.mark.parametrize("scenario", ["a", "b", "c"])
def test_plan_smoke_check(scenario, capsys):
    code = main(
        [
            "run",
            "--scenarios",
            scenario,
            "--days",
            "1",
            "--buyers",
            "1",
            "--sellers",
            "1",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"scenario {scenario.upper()}" in out and "intermediary take" in out


def test_python_dash_m_works_the_same():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "admarket",
            "run",
            "--scenarios",
            "a,c",
            "--days",
            "1",
            "--buyers",
            "2",
            "--sellers",
            "2",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "scenario A" in r.stdout and "scenario C" in r.stdout


def test_table_restates_inputs_and_reports_outcomes(capsys):
    main(
        [
            "run",
            "--days",
            "2",
            "--buyers",
            "2",
            "--sellers",
            "2",
            "--exchange-fee",
            "0.2",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert "exchange fee stack 20.0% (A)" in out
    assert "(20.0%)" in out  # A's take rate restates the input


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--scenarios", "d"], "invalid scenarios = 'd'"),
        (["--exchange-fee", "1.5"], "invalid exchange_fee = 1.5"),
        (["--sellers", "0"], "invalid n_sellers = 0"),
        (["--set", "decay_rat=0.1"], "did you mean decay_rate"),
        (["--set", "decay_rate"], "NAME=VALUE"),
        (["--set", "=1"], "invalid --set = '=1': NAME=VALUE"),  # the input, not a blank
        (["--scenarios", "a,"], "invalid scenarios = 'a,'"),
        (["--preset", "nope"], "invalid preset = 'nope'"),
        (["--config", "/no/such.toml"], "existing TOML file"),
        (["--set", "campaign_budgets=-1"], "a list of numbers in [1, 1e+09]"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, fragment, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code = main(["run", "--no-progress", "--out", str(out_dir), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1
    assert not out_dir.exists()


def test_unknown_option_is_a_usage_error_exit_2():
    r = subprocess.run(
        [sys.executable, "-m", "admarket", "run", "--bogus"], capture_output=True, text=True
    )
    assert r.returncode == 2 and "unrecognized arguments: --bogus" in r.stderr


def test_ledger_out_needs_scenario_c(tmp_path, capsys):
    code = main(
        [
            "run",
            "--scenarios",
            "a",
            "--days",
            "1",
            "--no-progress",
            "--ledger-out",
            str(tmp_path / "l.jsonl"),
        ]
    )
    assert code == 2 and "scenario c" in capsys.readouterr().err
    assert not (tmp_path / "l.jsonl").exists()


def test_counts_of_one_are_singular(tmp_path, capsys):
    one = ["--days", "1", "--buyers", "1", "--sellers", "1", "--campaigns-per-buyer", "1"]
    out = tmp_path / "one"
    assert main(["run", "--scenarios", "a", *one, "--no-progress", "--out", str(out)]) == 0
    assert "1 day, 1 buyer, 1 seller, 1 campaign, seed 42\n" in capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert "from 1 run: scenarios A × 1 seed (42)." in report
    assert "1 campaign per run (1 buyer, 1 seller) over 1 day;" in report
    narrative = next((out / "logs").glob("*.narrative.md")).read_text()
    assert "1 day (day 1 … day 1), 1 buyer, 1 seller, 1 campaign." in narrative
    args = ["compare", "--scenarios", "a", "--seeds", "1", "--processes", "1", *one]
    assert main([*args, "--no-progress", "--out", str(tmp_path / "cmp")]) == 0
    assert "1 run (A × 1 seed from 42, 1 day) on" in capsys.readouterr().out
    assert main(["report", str(out), "--content", "--format", "md"]) == 0
    draft = next((out / "content").glob("*.md")).read_text()
    assert "*From 1 run: scenarios A × 1 seed; one seed, no interval.*" in draft
    capsys.readouterr()
    assert main(["status", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: 1 item, 1 complete\n")


def test_a_ledger_of_one_entry_is_singular(tmp_path, capsys, monkeypatch):
    ledger = tmp_path / "l.jsonl"
    ledger.write_text("")  # (what verify_file would read is stood in for below)
    one = VerifyResult(ok=True, n_entries=1, first_bad=None, reason="", head_hash="ab" * 32)
    monkeypatch.setattr(verify, "verify_file", lambda path, anchor: one)
    assert main(["verify-ledger", str(ledger)]) == 0
    assert capsys.readouterr().out.startswith("ok: 1 entry; signatures, hash chain and blob ")


def test_a_run_stopped_while_publishing_leaves_the_ledger_that_matches_the_result(
    tmp_path, monkeypatch
):
    """--ledger-out is put in place only once --out is published: a run interrupted while
    publishing must not leave a ledger that no published store anchors."""
    import admarket.outputs.results as results

    tiny = ["--days", "2", "--buyers", "2", "--sellers", "2", "--campaigns-per-buyer", "2"]
    ledger, out = tmp_path / "l.jsonl", tmp_path / "r"
    args = ["run", "--scenarios", "c", *tiny, "--no-progress", "--ledger-out", str(ledger)]
    assert main([*args, "--out", str(out)]) == 0
    published = ledger.read_bytes()
    assert main(["verify-ledger", str(ledger), "--store", str(out)]) == 0

    def stopped(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "write_run", stopped)
    assert main([*args, "--out", str(out), "--seed", "43"]) == 130
    assert ledger.read_bytes() == published
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.jsonl", "r"]  # no staged copy
    assert main(["verify-ledger", str(ledger), "--store", str(out)]) == 0
    monkeypatch.undo()
    # without --out there is nothing to wait for: the ledger is written at once
    assert main([*args, "--seed", "43"]) == 0
    assert ledger.read_bytes() != published


def test_verify_ledger_against_another_runs_store_is_a_usage_error_not_tampering(tmp_path, capsys):
    """The same seed in a store of another market size: the ledger is not that run's, which
    is not tampering (it said "TAMPERED ... chain truncated", exit 1)."""
    tiny = ["--days", "2", "--sellers", "2", "--campaigns-per-buyer", "2", "--no-progress"]
    ledger = tmp_path / "l.jsonl"
    run = ["run", "--scenarios", "c", *tiny]
    assert (
        main([*run, "--buyers", "2", "--ledger-out", str(ledger), "--out", str(tmp_path / "a")])
        == 0
    )
    assert main([*run, "--buyers", "3", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert main(["verify-ledger", str(ledger), "--store", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "was not written by the scenario-C run of seed 42" in err
    assert "its 4 signers are not that run's 3 buyers and 2 sellers" in err
    assert "TAMPERED" not in err
    assert main(["verify-ledger", str(ledger), "--store", str(tmp_path / "a")]) == 0
    # an edited header is tampering, not another run's ledger: exit 1, as before
    lines = ledger.read_text().splitlines()
    header = json.loads(lines[0])
    header["records_per_blob"] += 1
    ledger.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    capsys.readouterr()
    assert main(["verify-ledger", str(ledger), "--store", str(tmp_path / "a")]) == 1
    assert "TAMPERED" in capsys.readouterr().err


def test_a_full_disk_while_saving_the_ledger_names_the_file_asked_for(
    tmp_path, monkeypatch, capsys
):
    """The ledger is written to a staged copy first: a failed write must name --ledger-out's
    file, not the staged copy (deleted by then)."""
    import errno

    from admarket.ledger.chain import Ledger

    def full(self, fh):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Ledger, "write", full)  # (run writes into the staged copy it holds)
    ledger = tmp_path / "l.jsonl"
    args = ["run", "--scenarios", "c", "--days", "1", "--buyers", "2", "--sellers", "2"]
    assert main([*args, "--no-progress", "--ledger-out", str(ledger)]) == 2
    err = capsys.readouterr().err
    assert f"No space left on device: {ledger} (--ledger-out)" in err
    assert list(tmp_path.iterdir()) == []  # no staged copy left


def test_policy_and_set_naming_the_same_role_are_refused(capsys):
    code = main(["run", "--days", "1", "--policy", "buyer=rules", "--set", "llm_buyers=true"])
    assert code == 2 and "llm_buyers is also given by --set" in capsys.readouterr().err


def test_verify_ledger_finds_its_run_among_runs_of_one_seed_by_the_head(tmp_path, capsys):
    """A sweep over a parameter the ledger's header does not record keeps several
    scenario-C runs of one seed: `verify-ledger --store` refused ("2 scenario-C runs with
    seed 42 ...; need exactly one"). The store records each run's head hash, a hash over
    the whole chain: the run whose anchor is the file's verified head is its run. A ledger
    that is none of theirs is a usage error naming its head, not tampering."""
    tiny = ["--scenarios", "c", "--days", "1", "--buyers", "1", "--sellers", "1"]
    ledgers = {k: tmp_path / f"l{k}.jsonl" for k in (2, 3)}
    for k, ledger in ledgers.items():
        run = ["run", *tiny, "--campaigns-per-buyer", str(k), "--ledger-out", str(ledger)]
        assert main([*run, "--no-progress"]) == 0
    assert ledgers[2].read_text().splitlines()[0] == ledgers[3].read_text().splitlines()[0]
    sweep = ["sweep", *tiny, "--seeds", "1", "--grid", "campaigns_per_buyer=1,2"]
    assert main([*sweep, "--processes", "1", "--no-progress", "--out", str(tmp_path / "s")]) == 0
    capsys.readouterr()
    assert main(["verify-ledger", str(ledgers[2]), "--store", str(tmp_path / "s")]) == 0
    assert "matches the published anchor" in capsys.readouterr().out
    assert main(["verify-ledger", str(ledgers[3]), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "is not the ledger of any of the 2 scenario-C runs with seed 42" in err
    assert "TAMPERED" not in err and "need exactly one" not in err
    # a ledger broken in itself is tampering, as against a store of one run (exit 1); it
    # was "need exactly one, give --anchor" (exit 2), which a script reads as misuse
    *body, trailer = ledgers[2].read_text().splitlines(keepends=True)
    said = json.loads(trailer)
    said["trailer"]["n_entries"] += 1  # the file no longer holds what its trailer says
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(body) + json.dumps(said) + "\n")
    assert main(["verify-ledger", str(broken), "--store", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "TAMPERED" in err and "need exactly one" not in err
