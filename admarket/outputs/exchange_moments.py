"""The exchange's stories (scenario A): per campaign, what it paid on the exchange and who
kept what (``clearing``), and the sampled lot auctions, how each price formed (``auction``).

Read, like every story, from the run's store tables (:mod:`.moments`): the transactions'
auction rows and the ``lot_auction`` events.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from admarket.market.accounting import FEE_COLUMNS
from admarket.money import plural, usd
from admarket.outputs.chunked import column_of
from admarket.outputs.moments import Moment, campaign_line, events, fee_lines, records, run_config


def clearing_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """One story per campaign that bought on the exchange: what it paid and who kept what."""
    tx = tables["transactions"]  # whole, or chunked: then read a column at a time
    rows = np.flatnonzero(column_of(tx, "kind") == "auction")
    campaigns = column_of(tx, "campaign")
    keys = campaigns[rows]
    rows = rows[np.argsort(keys, kind="stable")]  # each campaign's rows, in table order
    keys = campaigns[rows]
    del campaigns
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]).tolist() if len(keys) else []
    ends = [*starts[1:], len(keys)] if starts else []
    bounds = list(zip(starts, ends, strict=True))

    # A run of A has tens of millions of rows: each column is put in campaign order on its
    # own (a groupby of the table copied all of it), and each campaign's sums are numpy's
    # sums of the same values in the same order as pandas' sums of its rows were (NaN
    # skipped as pandas skips it)
    def per_campaign(column: str, reduce) -> list:
        values = column_of(tx, column)[rows]
        return [reduce(values[a:b]) for a, b in bounds]

    summed = ("impressions", "buyer_spend", "seller_revenue", *FEE_COLUMNS)
    sums = {c: per_campaign(c, np.nansum) for c in dict.fromkeys(summed)}
    first_day = per_campaign("day", np.nanmin)
    buyer = per_campaign("buyer", lambda v: v[0])
    sellers = per_campaign("seller", lambda v: pd.Series(v).nunique())
    camps = {int(c["campaign_id"]): c for c in records(tables["campaigns"])}
    out = []
    for i, (a, b) in enumerate(bounds):
        cid = int(keys[a])
        totals = {c: float(sums[c][i]) for c in sums}
        imps = int(sums["impressions"][i])
        paid, got = totals["buyer_spend"], totals["seller_revenue"]
        cpm = paid / imps * 1000 if imps else 0.0
        c = camps.get(cid)
        day = int(first_day[i]) + 1
        body = (
            f"**Buyer**: buyer-{int(buyer[i])} ran {campaign_line(c)}.\n\n"
            f"**Outcome**: won {b - a:,} campaign-hours of lot auctions on "
            f"{plural(sellers[i], 'publisher')}: {imps:,} impressions at an average "
            f"{usd(cpm)} CPM (second price, floors).\n\n**Cost**: of the {usd(paid)} the "
            f"campaign paid, publishers received {usd(got)}; intermediaries kept "
            f"{usd(paid - got)}.\n\n**Fees**:\n" + "\n".join(fee_lines(totals))
        )
        line = (
            f"Campaign {cid} paid {usd(paid)} on the exchange; intermediaries kept "
            f"{usd(paid - got)} of it."
        )
        out.append(
            Moment(
                "clearing",
                f"campaign:{cid}:clearing",
                day,
                paid - got,
                0,
                f"Exchange clearing: campaign {cid}",
                body,
                line,
                paid,
            )
        )
    return out


def auction_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """Stories of the sampled lot auctions (``lot_auction`` events; see ``auction_log_rate``):
    one per product — its most contested sampled auction (most bids, then the largest fee) —
    most contested first, so the section shows how prices form rather than one product's
    lots over and over."""
    logged = [x for x in events(tables) if x["kind"] == "lot_auction"]
    logged.sort(key=lambda e: (-len(e["bids"]), -sum(e["fees"].values()), e["step"]))
    seen: set[int] = set()
    picked = []
    for e in logged:
        if e["product"] not in seen:
            seen.add(e["product"])
            picked.append(e)
    out = []
    for e in picked:
        bids = e["bids"]
        listed = ", ".join(
            f"campaign {b['campaign']} {usd(b['bid_cpm'])}"
            + ("" if b["admitted"] else " (below the floor)")
            for b in bids
        )
        win = next(b for b in bids if b["campaign"] == e["winner_campaign"])
        saved = round(win["bid_cpm"], 2) - round(e["clearing_cpm"], 2)  # as the prices read
        fee = sum(e["fees"].values())
        rule = (
            "the runner-up's bid (second price)"
            if e["price_rule"] == "second price"
            else "the floor, as no other admitted bid was higher"
        )
        day = int(e["day"]) + 1
        spd = run_config(tables)["steps_per_day"]
        hour = int(e["step"]) % spd
        when = f"{hour:02d}:00" if spd == 24 else f"step {hour}"
        body = (
            f"**Lot**: {e['impressions']:,} impressions of product {e['product']} (seller-"
            f"{e['seller']}), floor {usd(e['floor_cpm'])} CPM, day {day} at {when}.\n\n"
            f"**Bids** ({len(bids)}): {listed}.\n\n**Winner**: campaign {e['winner_campaign']} "
            f"(buyer-{e['winner_buyer']}) bid {usd(win['bid_cpm'])} and paid "
            f"{usd(e['clearing_cpm'])} CPM, set by {rule}: {usd(saved)} CPM below its bid.\n\n"
            f"**Cost**: the buyer paid {usd(e['buyer_spend'])}; the exchange kept {usd(fee)} "
            f"({fee / e['buyer_spend'] if e['buyer_spend'] else 0:.1%}); the publisher "
            f"received {usd(e['seller_revenue'])}."
        )
        line = (
            f"Day {day}: a lot of product {e['product']} cleared at {usd(e['clearing_cpm'])} CPM "
            f"({plural(len(bids), 'bid')}); the exchange kept {usd(fee)}."
        )
        out.append(
            Moment(
                "auction",
                f"auction:product:{e['product']}",
                day,
                fee,
                0,
                f"Auction: product {e['product']}, day {day} {when}",
                body,
                line,
            )
        )
    return out
