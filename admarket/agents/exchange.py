"""The exchange (scenario A only): buyers' bids meet sellers' avails, for a fee.

Each hour the exchange sells every product's lots in second-price auctions with the
sellers' floors. Campaigns bid up to their max CPM, scaled by how well the product's
audience matches theirs, on as many lots as their pacing budget allows this hour (spread
over the products they can buy in proportion to their size, each lot chosen at random): a
lot's price is set by the campaigns that happened to bid on it, so scarce inventory clears
high and abundant inventory near the floor. Its database of spend and delivery is exact:
buyers in A read it rather than remember.

Fees fall where they fall in the real chain. Buy-side fees (DSP, buyer ad tech) come off the
buyer's working media before it bids: a campaign whose all-in limit is X bids X × (1 − buy
side) into the auction, and each lot it wins at clearing price P costs it P / (1 − buy side).
Sell-side fees (exchange/SSP, seller ad tech, the unknown delta) come off the clearing
price before the seller is paid. So a higher buy-side stack means fewer impressions for the
same budget, and any stack means less for publishers. Every fee is booked as its share of
the buyer's gross spend, so A's take rate is the configured stack by construction.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from mesa import Agent

from admarket.config import BUY_SIDE_FEES
from admarket.market.accounting import cents, split_fees
from admarket.market.auction import SecondPriceAuction
from admarket.market.auction_log import sample_lot_auctions
from admarket.market.eligibility import pair_coverage
from admarket.market.runs import first_of_runs, run_lengths
from admarket.market.start_index import StartIndex
from admarket.streams import AUCTION, AUCTION_LOG, BID_SPREAD, stream

CATCH_UP = 3.0  # max hourly bidding budget, as a multiple of the even pace
PAIR_BLOCK = 1 << 22  # pairs a block in a pass over pairs (see _campaign_blocks)


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` for integers, by sorting: numpy 2.3+'s hash-based unique took 10.6 s
    on 5 M keys where the (stable, radix) sort takes 0.06 s — A's hourly bid dedupe."""
    s = np.sort(x, kind="stable")
    return s[first_of_runs(s)]


def _campaign_blocks(offsets: np.ndarray, lo_c: int, end_c: int) -> Iterator[tuple[int, int]]:
    """Consecutive ranges ``(lo_c, hi_c)`` of the campaigns ``lo_c .. end_c - 1`` holding at
    most PAIR_BLOCK pairs each (a campaign with more is a range of its own), given each
    campaign's first pair (``offsets``): a pass over pairs a range at a time bounds the
    memory it takes (a 10x market has 80 M pairs)."""
    while lo_c < end_c:
        hi_c = int(np.searchsorted(offsets, offsets[lo_c] + PAIR_BLOCK, "right")) - 1
        hi_c = min(max(hi_c, lo_c + 1), end_c)
        yield lo_c, hi_c
        lo_c = hi_c


