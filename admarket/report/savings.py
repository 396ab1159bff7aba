"""Fee savings per $100K of spend and the fee reduction, A → C (and A → B).

Both are the difference of configured fee rates — inputs restated, given without an interval
(:func:`savings_note` says why and what still moves them across seeds). Both are signed:
a scenario that takes more than A has a negative reduction, reported as such and flagged in
report.json (``{s}_costs_more_than_A``), never cut to 0%.
"""

from __future__ import annotations

from typing import Any

from admarket.config.vocabulary import BUY_SIDE_FEES
from admarket.money import usd, usd_auto
from admarket.report.data import ReportData
from admarket.report.findings_fees import DIRECT_FEES, FEE_PARAMS
from admarket.report.stats import CI, mean_ci
from admarket.report.wording import INPUT, Finding, has, params

PER_100K = 100_000.0


def savings(d: ReportData, s: str) -> tuple[CI, CI]:
    """Fee savings per $100K of spend and fee reduction, A → ``s``, paired by seed.

    Both are signed and never cut at 0: a scenario whose take is above A's has a negative
    reduction, which the report states as such (:func:`reduction_text`) rather than as 0%.
    """
    a, o = d.per_seed("A", "take_rate"), d.per_seed(s, "take_rate")
    seeds = [k for k in a if k in o]
    per_100k = mean_ci((a[k] - o[k]) * PER_100K for k in seeds)
    reduction = mean_ci((a[k] - o[k]) / a[k] for k in seeds if a[k])
    return per_100k, reduction


def costs_more(reduction: CI) -> bool:
    """Whether the scenario takes more in fees than A: its mean fee reduction is negative."""
    return bool(reduction.n) and reduction.mean < 0


def reduction_text(reduction: CI, s: str) -> str:
    """The fee reduction A → ``s`` as a signed percentage of A's take; a negative one says
    plainly that ``s`` costs more in fees than A (it is reported, never shown as 0%)."""
    text = reduction.fmt(".1f", 100, "%")
    if costs_more(reduction):
        text += f": negative, {s} costs more in fees than A"
    return text


def savings_values(d: ReportData, s: str) -> dict[str, Any]:
    """The fee savings A → ``s`` as report.json keeps them: the savings per $100K and the
    signed fee reduction (CIs), ``{s}_costs_more_than_A``, true when the reduction is
    negative, so a reader of the JSON need not infer it from the sign, and the savings'
    buy-side and sell-side parts (:func:`savings_sides`), so no reader credits them all to
    buyers."""
    per, red = savings(d, s)
    buy, sell = savings_sides(d, s)
    return {
        f"{s}_savings_per_100k": per,
        f"{s}_fee_reduction": red,
        f"{s}_costs_more_than_A": costs_more(red),
        f"{s}_savings_buy_side_per_100k": buy,
        f"{s}_savings_sell_side_per_100k": sell,
    }


SET_BY_FEES = "set by the fee inputs (not a finding)"


def savings_sides(d: ReportData, s: str) -> tuple[float, float]:
    """The fee savings per $100K, A → ``s``, split by who keeps the money: (buy side, sell
    side) in dollars.

    Every fee is booked as a share of the buyer's gross spend. A's buy-side fees
    (``dsp_fee``, ``adtech_fee``) come off the buyer's bid, so what ``s`` saves of them
    stays with buyers; every other fee — A's sell-side fees and all of B's and C's, which
    come off the seller's share of a settlement — is taken from what sellers are paid, so
    the rest of the saving stays with sellers. At the default fees (only the exchange fee)
    the buy side is $0: the sellers keep all of it.
    """
    cfg = d.configs.get("A", {})
    buy = sum(float(cfg.get(f) or 0.0) for f in BUY_SIDE_FEES) * PER_100K
    per, _ = savings(d, s)
    return buy, per.mean - buy


def sides_text(d: ReportData, s: str) -> str:
    """Who keeps the fee savings A → ``s``: ``buyers keep $X, sellers keep $Y`` (a negative
    side reads ``… pay $X more``), so the saving is not credited to buyers alone."""
    parts = []
    for who, amount in zip(("buyers", "sellers"), savings_sides(d, s), strict=True):
        parts.append(
            f"{who} keep {usd(amount, 0)}" if amount >= 0 else f"{who} pay {usd(-amount, 0)} more"
        )
    return ", ".join(parts)


