"""Configuration: defaults, presets, TOML files, overrides and clear errors."""

from __future__ import annotations

import pytest

from admarket.config import (
    ConfigError,
    MarketConfig,
    build_config,
    load_preset,
    load_toml,
    preset_names,
    preset_source,
)


def test_defaults_are_the_plan():
    c = MarketConfig()
    assert (c.n_buyers, c.n_sellers, c.campaigns_per_buyer, c.days) == (5, 5, 10, 30)
    assert c.exchange_fee == 0.15 and c.steps == 30 * 24 and c.n_campaigns == 50
    assert load_preset("plan") == c


def test_calibrated_presets_name_their_source_and_restate_its_fees():
    assert {"plan", "isba-pwc-2020", "ana-2023", "no-rot"} <= set(preset_names())
    isba = load_preset("isba-pwc-2020")
    assert isba.exchange_take == pytest.approx(0.49)  # publishers kept 51%
    assert "ISBA/PwC 2020" in preset_source("isba-pwc-2020")
    assert load_preset("ana-2023").exchange_take == pytest.approx(0.29)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("exchange_fee", 1.0, "[0, 1)"),
        ("exchange_fee", -0.1, "[0, 1)"),
        ("n_sellers", 0, "an integer in [1, 10000]"),
        ("campaign_budgets", (-5.0,), "a list of numbers in [1, 1e+09]"),
        ("decay_rate", 1.5, "a number in [0, 1]"),
        ("days", 2.5, "int"),
        ("recon_split", 0.01, "recon_auto_accept"),
        # a lot is priced in whole cents: 1-impression lots cleared for nothing
        ("lot_size", 99, "an integer in [100, 1e+06]"),
        ("seed", -1, "an integer in [0, 4294967295]"),  # exact, not 4.29497e+09
    ],
)
def test_bad_values_name_field_value_and_what_is_allowed(field, value, fragment):
    with pytest.raises(ConfigError) as err:
        build_config(**{field: value})
    msg = str(err.value)
    assert field in msg and repr(value) in msg and fragment in msg


def test_unknown_key_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean decay_rate"):
        build_config(decay_rat=0.1)


def test_fee_stack_must_leave_the_seller_something():
    with pytest.raises(ConfigError, match="sum to less than 1"):
        build_config(exchange_fee=0.5, dsp_fee=0.5)


def test_toml_file_layers_on_preset_and_overrides_win(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('preset = "isba-pwc-2020"\n[market]\nn_buyers = 7\ndecay_rate = 0.1\n')
    c = load_toml(f)
    assert c.n_buyers == 7 and c.decay_rate == 0.1 and c.dsp_fee == 0.08
    c2 = build_config(None, f, n_buyers=9)
    assert c2.n_buyers == 9 and c2.dsp_fee == 0.08


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[market]\nn_buyers = 'many'\n", "n_buyers"),
        ("[market]\nbogus = 1\n", "unknown parameter"),
        ("n_buyers = \n", "valid TOML"),
    ],
)
def test_bad_toml_files(tmp_path, text, fragment):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_toml(f)


def test_missing_file_and_unknown_preset():
    with pytest.raises(ConfigError, match="existing TOML file"):
        load_toml("/nonexistent/x.toml")
    with pytest.raises(ConfigError, match="one of"):
        load_preset("nope")


def test_cli_strings_are_coerced():
    c = build_config(
        n_buyers="7", decay_rate="0.1", verify_recalls="false", campaign_budgets="1000,2000"
    )
    assert c.n_buyers == 7 and c.decay_rate == 0.1 and c.verify_recalls is False
    assert c.campaign_budgets == (1000.0, 2000.0)


