"""The explorer's Info panel (in the spirit of NetLogo's Info tab): what is modelled, what
to notice, what to try, and a glossary of every term the charts, graph and feed use.

Plain HTML (Solara's Markdown would fetch KaTeX and Mermaid from a CDN, absent offline).
"""

from __future__ import annotations

from html import escape

WHAT = """
<p>An ad market in which <b>buyers</b> (advertisers and agencies, each running campaigns
with a budget and goals) buy <b>impressions</b> from <b>sellers</b> (publishers). One step
is one simulated hour. The same market — the same publishers, campaigns and hourly supply
for a given seed — can trade in three ways:</p>
<ul>
<li><b>A — exchange.</b> Buyers bid in the exchange's second-price auctions every hour.
The exchange keeps exact books and takes a fee on every dollar (the take rate is an input,
set by the fee parameters).</li>
<li><b>B — agent to agent.</b> AI agents for buyers and sellers negotiate deals directly
and keep what they know in their own <i>volatile memory</i>: facts decay, a full context
pushes old facts out, processes restart and lose everything, and an agent may recall a
fact wrongly (a <i>fabrication</i>). They act on what they believe, not on the truth.</li>
<li><b>C — agent to agent with a ledger.</b> The same agents and the same memory, but every
negotiation and delivery is written to a shared hash-chained ledger: an agent that forgot
something reads it back, recalled facts can be checked before acting, and invoices are
settled against the record. The ledger costs gas and blob storage.</li>
</ul>
<p>An auditor grades every fact an agent acts on against the ground truth the agent cannot
see; that is where "decisions on a wrong fact" come from. Nothing in the charts is a
constant: every number is counted from what happened in the run.</p>
<p>The model is built with Mesa (agent-based modelling in Python); this explorer runs on
Solara and draws its charts with Vega-Lite, all served from this machine.</p>
"""

NOTICE = """
<ul>
<li>The <b>take rate</b> in A sits at the fee stack; in B and C it is the small agent fee
(plus, in C, the ledger cost). Watch what B pays instead: <b>disputes</b>, money
<b>written off</b> and campaigns that miss their goals.</li>
<li>On the graph, orange halos (facts lost), red rings (restarts) and magenta crosses
(decisions on a wrong fact) light up on the day they happen and fade over four days.
In B they spread as memory rots; in C the ledger catches most fabrications.</li>
<li>B and C settle in the evening (23:00): most of their events arrive once a day, which is
why the explorer draws one frame per simulated day by default.</li>
<li>With several seeds, the band around a line is the range over the seeds: a difference
between scenarios that stays outside the bands is not luck.</li>
</ul>
"""

TRY = """
<ul>
<li>Choose the <i>no-rot</i> preset (no decay, hallucination, restarts or ledger faults;
unlimited memory) and set <b>ledger agent fee</b> to the <b>agent fee</b> (5%): B and C
then trade identically and C differs only by its ledger cost. Without the fee change C
also keeps 2% of spend where B keeps 5%; with only hallucination and decay at 0, B still
loses facts to restarts and a full memory, which C recovers from its ledger.</li>
<li>Raise <b>restart rate</b> to 0.05 per day and watch red rings spread in B.</li>
<li>Choose the <i>isba-pwc-2020</i> preset: the exchange's fee stack rises to 49% of spend
(the UK study's finding).</li>
<li>Open the side-by-side page to step A, B and C on the same seed together, on the settings
applied here: the page tabs carry them over (parameters, seeds, preset; each page keeps its
scenario), and back.</li>
<li>Run 3 or 5 seeds to see how much of a difference is noise.</li>
</ul>
"""

