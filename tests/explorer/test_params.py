"""The explorer's controls come from the parameter metadata; bad input is a message beside
its field; the URL and the CLI command reproduce the settings exactly."""

from __future__ import annotations

import dataclasses
import re
import shlex
from typing import Any

import pytest

from admarket.cli.main import build_parser
from admarket.cli.options import config_from_args, parse_scenarios
from admarket.config import FIELDS, PARAMS, ConfigError, MarketConfig, load_preset, preset_names
from admarket.viz.controls import preset_help
from admarket.viz.params import (
    CONTROLS,
    apply_preset,
    changed_fields,
    cli_command,
    display,
    draft_of,
    from_query,
    grouped,
    parse_typed,
    slider_position,
    step_decimals,
    to_query,
    unused_in,
    validate,
    words,
)
from admarket.viz.session import Settings

DEFAULT = Settings()


def test_every_parameter_has_a_control_with_its_metadata() -> None:
    assert list(CONTROLS) == list(FIELDS)
    for name, c in CONTROLS.items():
        p = PARAMS[name]
        assert (c.help, c.group, c.unit, c.common) == (p.help, p.group, p.unit, p.common)
        assert c.widget in ("slider", "check", "text")
    shown = [c.name for _, common, rare in grouped() for c in (*common, *rare)]
    assert sorted(shown) == sorted(FIELDS)  # all reachable, each once
    rare = {c.name for _, _, r in grouped() for c in r}
    assert rare == {n for n, p in PARAMS.items() if not p.common}  # rare ones fold away


def test_each_control_knows_the_scenarios_its_metadata_names() -> None:
    # read from the group ("ledger (C)") or the help ("C only: …"), never a second table
    by = {name: c.scenarios for name, c in CONTROLS.items()}
    assert by["exchange_fee"] == by["auction_log_rate"] == ("A",)
    assert by["agent_fee"] == by["decay_rate"] == by["llm_buyers"] == ("B", "C")
    assert by["records_per_blob"] == by["protocol_fee"] == by["verify_recalls"] == ("C",)
    assert by["ledger_agent_fee"] == ("C",) and by["dispute_recovery"] == ("B",)
    assert by["recon_split"] == by["count_tolerance"] == by["seller_reach"] == ("B", "C")
    assert by["seed"] == by["n_buyers"] == by["audit_tolerance"] == ("A", "B", "C")
    for name, scenarios in by.items():
        assert scenarios and set(scenarios) <= {"A", "B", "C"}, name


def test_a_parameter_the_scenario_does_not_use_says_so() -> None:
    assert unused_in(CONTROLS["records_per_blob"], ("A",)) == "not used in scenario A"
    assert unused_in(CONTROLS["exchange_fee"], ("B",)) == "not used in scenario B"
    assert unused_in(CONTROLS["decay_rate"], ("A",)) == "not used in scenario A"
    assert unused_in(CONTROLS["decay_rate"], ("C",)) == ""
    assert unused_in(CONTROLS["days"], ("A", "B", "C")) == ""
    assert unused_in(CONTROLS["protocol_fee"], ("A", "B", "C")) == "used in scenario C only"
    assert unused_in(CONTROLS["agent_fee"], ("A", "B", "C")) == "used in scenarios B, C only"


def test_values_are_shown_with_their_units() -> None:
    assert display("exchange_fee", 0.15) == "15% of gross spend"
    assert display("decay_rate", 0.02) == "2% per day"
    assert display("n_buyers", 500) == "500 agents"
    assert display("days", 30) == "30 days"
    assert display("verify_recalls", True) == "on"


def test_the_default_draft_is_the_default_config() -> None:
    cfg, errors = validate(draft_of(MarketConfig()))
    assert errors == {} and cfg == MarketConfig()
    assert changed_fields(draft_of(MarketConfig()), MarketConfig()) == set()


@pytest.mark.parametrize("name", list(FIELDS))
def test_bad_text_in_any_field_is_a_message_for_that_field(name: str) -> None:
    draft = draft_of(MarketConfig())
    draft[name] = "abc" if CONTROLS[name].kind != "bool" else "maybe"
    cfg, errors = validate(draft)
    assert cfg is None
    assert list(errors) == [name]
    assert errors[name].startswith(f"invalid {words(name)} = ")
    assert not any(f in errors[name] for f in FIELDS if "_" in f), errors[name]
    assert name in changed_fields(draft, MarketConfig())