KEEPS = (
    "Fees not taken from the trade: buy-side savings (A's dsp_fee and adtech_fee) stay with "
    "buyers, the rest with sellers (A's sell-side fees and all of B's and C's fees come off "
    "the seller's share) — not what either side gets for its money"
)


def savings_amount(per: CI) -> str:
    """Fee savings per $100K as the fee inputs set them: the mean in whole dollars, with no
    interval (see :func:`savings_note`)."""
    return usd(per.mean, 0)


def savings_verb(per: CI) -> str:
    """``saves $X`` or, where the scenario's fees are higher than A's, ``costs $X more``."""
    if per.n and per.mean < 0:
        return f"costs {usd(-per.mean, 0)} more"
    return f"saves {savings_amount(per)}"


def savings_note(d: ReportData) -> str:
    """Why the fee savings carry no interval and what still moves them across seeds.

    The savings are (A's take rate − the scenario's) × $100,000 per seed, and each take rate
    is its configured fee stack applied to spend: the figure is set by the fee inputs, and
    an interval over seeds would dress an input up as an estimate. What moves it from seed
    to seed is named with its size: fees rounded to the cent and, in C, the ledger cost
    (part of C's take, paid per entry rather than per dollar of spend).
    """
    spread = 0.0
    for s in [x for x in ("C", "B") if x in d.scenarios]:
        a, o = d.per_seed("A", "take_rate"), d.per_seed(s, "take_rate")
        per = [(a[k] - o[k]) * PER_100K for k in a if k in o]
        spread = max(spread, max(per, default=0.0) - min(per, default=0.0))
    what = "fees rounded to the cent in each transaction" + (
        ", and in C its ledger cost" if has(d, "C") else ""
    )
    head = (
        f"{SET_BY_FEES[0].upper() + SET_BY_FEES[1:]}: the difference of configured fee rates, "
        "so no interval is given"
    )
    if len(d.seeds) < 2:  # no spread to measure; what would move it is still named
        return f"{head} — one seed here; across seeds it would move only by {what}"
    return f"{head} — across seeds it moves by at most {usd(spread, 2)} per $100K ({what})"


def fee_savings(d: ReportData) -> Finding | None:
    """The plan's "fee reduction" and "savings per $100K of spend", A → C (and A → B)."""
    if not has(d, "A") or len(d.scenarios) < 2:
        return None
    vals: dict[str, Any] = {}
    quotes, said = [], []
    for s in [x for x in ("C", "B") if x in d.scenarios]:
        vals |= savings_values(d, s)
        per, red = vals[f"{s}_savings_per_100k"], vals[f"{s}_fee_reduction"]
        said.append(
            f"Moving from A to {s} {savings_verb(per)} in fees per $100K of spend (a "
            f"fee reduction of {reduction_text(red, s)} of A's take; {sides_text(d, s)}"
        )
        quotes.append(f"{said[-1]}; {SET_BY_FEES}).")  # a quote stands alone: says it too
    first = next(iter(vals.values()))
    text = (
        " ".join(f"{x})." for x in said)
        + f" {savings_note(d)}. {KEEPS} — see goal attainment, disputes and net to "
        "publishers for that."
    )
    s0 = "C" if "C" in d.scenarios else "B"
    more_less = "less" if first.mean >= 0 else "more"
    head = (
        f"A to {s0}: {usd_auto(abs(first.mean))} {more_less} in fees per $100K of spend, "
        "as configured"
    )
    dep = params(d, [*FEE_PARAMS, *DIRECT_FEES])
    return Finding(
        "fee_savings",
        "Fee savings per $100K of spend",
        INPUT,
        text,
        dep,
        vals,
        headline=head,
        quotes=quotes,
        caveats=[
            "Fees only: it leaves out billing write-offs, overspend and under-delivery, which "
            "are outcomes of the run.",
            "The figure moves one for one with exchange_fee and agent_fee.",
        ],
    )
