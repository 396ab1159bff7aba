"""One validated configuration for a market run: :class:`MarketConfig`.

Every parameter of the model is a field declared with :func:`~admarket.config.params.param`:
its default, bounds, unit and meaning in one place — the market's in :mod:`.market_params`,
direct trading's (B, C) in :mod:`.direct_params`. A config is frozen and validated on
construction — each field by the generic bounds check, then the few rules that relate
fields to each other — so a bad value fails before anything runs, with a message that
names the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

from admarket.config.direct_params import DirectTradingParams
from admarket.config.market_params import MarketParams
from admarket.config.params import GROUPS, Param, check_field, coerce, meta, plain
from admarket.config.vocabulary import BUY_SIDE_FEES, EXCHANGE_FEES
from admarket.errors import ConfigError

# the language-model group: left out of a config's dict while at its defaults (to_dict)
_LLM = GROUPS[-1]


# A dataclass lists its bases' fields from the last base to the first: MarketParams' come
# first, then DirectTradingParams', the order of GROUPS, in which `admarket params`, the
# explorer and a config's dict (and so its hash) list them.
@dataclass(frozen=True)
class MarketConfig(DirectTradingParams, MarketParams):
    """Every parameter of one run. Defaults are the plan's (the ``plan`` preset).

    Fees are *inputs*: the take rates they imply are restated, never discovered. Memory,
    hallucination and reconciliation parameters drive the *outcomes* of scenarios B and C.
    ``admarket params`` lists every field with its range, unit and meaning.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if plain(value) is not value:  # a numpy scalar (batch_run, pandas): kept as Python's
                value = plain(value)
                object.__setattr__(self, f.name, value)  # (frozen)
            check_field(f, value)
        _check_relations(self)

    # ------------------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Total number of steps (hours) in the run."""
        return self.days * self.steps_per_day

    @property
    def n_campaigns(self) -> int:
        """Total number of campaigns in the market."""
        return self.n_buyers * self.campaigns_per_buyer

    @property
    def exchange_take(self) -> float:
        """Total fee share of gross spend on the exchange path (an input, restated)."""
        return sum(getattr(self, f) for f in EXCHANGE_FEES)

    @property
    def buy_side_take(self) -> float:
        """Share of gross spend the buy side (DSP, buyer ad tech) keeps before the bid."""
        return sum(getattr(self, f) for f in BUY_SIDE_FEES)

    def replace(self, **changes: Any) -> MarketConfig:
        """Return a validated copy with ``changes`` applied (unknown names are an error)."""
        return from_mapping(changes, base=self)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every parameter (TOML/JSON friendly).

        Parameters of the language-model group are left out while they are at their
        defaults, so a rule-based run's recorded config (and its hash) is what it was before
        the group existed; ``from_mapping`` fills them back in.
        """
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if meta(f).group != _LLM or getattr(self, f.name) != f.default
        }
        out["campaign_budgets"] = list(self.campaign_budgets)
        return out


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(MarketConfig)}
PARAMS: dict[str, Param] = {name: meta(f) for name, f in FIELDS.items()}


def _check(cond: bool, name: str, value: Any, allowed: str) -> None:
    if not cond:
        raise ConfigError(name, value, allowed)


def _check_relations(c: MarketConfig) -> None:
    """The rules that relate one field to another (bounds of single fields are generic)."""
    for lo_name, hi_name in (
        ("daily_avails_min", "daily_avails_max"),
        ("flight_days_min", "flight_days_max"),
        ("price_deflation_min", "price_deflation_max"),
        ("inventory_inflation_min", "inventory_inflation_max"),
        ("max_cpm_markup_min", "max_cpm_markup_max"),
        ("recon_auto_accept", "recon_split"),
    ):
        lo, hi = getattr(c, lo_name), getattr(c, hi_name)
        _check(hi >= lo, hi_name, hi, f"≥ {lo_name} ({lo})")
    _check(
        c.exchange_take < 1.0,
        "exchange_fee",
        c.exchange_fee,
        "fees on the exchange path must sum to less than 1 "
        f"(exchange + dsp + adtech + sell_adtech + unknown_delta = {c.exchange_take:.3f})",
    )
    _check(
        c.agent_fee + c.protocol_fee < 1.0,
        "protocol_fee",
        c.protocol_fee,
        "agent_fee + protocol_fee must be less than 1",
    )
    _check(
        c.ledger_agent_fee + c.protocol_fee < 1.0,
        "protocol_fee",
        c.protocol_fee,
        "ledger_agent_fee + protocol_fee must be less than 1",
    )


def from_mapping(values: dict[str, Any], base: MarketConfig | None = None) -> MarketConfig:
    """Build a config from ``base`` (default: plan) with ``values`` applied.

    Keys may use dashes or underscores. An unknown key is an error that lists the nearest
    valid names, so a typo in a TOML file or a keyword argument never passes silently.
    """
    base = base or MarketConfig()
    changes: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = str(raw_key).replace("-", "_")
        if key not in FIELDS:
            near = difflib.get_close_matches(key, FIELDS, n=3)
            hint = f"did you mean {', '.join(near)}? " if near else ""
            raise ConfigError(raw_key, value, f"unknown parameter ({hint}see `admarket params`)")
        changes[key] = coerce(FIELDS[key], value)
    return dataclasses.replace(base, **changes)