class ExchangeAgent(Agent):
    """The ad exchange with its fee stack and its central database."""

    kind = "exchange"

    def __init__(self, model, fee_rates: dict[str, float]):
        super().__init__(model)
        self.name = "exchange-0"
        mk, cfg = model.market, model.config
        self.auction = SecondPriceAuction()
        self._tiebreak_rng = stream(cfg.seed, AUCTION)
        self._log_rng = stream(cfg.seed, AUCTION_LOG)  # its own stream: logging changes nothing
        self.fee_rates = fee_rates
        # the share of gross spend the buy side keeps before the bid reaches the auction
        self.working = 1.0 - sum(fee_rates.get(f, 0.0) for f in BUY_SIDE_FEES)
        # every (campaign, product) pair that could trade: channel and audience match
        self.pair_c, self.pair_p = mk.pair_c, mk.pair_p  # int32, sorted by campaign
        self.offsets = mk.pair_offsets
        self.has_pairs = np.diff(self.offsets) > 0
        lot = cfg.lot_size
        self.budget_cents = np.rint(mk.budget * 100).astype(np.int64)
        # gross cents per lot at a campaign's highest bid, rounded up (plus the most that
        # grossing a media price up by the buy-side fees can round to): demand never overspends
        max_bid = self._max_bids(mk)
        slack = 0.5 / self.working
        self.lot_cost_cap = np.ceil(max_bid * 100 * lot / 1000 + slack).astype(np.int64)
        # A campaign spreads its hourly lots over its products as a DSP pacer does: each lot
        # goes to one of its products drawn at random in proportion to the product's declared
        # size (a multinomial draw from the exchange's own stream), so over the flight every
        # eligible product gets its share of the campaign's bids. Pairs are sorted by campaign,
        # so campaign c owns the slice offsets[c]:offsets[c + 1] of the pair arrays;
        # ``pair_start`` is c plus the campaign's cumulative size share before each pair,
        # increasing over all pairs, so a draw c + u (u uniform in [0, 1)) falls in the
        # last pair whose start is at or below it (found through a StartIndex).
        self.pair_start = self._pair_starts(mk)
        self._spread_rng = stream(cfg.seed, BID_SPREAD)
        self._starts_index: StartIndex | None = None  # built at the first hour

    @staticmethod
    def _bids_of(mk, c: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The bid CPM of campaigns ``c`` on products ``p``: the campaign's max CPM × (0.7 +
        0.3 × audience coverage). Computed for the pairs bid on, not stored for every pair
        (640 MB at a 10x market's 80 M pairs); the same arithmetic, so the same values."""
        coverage = pair_coverage(mk.segments, mk.seller_segments, c, mk.product_seller[p])
        return mk.max_cpm[c] * (0.7 + 0.3 * coverage)

    @staticmethod
    def _max_bids(mk) -> np.ndarray:
        """Each campaign's highest bid over its pairs (0 without pairs), in blocks of pairs."""
        out = np.zeros(mk.n_campaigns)
        offsets = mk.pair_offsets
        for lo_c, hi_c in _campaign_blocks(offsets, 0, mk.n_campaigns):
            lo, hi = int(offsets[lo_c]), int(offsets[hi_c])
            if hi > lo:
                bids = ExchangeAgent._bids_of(mk, mk.pair_c[lo:hi], mk.pair_p[lo:hi])
                starts = offsets[lo_c:hi_c]
                on = np.diff(offsets[lo_c : hi_c + 1]) > 0
                out[lo_c:hi_c][on] = np.maximum.reduceat(bids, starts[on] - lo)
        return out

    @staticmethod
    def _pair_starts(mk) -> np.ndarray:
        """c + the campaign's cumulative size share before each pair (see __init__).

        Computed in blocks of whole campaigns (a 10x market has 80 M pairs: five arrays of
        that size at once were 1.2 GB above the rest of the build), with the running sum
        carried from block to block as the first term of the next block's sum, so every
        value is the one a single pass over all pairs gives."""
        out = np.empty(mk.pair_c.size)
        offsets, carry = mk.pair_offsets, 0.0
        for lo_c, hi_c in _campaign_blocks(offsets, 0, mk.n_campaigns):
            lo, hi = int(offsets[lo_c]), int(offsets[hi_c])
            if hi > lo:
                carry = ExchangeAgent._starts_of(mk, lo, hi, carry, out[lo:hi])
        return out

    @staticmethod
    def _starts_of(mk, lo: int, hi: int, carry: float, out: np.ndarray) -> float:
        """:meth:`_pair_starts` for pairs ``lo:hi`` (whole campaigns) into ``out``, given
        the sum of every earlier pair's share (``carry``); returns the sum through ``hi``."""
        pair_c = mk.pair_c[lo:hi]
        size = mk.daily_avails[mk.pair_p[lo:hi]].astype(float)
        c0 = int(pair_c[0])
        total = np.bincount(pair_c - c0, weights=size)
        size /= np.maximum(total[pair_c - c0], 1.0)  # each pair's share of its campaign
        running = np.cumsum(np.concatenate(([carry], size)))  # carry + each share in turn
        before = running[1:] - size  # the running sum before each pair
        first = mk.pair_offsets[c0 : int(pair_c[-1]) + 1] - lo
        first = np.minimum(first, size.size - 1)
        out[:] = before
        out -= before[first][pair_c - c0]  # (campaigns without pairs are never looked up)
        out += pair_c
        return float(running[-1])

    @staticmethod
    def _lot_offset(supply: np.ndarray) -> np.ndarray:
        """Global id of each product's first lot this hour (lots numbered product by product)."""
        off = np.zeros(supply.size, dtype=np.int64)
        np.cumsum(supply[:-1], out=off[1:])
        return off

    def clear_hour(self) -> None:
        """Pace every live campaign, clear this hour's auctions and settle them."""
        lots_c = self._paced_lots()
        if lots_c is None:
            return
        bids = self._bids(lots_c)
        if bids is None:
            return
        lot, pc, pp, price, entry, n_entries = bids
        m, mk, cfg = self.model, self.model.market, self.model.config
        res = self.auction.clear(
            lot, price, mk.floor_cpm[pp], tiebreak=self._tiebreak_rng.random(lot.size)
        )
        if res.winner.size == 0:
            return
        for fields in sample_lot_auctions(
            self._log_rng,
            cfg.auction_log_rate,
            lot=lot,
            bid=price,
            floor=mk.floor_cpm[pp],
            campaign=pc,
            product=pp,
            clearing=res,
            lot_size=cfg.lot_size,
            fee_rates=self.fee_rates,
            seller_of_product=mk.product_seller,
            buyer_of_campaign=mk.campaign_buyer,
        ):
            m.events.emit(m.t, "lot_auction", **fields)
        won = res.winner
        self._settle(pc[won], pp[won], res.price, entry[won], n_entries)

    def _paced_lots(self) -> np.ndarray | None:
        """Lots each campaign may bid for this hour (None when no campaign is live).

        Pacing: spend up to the budget share of the flight's traffic through this hour,
        catching up on a shortfall at most CATCH_UP times the even hourly pace (as DSP
        pacers do), so a campaign that keeps losing does not bid for its whole backlog.
        """
        m, mk = self.model, self.model.market
        t, acc = m.t, m.accounts
        live = (
            (mk.start_step <= t)
            & (t < mk.end_step)
            & ~m.campaign_stopped
            & (acc.spent < self.budget_cents)
        )
        if not live.any():
            return None
        span = mk.cum_weight[mk.end_step] - mk.cum_weight[mk.start_step]
        frac = np.clip((mk.cum_weight[t + 1] - mk.cum_weight[mk.start_step]) / span, 0, 1)
        pace = self.budget_cents * mk.hour_weight[t] / span
        allowance = np.minimum(
            np.floor(self.budget_cents * frac) - acc.spent,
            np.minimum(self.budget_cents - acc.spent, np.ceil(CATCH_UP * pace)),
        )
        lots_c = np.where(
            live & (self.lot_cost_cap > 0),
            np.maximum(allowance, 0) // np.maximum(self.lot_cost_cap, 1),
            0,
        )
        return lots_c.astype(np.int64)

    def _bids(self, lots_c: np.ndarray):
        """This hour's bids as (global lot id, campaign, product, bid CPM, entry, entries),
        one per (campaign-product pair, lot); ``entry`` numbers the bidding pairs 0 ..
        entries - 1 in (campaign, product) order. None when nobody bids."""
        mk, t = self.model.market, self.model.t
        sel = np.nonzero((lots_c > 0) & self.has_pairs)[0]
        if sel.size == 0:
            return None
        idx, demand = self._spread(sel, lots_c[sel])
        supply = mk.hourly_avails[:, t]
        # Throttled participation: a campaign bids on as many of a product's lots this hour
        # as its pacing allows, chosen at random (a lot picked twice gets one bid), so each
        # lot's auction has only the campaigns that happened to bid on it — as in a real
        # exchange, where paced buyers enter a fraction of the auctions they could.
        product = self.pair_p[idx]
        n_bids = np.minimum(demand, supply[product])
        entry = np.repeat(np.arange(idx.size), n_bids)
        if entry.size == 0:
            return None
        pp = product[entry]
        lot = self._lot_offset(supply)[pp] + np.floor(
            self._tiebreak_rng.random(entry.size) * supply[pp]
        ).astype(np.int64)
        n_lots = int(supply.sum()) + 1
        key = _sorted_unique(entry * n_lots + lot)  # one bid per (entry, lot)
        entry, lot = np.divmod(key, n_lots)
        campaign = self.pair_c[idx]
        # buy-side fees come off the working media before the bid enters the auction
        media_bid = self._bids_of(self.model.market, campaign, product)[entry] * self.working
        return (
            lot,
            campaign[entry].astype(np.int64),
            product[entry].astype(np.int64),
            media_bid,
            entry,
            idx.size,
        )

    def _spread(self, sel: np.ndarray, lots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the campaigns ``sel`` send their ``lots`` this hour: the pairs they bid on
        and how many lots each, every lot drawn over the campaign's products by size."""
        camp = np.repeat(sel, lots)
        draws = camp + self._spread_rng.random(camp.size)
        # Only each pair's count of draws is kept, so the draws may be sorted: campaign c's
        # lie in [c, c + 1] and ``camp`` is sorted, so the k-th smallest draw still belongs to
        # camp[k] (only a draw rounded up to c + 1 can tie across campaigns, and tied draws
        # are interchangeable). Sorted, they are placed reading the index in order, and
        # each pair's draws are one run of the ascending positions: counting runs reads
        # the draws alone. A stable sort (timsort) takes the nearly sorted draws in less
        # than half quicksort's time; equal floats are interchangeable, so the sorted
        # array is the same.
        draws.sort(kind="stable")
        # the last pair whose start is at or below the draw, inside the draw's own campaign
        # (a draw c + u rounded up to c + 1 stays in c's last pair)
        hit, n = run_lengths(self._start_index().last_at_or_below(draws, camp))
        return hit, n.astype(np.int64)

    def _start_index(self) -> StartIndex:
        """The bucketed index of ``pair_start`` (built at the first hour; not pickled)."""
        index = self.__dict__.get("_starts_index")  # (a checkpoint older than it has none)
        if index is None:
            n_c = self.offsets.size - 1
            blocks = _campaign_blocks(self.offsets, 0, n_c)
            index = self._starts_index = StartIndex(self.pair_start, self.offsets, blocks)
        return index

    def __getstate__(self) -> dict:
        # the index is derived from pair_start: a checkpoint rebuilds it, not stores it
        return {**self.__dict__, "_starts_index": None}

    def _settle(
        self,
        won_c: np.ndarray,
        won_p: np.ndarray,
        price_cpm: np.ndarray,
        won_entry: np.ndarray,
        n_entries: int,
    ) -> None:
        """Charge winners, pay sellers net of the fee stack: one row per (campaign, product).

        A lot that clears at media price P costs the buyer P grossed up by the buy-side fees
        (rounded down to the cent); every fee is then its share of that gross. ``won_entry``:
        each won lot's bidding pair (of ``n_entries``, numbered in (campaign, product) order)."""
        m, mk, cfg = self.model, self.model.market, self.model.config
        acc = m.accounts
        media = cents(price_cpm, np.ones(price_cpm.size), cfg.lot_size)
        lot_cents = np.floor(media / self.working + 1e-9).astype(np.int64)
        # summed per bidding pair: the pairs with wins, in (campaign, product) order, are the
        # rows np.unique of the (campaign, product) keys gives, without sorting the wins
        # (which was a third of this); each pair's wins add in the same order
        lots_e = np.bincount(won_entry, minlength=n_entries)
        hit = np.flatnonzero(lots_e)
        lots = lots_e[hit].astype(np.int64)
        gross = np.bincount(won_entry, weights=lot_cents, minlength=n_entries)[hit]
        gross = gross.astype(np.int64)
        c_e = np.zeros(n_entries, dtype=np.int64)
        c_e[won_entry] = won_c
        p_e = np.zeros(n_entries, dtype=np.int64)
        p_e[won_entry] = won_p
        c, p = c_e[hit], p_e[hit]
        rows = c * mk.n_products + p
        fees, net = split_fees(gross, self.fee_rates)
        s = mk.product_seller[p]
        np.add.at(acc.spent, c, gross)
        np.add.at(acc.delivered, c, lots)
        acc.delivered_pc.add(c, p, lots)
        acc.record_auction(
            step=m.t,
            pair=rows,
            n_products=mk.n_products,
            lots=lots,
            gross=gross,
            fees=fees,
            net=net,
            buyer_of=mk.campaign_buyer,
            seller_of=mk.product_seller,
            fee_rates=self.fee_rates,
            lot_size=cfg.lot_size,
        )
        m.add_flow(mk.campaign_buyer[c], s, gross, net)
        m.events.count("auction_wins", int(c.size))
