"""Bad input on every command: one line naming the problem, exit code 2, nothing written."""

from __future__ import annotations

import subprocess
import sys

import pytest

from admarket.cli import main


@pytest.fixture
def afile(tmp_path):
    f = tmp_path / "plain-file"
    f.write_text("not a directory\n")
    return f


def _cases(tmp_path, afile):
    out = str(tmp_path / "out")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[market\nn_buyers = 3\n")
    wrong_type = tmp_path / "wrong.toml"
    wrong_type.write_text("[market]\nn_buyers = 'five'\n")
    return [
        (["run", "--bogus"], "unrecognized arguments: --bogus"),
        (["run", "--days", "x"], "invalid int value: 'x'"),
        (["run", "--days", "0", "--out", out], "invalid days = 0"),
        (["run", "--config", str(bad_toml), "--out", out], "valid TOML"),
        (["run", "--config", str(wrong_type), "--out", out], "invalid n_buyers = 'five'"),
        (["run", "--config", str(tmp_path / "none.toml"), "--out", out], "existing TOML file"),
        (["run", "--days", "1", "--out", str(afile / "sub")], "is a file, not a directory"),
        (["run", "--days", "1", "--out", str(afile)], "exists and is not a directory"),
        (["compare", "--seeds", "0", "--out", out], "seeds"),
        (["compare", "--days", "1", "--seeds", "1", "--out", str(afile / "x")], "not a directory"),
        (["compare", "--exchange-fee", "2", "--out", out], "invalid exchange_fee = 2.0"),
        (["compare", "--days", "1"], "the following arguments are required: --out"),
        (["sweep", "--grid", "bogus=1", "--out", out], "unknown parameter"),
        (["sweep", "--grid", "exchange_fee=abc", "--out", out], "exchange_fee"),
        (["sweep", "--grid", "exchange_fee=0.1", "--out", str(afile / "x")], "not a directory"),
        (["report", str(tmp_path / "missing")], "no such output directory"),
        (["query", str(tmp_path / "missing"), "--name", "fee_extraction"], "no such output"),
        (["query", str(tmp_path), "--name", "nope"], "invalid choice: 'nope'"),
        (["resume", str(tmp_path / "missing.ckpt")], "does not exist"),
        (["resume", str(afile)], "not an admarket checkpoint"),
        (["verify-ledger", str(tmp_path / "missing.jsonl")], "no ledger file"),
        (["explore", "--port", "abc"], "invalid int value: 'abc'"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ]


def test_every_command_rejects_bad_input_cleanly(tmp_path, afile, capsys):
    for argv, fragment in _cases(tmp_path, afile):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        err = capsys.readouterr().err.strip()
        assert code == 2, (argv, err)
        assert fragment in err, (argv, err)
        assert len(err.splitlines()) == 1, (argv, err)
        assert not (tmp_path / "out").exists(), argv
    assert afile.read_text() == "not a directory\n"


def test_the_installed_command_exits_2_too(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "admarket",
            "compare",
            "--days",
            "1",
            "--seeds",
            "1",
            "--out",
            str(tmp_path / "f" / "x"),
            "--set",
            "lot_size=-3",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "lot_size" in r.stderr


def test_seed_is_not_a_grid_parameter(tmp_path, capsys):
    assert main(["sweep", "--grid", "seed=1,2", "--out", str(tmp_path / "o")]) == 2
    assert "--seeds" in capsys.readouterr().err and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("extra", "grid", "fragment"),
    [
        # a language-model agent failed at its first point, leaving a journal no --resume
        # could finish; now it is refused before anything runs
        ([], "llm_buyers=true,false", "language-model agents run with `admarket run"),
        ([], "llm_sellers=false,true", "language-model agents run with `admarket run"),
        ([], "=1,2", "invalid --grid = '=1,2': NAME=V1,V2"),  # named no parameter
        # a swept parameter also fixed: the grid replaced the fixed value without a word
        (["--buyers", "3"], "n_buyers=1,2", "n_buyers is also fixed by --set or its option"),
        (["--set", "decay-rate=0.1"], "decay_rate=0,0.2", "a cartesian grid replaces it"),
    ],
)
def test_grids_a_sweep_cannot_run_are_refused_before_any_run(
    tmp_path, capsys, extra, grid, fragment
):
    out = tmp_path / "o"
    assert main(["sweep", "--days", "1", *extra, "--grid", grid, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no result, no journal


@pytest.mark.parametrize(
    "args",
    [
        ["--set", "n_buyers=2", "--set", "n_buyers=3"],
        ["--buyers", "7", "--set", "n_buyers=3"],
        ["--set", "decay_rate=0.1", "--set", "decay-rate=0.2"],
    ],
)
def test_a_parameter_set_twice_is_refused_not_last_one_wins(capsys, args):
    assert main(["run", "--days", "1", "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    assert "each parameter once" in err and err.count("\n") == 1


def test_a_reader_that_goes_away_is_a_quiet_sigpipe_exit():
    """`admarket params | head -1`: when the reader closes the pipe first, the command stops
    with SIGPIPE's status (141) and says nothing, as Unix tools do (it printed
    "admarket: error: Broken pipe", exit 2)."""
    p = subprocess.Popen(
        [sys.executable, "-m", "admarket", "params"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # gone before the first line is written
    err = p.stderr.read()
    assert p.wait() == 141 and err == b""


def test_a_broken_pipe_that_is_not_the_output_is_an_error(monkeypatch, capsys):
    """Only the output's own reader going away is the quiet 141: another pipe breaking (a
    connection, say) is a one-line error, exit 2."""
    cli_main = sys.modules["admarket.cli.main"]  # (admarket.cli.main is also the function)

    def broken(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli_main, "check_config", broken)
    assert main(["params"]) == 2
    assert capsys.readouterr().err.strip() == "admarket: error: Broken pipe"


@pytest.mark.parametrize(
    ("argv", "option", "first", "second"),
    [
        (["run", "--buyers", "2", "--buyers", "3"], "--buyers", "2", "3"),
        (["run", "--days", "1", "--seed", "4", "--seed", "5"], "--seed", "4", "5"),
        (["run", "--buyers", "2", "--buy", "3"], "--buyers", "2", "3"),  # an abbreviation
        (["run", "--preset", "small", "--preset", "large"], "--preset", "'small'", "'large'"),
        (["compare", "--seeds", "2", "--seeds", "5", "--out", "o"], "--seeds", "2", "5"),
        (["compare", "--out", "x", "--out", "y"], "--out", "'x'", "'y'"),
        (["compare", "--sellers", "2", "--sellers", "3", "--out", "o"], "--sellers", "2", "3"),
        (
            ["sweep", "--grid", "n_buyers=1,2", "--exchange-fee", "0.1", "--exchange-fee", "0.2"],
            "--exchange-fee",
            "0.1",
            "0.2",
        ),
        (
            ["sweep", "--grid", "n_buyers=1,2", "--scheduler", "a", "--scheduler", "b"],
            "--scheduler",
            "'a'",
            "'b'",
        ),
    ],
)
def test_a_named_option_given_twice_is_refused_not_last_one_wins(
    tmp_path, monkeypatch, capsys, argv, option, first, second
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1, err
    assert f"argument {option}: given twice" in err and f"{first}, then {second}" in err, err
    assert list(tmp_path.iterdir()) == []


def test_options_meant_to_repeat_still_repeat():
    from admarket.cli.main import build_parser
    from admarket.cli.options import config_from_args

    parse = build_parser().parse_args
    run = parse(["run", "--set", "days=2", "--set", "decay_rate=0.1", "--buyers", "4"])
    assert (run.set, run.n_buyers) == (["days=2", "decay_rate=0.1"], 4)
    assert not hasattr(run, "_admarket_given_options")  # the parser's bookkeeping is gone
    sweep = parse(["sweep", "--grid", "n_buyers=1,2", "--grid", "days=1,2", "--set", "seed=3"])
    assert sweep.grid == ["n_buyers=1,2", "days=1,2"]
    # a flag repeated changes nothing: still accepted
    assert parse(["run", "--no-progress", "--no-progress"]).no_progress is True
    # --policy repeats, one role each (it kept only the last, dropping buyer=llm unsaid)
    pol = parse(["run", "--policy", "buyer=rules", "--policy", "seller=rules"])
    cfg = config_from_args(pol)
    assert pol.policy == ["buyer=rules", "seller=rules"]
    assert (cfg.llm_buyers, cfg.llm_sellers) == (False, False)


@pytest.mark.parametrize(
    "policy",
    [["--policy", "buyer=llm", "--policy", "buyer=rules"], ["--policy", "buyer=llm,buyers=rules"]],
)
def test_a_policy_role_given_twice_is_refused(capsys, policy):
    assert main(["run", "--days", "1", "--no-progress", *policy]) == 2
    err = capsys.readouterr().err
    assert "invalid --policy" in err and "each role once; buyer" in err and err.count("\n") == 1


def test_numpy_scalars_are_taken_as_python_values_and_a_float_says_it_is_one(tmp_path, capsys):
    """batch_run over a numpy range, or a pandas column, hands np.int64: an integer, which
    MarketConfig refused ("invalid n_buyers = np.int64(3): an integer in [1, 20000]", as if
    out of range). Numpy integers, booleans and floats are now their Python values (kept
    as such: the config's JSON and hash are a plain int's); a float for an integer is
    still refused, saying it is a float — in Python, a TOML file and --set alike."""
    import json

    import numpy as np

    from admarket.batch import batch_run
    from admarket.config import MarketConfig, from_mapping
    from admarket.errors import ConfigError
    from admarket.model import MarketModel

    cfg = MarketConfig(
        n_buyers=np.int64(3), verify_recalls=np.bool_(False), decay_rate=np.float64(0.25)
    )
    assert (type(cfg.n_buyers), type(cfg.verify_recalls), type(cfg.decay_rate)) == (
        int,
        bool,
        float,
    )
    plain = MarketConfig(n_buyers=3, verify_recalls=False, decay_rate=0.25)
    assert json.dumps(cfg.to_dict()) == json.dumps(plain.to_dict())
    assert MarketModel("A", n_buyers=np.int32(3)).config.n_buyers == 3
    params = {"design": "A", "n_buyers": np.arange(1, 3), "n_sellers": np.int64(1)}
    params |= {"days": np.int64(1), "campaigns_per_buyer": np.int64(1)}
    res = batch_run(MarketModel, params, rng=np.arange(7, 8), display_progress=False)
    configs = [json.loads(r["tables"]["runs"]["config"][0]) for r in res]
    assert [(c["n_buyers"], c["days"]) for c in configs] == [(1, 1), (2, 1)]
    float_said = r"invalid n_buyers = .*: 2\.0 is a float; give an integer in \[1, 20000\]"
    for value in (2.0, np.float64(2.0), "2.0"):
        with pytest.raises(ConfigError, match=float_said):
            from_mapping({"n_buyers": value})
    for make in (lambda: MarketConfig(n_buyers=2.0), lambda: MarketModel("A", n_buyers=2.0)):
        with pytest.raises(ConfigError, match=float_said):
            make()
    with pytest.raises(ConfigError, match="True is a boolean; give an integer"):
        MarketConfig(n_buyers=np.True_)
    with pytest.raises(ConfigError, match="verify_recalls = 1: true or false"):
        MarketConfig(verify_recalls=np.int64(1))  # a number is no boolean, numpy's either
    toml = tmp_path / "m.toml"
    toml.write_text("[market]\nn_buyers = 2.0\n")
    assert main(["run", "--config", str(toml), "--out", str(tmp_path / "o")]) == 2
    assert main(["run", "--set", "n_buyers=2.0", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
    assert capsys.readouterr().err.count("2.0 is a float; give an integer in [1, 20000]") == 2