def test_out_of_range_and_related_fields_name_the_field() -> None:
    draft = {**draft_of(MarketConfig()), "seed": "-1", "days": "0"}
    _, errors = validate(draft)
    assert set(errors) == {"seed", "days"}
    assert errors["seed"] == "invalid seed = -1: an integer in [0, 4,294,967,295]"
    draft = {**draft_of(MarketConfig()), "flight_days_min": "20", "flight_days_max": "10"}
    cfg, errors = validate(draft)
    assert cfg is None and list(errors) == ["flight_days_max"]
    assert errors["flight_days_max"] == "invalid flight days max = 10: ≥ flight days min (20)"


def test_messages_name_fields_by_their_labels() -> None:
    # "invalid n_buyers = 20001" sat under a field labelled "Buyers"
    draft = {**draft_of(MarketConfig()), "n_buyers": "20001", "campaigns_per_buyer": ""}
    _, errors = validate(draft)
    assert errors == {
        "n_buyers": "invalid buyers = 20001: an integer in [1, 20,000]",
        "campaigns_per_buyer": "invalid campaigns per buyer = '': an integer in [1, 1,000]",
    }
    assert CONTROLS["n_buyers"].label == "Buyers" and words("scenario") == "scenario"


def test_a_preset_keeps_the_seed_and_the_market_size() -> None:
    draft = {**draft_of(MarketConfig()), "seed": "7", "n_buyers": "3", "days": "4"}
    out = apply_preset("isba-pwc-2020", draft)
    cfg, errors = validate(out)
    assert errors == {}
    assert (cfg.seed, cfg.n_buyers, cfg.days) == (7, 3, 4)
    assert cfg.exchange_take == pytest.approx(load_preset("isba-pwc-2020").exchange_take)
    assert validate(apply_preset(None, out))[0].exchange_take == MarketConfig().exchange_take


def _cli_config(command: str) -> tuple[MarketConfig, list[str]]:
    argv = shlex.split(command)
    assert argv[:2] == ["admarket", "run"]
    args = build_parser().parse_args(argv[1:])
    return config_from_args(args), parse_scenarios(args.scenarios)


