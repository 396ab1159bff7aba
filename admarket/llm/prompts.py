"""What a language-model agent is told: its role and brief (system prompt), and each question.

The system prompt holds what an agent always knows, as a rule-based agent does — a buyer's
campaign briefs (budget, flight, target and max CPM), a seller's rate card (products, base
CPM, floor, sellable lots a day) — and how to read its transcript. Everything that happens
in the market reaches it only through the transcript (:mod:`admarket.llm.transcript`).

Questions end with a line of ``name=value`` pairs repeating the numbers of the question,
so a small model (and the test double in :mod:`admarket.llm.fake_server`) can find them;
the first line names the task, which is also the ``response_format`` schema's name.
In C, :data:`LEDGER_TOOL` is offered: ``ledger_lookup`` reads facts off the shared ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from admarket.config import CHANNELS

if TYPE_CHECKING:  # pragma: no cover
    from admarket.agents.policy import NegotiationContext
    from admarket.agents.trader import TraderAgent
    from admarket.market.negotiation import Move, Outcome

LEDGER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "ledger_lookup",
        "description": (
            "Read facts off the shared, hash-chained ledger: for each fact key (e.g. "
            "deal:17:price) the latest value recorded there, or null if none was recorded."
        ),
        "parameters": {
            "type": "object",
            "properties": {"keys": {"type": "array", "items": {"type": "string"}}},
            "required": ["keys"],
        },
    },
}

_UNITS = (
    "Units: prices are CPM in USD (per 1,000 impressions); volumes and deliveries are lots of "
    "{lot} impressions; times are hours since the market opened ({spd} hours a day)."
)
_READING = (
    "Your transcript (in the user message) is everything you have seen and written down, "
    "oldest first. Facts are written key=value, e.g. deal:17:price=4.2; a later value of a key "
    "replaces an earlier one. Answer with one JSON object only, as each task asks. Never state "
    "a number you were not told or cannot work out from your transcript: leave it out."
)


def _when(t: int, spd: int) -> str:
    return f"day {t // spd + 1}, hour {t} ({t % spd:02d}:00)"


def _ledger_note(agent: TraderAgent) -> str:
    m = agent.model
    if m.records.name != "ledger":
        return (
            "There is no shared record of past trades: what is not in your transcript, you "
            "have lost."
        )
    check = (
        " Check every number you act on against the ledger before you state it."
        if m.config.verify_recalls
        else ""
    )
    return (
        "Every booking, delivery and payment is also recorded on a shared, hash-chained "
        f"ledger; the ledger_lookup tool reads it.{check}"
    )


def system_prompt(agent: TraderAgent) -> str:
    """The role, brief and rules of ``agent`` (a buyer or a seller)."""
    m, cfg = agent.model, agent.model.config
    mk = m.market
    units = _UNITS.format(lot=cfg.lot_size, spd=cfg.steps_per_day)
    if agent.kind == "buyer":
        head = (
            f"You are {agent.name}, the buying agent of an advertiser in a programmatic "
            "advertising market. You trade directly with publishers' selling agents: you ask "
            "for quotes, negotiate CPM prices, book deals, receive delivery reports and pay "
            "for what was delivered."
        )
        brief = [
            f"- campaign {c}: budget ${mk.budget[c]:,.2f}, flight hour {mk.start_step[c]} to "
            f"hour {mk.end_step[c]}, target CPM ${mk.target_cpm[c]:.2f}, max CPM "
            f"${mk.max_cpm[c]:.2f}"
            for c in agent.campaigns
        ]
        title = "Your campaigns (the brief, always known to you):"
    else:
        head = (
            f"You are {agent.name}, the selling agent of a publisher in a programmatic "
            "advertising market. You quote, negotiate and book deals with advertisers' "
            "buying agents, deliver them and invoice what was delivered."
        )
        brief = [
            f"- product {p}: {CHANNELS[int(mk.product_channel[p])]}, base CPM "
            f"${mk.base_cpm[p]:.2f}, floor CPM ${mk.floor_cpm[p]:.2f}, sellable "
            f"{float(mk.daily_avails[p]) * cfg.sellable_share:,.1f} lots a day"
            for p in agent.products
        ]
        title = "Your products (the rate card, always known to you):"
    return "\n".join([head, _ledger_note(agent), title, *brief, units, _READING])


def books_question(agent: TraderAgent, listed: dict[int, int]) -> str:
    """Ask ``agent`` to state every fact it holds (``listed``: deal → campaign or product,
    as the ledger lists them in C)."""
    m = agent.model
    b = agent.index
    if agent.kind == "buyer":
        what = (
            "For each of your campaigns: campaign:<c>:spent (USD paid so far). For each deal "
            "you booked: deal:<d>:campaign, deal:<d>:price, deal:<d>:volume, "
            "deal:<d>:delivered, deal:<d>:start, deal:<d>:end. For each seller you have a "
            f"delivery history with: hist:{b}:<s>:expected and hist:{b}:<s>:delivered."
        )
        tag = "campaign"
    else:
        what = (
            "For each deal you booked: deal:<d>:product, deal:<d>:price, deal:<d>:volume, "
            "deal:<d>:delivered, deal:<d>:start, deal:<d>:end."
        )
        tag = "product"
    lines = [
        f"Task: books. It is {_when(m.t, m.config.steps_per_day)}. State your books: every "
        'fact you hold, as {"facts": {"<key>": <number>, ...}}.',
        what,
    ]
    if listed:
        deals = ", ".join(f"{d} ({tag} {x})" for d, x in sorted(listed.items()))
        lines.append(
            f"The ledger lists your deals: {deals}. Look up with ledger_lookup what you do not "
            "know or are not sure of."
        )
    lines.append("Leave out any fact you do not know.")
    lines.append(f"now_hour={m.t} role={agent.kind} agent={b}")
    return "\n".join(lines)


def avails_question(agent: TraderAgent, product: int, days: float) -> str:
    """Ask a seller how many lots of ``product`` it can still commit over ``days``."""
    m, cfg = agent.model, agent.model.config
    spd = cfg.steps_per_day
    cap = float(m.market.daily_avails[product]) * cfg.sellable_share
    return "\n".join(
        [
            f"Task: avails. It is {_when(m.t, spd)}. A buyer asks how many lots of product "
            f"{product} you can still commit over the next {days:g} days.",
            f"You can sell {cap:g} lots of product {product} a day. Each of your deals on it "
            f"(deal:<d>:product={product}) that ends after now still owes volume − delivered "
            f"lots, spread over its remaining days: (volume − delivered) / max((end − now) / "
            f"{spd}, 1/{spd}) lots a day. What you can commit is floor(max(0, {cap:g} − what "
            f"your deals owe a day) × {days:g}).",
            'Answer {"lots": <number>}.',
            f"product={product} now_hour={m.t} days={days!r} capacity_per_day={cap!r} "
            f"steps_per_day={spd}",
        ]
    )


def _history(moves: list[Move]) -> str:
    return "; ".join(f"{mv.actor} {mv.action.replace('_', ' ')} {mv.price:.2f}" for mv in moves)


def buyer_move_question(
    agent: TraderAgent,
    seller: str,
    ctx: NegotiationContext,
    reply: Move,
    round_no: int,
    offer: float,
    moves: list[Move],
) -> str:
    """Ask a buyer for its answer to the seller's ``reply`` in round ``round_no``."""
    m = agent.model
    return "\n".join(
        [
            f"Task: buyer_move. It is {_when(m.t, m.config.steps_per_day)}. You are "
            f"negotiating a {ctx.deal_type} deal for campaign {ctx.campaign} with {seller} on "
            f"product {ctx.product}; round {round_no} of at most {ctx.terms.max_rounds}.",
            f"So far: {_history(moves)}.",
            'Reply {"action": "accept" | "propose" | "walk_away", "price": <CPM>}: accept '
            "the seller's price, propose a new CPM, or walk away. Never pay above your max "
            "CPM for this campaign.",
            f"seller_price={reply.price!r} seller_action={reply.action} your_last_offer="
            f"{offer!r} target_cpm={ctx.target!r} max_cpm={ctx.max_price!r} round={round_no} "
            f"max_rounds={ctx.terms.max_rounds}",
        ]
    )