def test_a_file_preset_cannot_silently_replace_the_cli_preset(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('preset = "ana-2023"\n[market]\nn_buyers = 7\n')
    with pytest.raises(ConfigError, match="--preset"):
        build_config("isba-pwc-2020", f)
    assert build_config("ana-2023", f).dsp_fee == 0.14  # the same preset twice is fine


def test_a_file_naming_two_presets_is_refused(tmp_path):
    """A top-level preset and another under [market]: one was silently dropped (the
    [market] one won, so a null experiment could run as the plan's defaults)."""
    f = tmp_path / "m.toml"
    f.write_text('preset = "no-rot"\n[market]\npreset = "plan"\n')
    with pytest.raises(ConfigError, match=r"preset = 'plan'.*top level \(no-rot\)"):
        build_config(None, f)
    f.write_text('preset = "no-rot"\n[market]\npreset = "no-rot"\nn_buyers = 3\n')
    same = build_config(None, f)
    assert same.n_buyers == 3 and same == build_config("no-rot", None, n_buyers=3)


def test_a_copy_of_a_bundled_preset_is_a_valid_config_file(tmp_path):
    """Copying a preset to edit it is what a user does first: its ``source`` line was
    refused as an unknown key next to [market]."""
    from admarket.config import presets

    for name in preset_names():
        f = tmp_path / f"{name}.toml"
        f.write_bytes((presets._preset_dir() / f"{name}.toml").read_bytes())
        assert build_config(None, f) == build_config(name), name
    f.write_text("source = 3\n[market]\nn_buyers = 3\n")
    with pytest.raises(ConfigError, match="source"):
        build_config(None, f)


def test_a_toml_file_with_a_byte_order_mark_is_read(tmp_path):
    f = tmp_path / "bom.toml"
    f.write_bytes("\ufeff[market]\nn_buyers = 3\n".encode())
    assert build_config(None, f).n_buyers == 3


# One rule for a value, wherever it is written: a TOML file took n_buyers = 2.0 that --set
# refused, and --set took verify_recalls=1 (or yes, on) that a TOML file refused.
INT, BOOL = "an integer in [1, 20000]", "true or false"
ONE_RULE = [
    # (parameter, its value in TOML, as --set text, what is allowed; None: accepted)
    ("n_buyers", "2.0", "2.0", INT),
    ("n_buyers", '"2.0"', "2.0", INT),
    ("n_buyers", "2", "2", None),
    ("n_buyers", '"2"', "2", None),
    ("verify_recalls", "1", "1", BOOL),
    ("verify_recalls", "0", "0", BOOL),
    ("verify_recalls", '"yes"', "yes", BOOL),
    ("verify_recalls", '"on"', "on", BOOL),
    ("verify_recalls", "false", "false", None),
    ("verify_recalls", '"False"', "False", None),
    ("decay_rate", "0", "0", None),  # an integer is a number
]


@pytest.mark.parametrize(("name", "toml", "cli", "allowed"), ONE_RULE)
def test_a_toml_file_and_the_command_line_take_the_same_values(tmp_path, name, toml, cli, allowed):
    f = tmp_path / "m.toml"
    f.write_text(f"[market]\n{name} = {toml}\n")
    if allowed is None:
        assert getattr(load_toml(f), name) == getattr(build_config(**{name: cli}), name)
        return
    with pytest.raises(ConfigError) as in_file:
        load_toml(f)
    with pytest.raises(ConfigError) as on_line:
        build_config(**{name: cli})
    for err in (in_file.value, on_line.value):  # the field, the value and what is allowed
        assert (err.field, err.allowed) == (name, allowed)
    # and why, where "allowed" alone would not say it (2.0 is a float), alike
    assert in_file.value.reason == on_line.value.reason
    said = f"{on_line.value.reason}; give {allowed}" if on_line.value.reason else allowed
    assert str(on_line.value) == f"invalid {name} = {cli!r}: {said}"
    assert f"invalid {name} = " in str(in_file.value)


@pytest.mark.parametrize(("name", "toml", "cli", "allowed"), [r for r in ONE_RULE if r[3]])
def test_the_cli_refuses_alike_from_a_file_and_from_set(tmp_path, capsys, name, toml, cli, allowed):
    from admarket.cli import main

    f = tmp_path / "m.toml"
    f.write_text(f"[market]\n{name} = {toml}\n")
    base = ["run", "--days", "1", "--no-progress", "--out", str(tmp_path / "o")]
    for extra in (["--config", str(f)], ["--set", f"{name}={cli}"]):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert f"invalid {name} = " in err and allowed in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()


def test_parameters_are_listed_group_by_group_seed_first():
    # MarketConfig gathers its fields from two tables (market_params, direct_params) by
    # inheritance: their order, which `admarket params`, the explorer and a config's dict
    # (and so its hash) follow, must stay the order of GROUPS with the seed first
    from admarket.config import PARAMS
    from admarket.config.params import GROUPS

    order = [GROUPS.index(p.group) for p in PARAMS.values()]
    assert order == sorted(order) and set(order) == set(range(len(GROUPS)))
    listed = list(MarketConfig().to_dict())  # (in PARAMS' order, bar the llm ones it leaves out)
    assert listed[0] == "seed" and listed == [name for name in PARAMS if name in listed]