SETTINGS = [
    DEFAULT,
    Settings(MarketConfig(seed=7, days=3, decay_rate=0.05, verify_recalls=False), ("C",)),
    Settings(
        load_preset("isba-pwc-2020").replace(seed=9, n_buyers=4, campaign_budgets=(5e3, 2e4)),
        ("A", "B", "C"),
        seeds=3,
        preset="isba-pwc-2020",
    ),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_cli_command_reproduces_the_config(settings: Settings) -> None:
    cfg, scenarios = _cli_config(cli_command(settings))
    assert cfg == settings.config
    assert tuple(scenarios) == settings.scenarios


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_url_query_round_trips(settings: Settings) -> None:
    compare = len(settings.scenarios) > 1
    default = Settings(scenarios=settings.scenarios)
    query = to_query(settings, with_scenario=not compare)
    back, problems = from_query(query, default)
    assert problems == []
    assert back == settings


def test_a_bad_link_is_partly_used_and_says_what_it_ignored() -> None:
    query = "seed=7&decay_rate=abc&bogus=1&seeds=4&preset=nope&scenario=Z&days=3"
    back, problems = from_query(query, DEFAULT)
    assert (back.config.seed, back.config.days) == (7, 3)
    assert back.config.decay_rate == MarketConfig().decay_rate
    assert (back.seeds, back.preset, back.scenarios) == (1, None, ("B",))
    text = " | ".join(problems)
    for word in ("decay_rate", "bogus", "seeds", "preset", "scenario"):
        assert word in text
    assert len(problems) == 5


def test_a_link_with_a_conflicting_pair_keeps_the_rest_and_says_what_it_dropped() -> None:
    # Fields fine alone but not together once dropped every field of the link: the seed,
    # the days and the fee below came back as the defaults, with one message.
    query = (
        "seed=7&days=3&flight_days_min=10&flight_days_max=5&exchange_fee=0.2"
        "&agent_fee=0.6&protocol_fee=0.5"
    )
    back, problems = from_query(query, DEFAULT)
    cfg, default = back.config, MarketConfig()
    assert (cfg.seed, cfg.days, cfg.exchange_fee) == (7, 3, 0.2)
    assert (cfg.flight_days_min, cfg.flight_days_max) == (
        default.flight_days_min,
        default.flight_days_max,
    )
    assert (cfg.agent_fee, cfg.protocol_fee) == (default.agent_fee, default.protocol_fee)
    assert problems == [
        "flight_days_min=10 & flight_days_max=5 together break a rule: "
        "invalid flight_days_max = 5: ≥ flight_days_min (10)",
        "agent_fee=0.6 & protocol_fee=0.5 together break a rule: "
        "invalid protocol_fee = 0.5: agent_fee + protocol_fee must be less than 1",
    ]


def test_a_link_field_at_odds_with_the_defaults_is_the_only_one_dropped() -> None:
    # flight_days_min=40 is fine alone but above the default maximum (30); fees named by
    # their short names in the rule's text (dsp for dsp_fee) are blamed too.
    back, problems = from_query("seed=7&flight-days-min=40&dsp_fee=0.9&days=3", DEFAULT)
    cfg = back.config
    assert (cfg.seed, cfg.days) == (7, 3)
    assert (cfg.flight_days_min, cfg.dsp_fee) == (MarketConfig().flight_days_min, 0.0)
    assert [p.split(" breaks a rule: ")[0] for p in problems] == [
        "flight-days-min=40",
        "dsp_fee=0.9",
    ]
    assert "fees on the exchange path must sum to less than 1" in problems[1]


def test_presets_exist_for_the_select() -> None:
    assert {"plan", "no-rot", "isba-pwc-2020"} <= set(preset_names())


@pytest.mark.parametrize("name", preset_names())
def test_a_presets_help_names_its_source_not_a_file_and_says_when_it_is_the_defaults(
    name: str,
) -> None:
    # The plan preset's help once showed "(shared/reference/000_07fa9c917e949859.txt)" and
    # did not say that choosing it changes nothing but the draft's edits.
    text = preset_help(name)
    assert not re.search(r"[\w.-]+/[\w.-]+/|\.txt\b", text), text  # a path
    defaults = load_preset(name) == MarketConfig()
    assert ("the model's defaults" in text) == defaults, text
    assert text.endswith("keeps the seed, days and market size set here")


SLIDERS = [c for c in CONTROLS.values() if c.widget == "slider"]


@pytest.mark.parametrize("c", SLIDERS, ids=lambda c: c.name)
def test_a_typed_value_follows_the_same_rule_as_the_cli(c: Any) -> None:
    # Every value the CLI's --set takes, the typed box takes, and every one it refuses the box
    # refuses with the CLI's words for the field and its range.
    p = build_parser()
    for text in ("0.137", "0", "0.5", "0.999", "1", "1.5", "-0.01", "abc", "", "nan"):
        value, message = parse_typed(c.name, text)
        try:
            cfg = config_from_args(p.parse_args(["run", "--set", f"{c.name}={text}"]))
        except (ConfigError, SystemExit):
            assert value is None and message.startswith(f"invalid {words(c.name)} = "), text
            assert message.endswith(c.allowed), message
        else:
            assert value == getattr(cfg, c.name) and not message, text


def test_a_slider_shows_a_typed_value_at_its_nearest_step_within_range() -> None:
    # The browser's slider rounds a value to its step and sends the rounded one back: it is
    # given the rounded one, so the exact value typed stays in the draft.
    decay, fee = CONTROLS["decay_rate"], CONTROLS["exchange_fee"]
    assert decay.step == 0.005 and fee.hi == 0.99  # fees are below 1: the slider stops a step short
    assert slider_position(decay, 0.137) == 0.135
    assert slider_position(decay, 0.1375) == 0.14  # half up, as JavaScript rounds
    assert slider_position(decay, 0.02) == 0.02 and slider_position(decay, 1.0) == 1.0
    assert slider_position(fee, 0.995) == 0.99
    for c in SLIDERS:  # every value on the grid is its own position (no echo to the draft)
        n = round((c.hi - c.lo) / c.step)
        for k in range(n + 1):
            x = round(c.lo + k * c.step, 6)
            assert slider_position(c, x) == x, (c.name, x)


@pytest.mark.parametrize(
    ("step", "typed", "shown"),
    [(1e-05, 0.123456, 0.12346), (0.005, 0.137, 0.135), (0.25, 0.3, 0.25), (5.0, 3.0, 5.0)],
)
def test_a_sliders_position_keeps_its_steps_decimals_however_the_step_is_written(
    step: float, typed: float, shown: float
) -> None:
    # repr(1e-05) has no point: its decimals were read as 0, so the slider was handed 0.0
    # (and sent it back to the draft) for any value typed.
    c = dataclasses.replace(CONTROLS["decay_rate"], lo=0.0, hi=10.0, step=step)
    assert step_decimals(step) == {1e-05: 5, 0.005: 3, 0.25: 2, 5.0: 0}[step]
    assert slider_position(c, typed) == shown