GLOSSARY: dict[str, str] = {
    "impressions": "one showing of an ad to a person; sold by the thousand",
    "CPM": "cost per mille: the price of 1,000 impressions, in dollars",
    "lot": "the unit of trade: a fixed number of impressions (lot size, 1,000 by default)",
    "auction lots cleared": "lots sold in the exchange's hourly second-price auctions (A)",
    "buyers' spend": "what buyers have paid so far, fees included (gross spend)",
    "net to publishers": "what sellers have received so far, after every fee and cost",
    "take rate": "the share of buyers' spend kept by intermediaries: fees plus ledger cost",
    "exchange (SSP) fee": "the exchange's share of each auction's price (A)",
    "DSP fee": "the buyer-side platform's share of spend (A, in calibrated presets)",
    "ad-tech fees": "agency, advertiser and publisher technology fees (A, in presets)",
    "unattributed delta": "the share of spend no study could trace (A, ISBA/PwC preset)",
    "agent fee": "the residual fee of the agent platforms on direct deals (B, C)",
    "protocol fee": "the ledger protocol's fee on direct deals (C)",
    "goal attainment": "a 0–100% score per live campaign — half for its KPI goal (scaled to "
    "the share of its flight elapsed), a quarter for its CPM goal, a quarter for staying in "
    "budget — averaged over live campaigns at each day's close",
    "live campaign": "a campaign whose flight has started and not ended",
    "deal": "a direct agreement between a buyer and a seller for impressions at a price",
    "programmatic-guaranteed (PG)": "a deal with a fixed volume the seller must deliver",
    "preferred (PD)": "a deal at a fixed price without a guaranteed volume",
    "private-auction (PA)": "a deal in which invited buyers bid above a floor",
    "walked away": "a negotiation ended without a deal",
    "fact": "one thing an agent knows: a deal's price or end date, a campaign's spend, a "
    "seller's delivery record",
    "facts held": "facts in agents' memory now",
    "facts lost": "facts gone from memory: decayed, pushed out by a full context, or wiped "
    "by a restart",
    "memory decay": "each day, each held fact is lost with the decay-rate probability",
    "a full context": "memory at capacity: storing a new fact pushes the oldest out",
    "restart": "an agent's process restarts and its memory is wiped",
    "recovery": "an agent needed a lost fact and got it back: read from the ledger (C) or "
    "reconstructed from what it still held (B), possibly wrongly",
    "fabricated fact": "a recalled value that is wrong because the agent's recall was "
    "corrupted (a hallucination): a price deflated, inventory inflated, a delivery history "
    "made up",
    "decision on a wrong fact": "a decision that relied on at least one fact that the "
    "auditor found wrong (fabricated or badly reconstructed)",
    "caught by the ledger": "a recalled value that disagreed with the ledger and was "
    "corrected before the agent acted on it (C)",
    "fill rate": "the share of the expected impressions a seller actually delivered",
    "dispute": "buyer and seller disagree on an invoice by more than the split tolerance",
    "written off": "delivered value never paid, after disputes and under-billing",
    "ledger cost": "gas for ledger entries plus storage of the record blobs (C), in dollars",
    "blob": "a batch of ledger and delivery records stored together (Walrus)",
    "band": "with several seeds: the range from the lowest to the highest seed's value",
    "day d, hh:00": "the simulated hour an event happened in; days count from 1",
}


def glossary_html() -> str:
    """The glossary as an HTML definition list."""
    items = "".join(
        f"<dt style='font-weight:600;margin-top:6px'>{escape(term)}</dt>"
        f"<dd style='margin:0 0 0 12px'>{escape(text)}</dd>"
        for term, text in GLOSSARY.items()
    )
    return f"<dl style='margin:0'>{items}</dl>"


def info_html() -> str:
    """The whole Info panel."""
    return (
        "<h3 style='margin:4px 0'>What is modelled</h3>"
        + WHAT
        + "<h3 style='margin:12px 0 4px'>What to notice</h3>"
        + NOTICE
        + "<h3 style='margin:12px 0 4px'>What to try</h3>"
        + TRY
        + "<h3 style='margin:12px 0 4px'>Terms used in the charts and the feed</h3>"
        + glossary_html()
    )