def seller_move_question(
    agent: TraderAgent,
    buyer: str,
    ctx: NegotiationContext,
    offer: float,
    round_no: int,
    last_price: float,
    moves: list[Move],
) -> str:
    """Ask a seller for its answer to the buyer's ``offer`` in round ``round_no``."""
    m = agent.model
    return "\n".join(
        [
            f"Task: seller_move. It is {_when(m.t, m.config.steps_per_day)}. You are "
            f"negotiating a {ctx.deal_type} deal on product {ctx.product} with {buyer} (for "
            f"its campaign {ctx.campaign}); round {round_no} of at most {ctx.terms.max_rounds}."
            f" Your quote was {ctx.ask:.2f}; your floor for this deal is {ctx.floor:.2f}.",
            f"So far: {_history(moves)}.",
            'Reply {"action": "accept" | "counter" | "final_offer" | "reject", "price": '
            "<CPM>}: accept the buyer's offer, counter with a price, make a final offer, or "
            "reject. Never sell below your floor.",
            f"offer={offer!r} ask={ctx.ask!r} floor={ctx.floor!r} your_last_price="
            f"{last_price!r} round={round_no} max_rounds={ctx.terms.max_rounds}",
        ]
    )


def negotiation_line(
    me: TraderAgent, other: TraderAgent, ctx: NegotiationContext, outcome: Outcome
) -> str:
    """How a finished negotiation reads in a participant's transcript."""
    moves = outcome.moves
    if me.kind == "buyer":
        about = f"with {other.name} on product {ctx.product} for campaign {ctx.campaign}"
    else:
        about = f"with {other.name} on product {ctx.product} (its campaign {ctx.campaign})"
    end = f"agreed at {outcome.price:.2f}" if outcome.agreed else "no deal"
    return f"{ctx.deal_type} {about}: quote {ctx.ask:.2f}; {_history(list(moves))} → {end}"
