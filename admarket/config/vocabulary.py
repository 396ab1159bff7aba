"""The model's fixed vocabularies: its scenarios, channels, KPIs and deal tiers, the names
of its fee parameters by who bears them, and the buyer's negotiation rules.

Plain tuples, declared once: the parameter tables (:mod:`.market_params`,
:mod:`.direct_params`) and the model, report and explorer read them from here (through
:mod:`admarket.config`).
"""

SCENARIOS = ("A", "B", "C")
CHANNELS = ("display", "video", "ctv", "native")
KPIS = ("impressions", "reach", "clicks", "conversions", "viewability")
TIERS = ("public", "seat", "agency", "advertiser")
# Fee parameters: each a share of the buyer's gross spend (inputs, restated as take rates).
# Who bears them on the exchange path: buy-side fees come off the buyer's working media
# before it bids; sell-side fees come off the clearing price before the seller is paid.
BUY_SIDE_FEES = ("dsp_fee", "adtech_fee")
SELL_SIDE_FEES = ("exchange_fee", "sell_adtech_fee", "unknown_delta")
EXCHANGE_FEES = ("exchange_fee", "dsp_fee", "adtech_fee", "sell_adtech_fee", "unknown_delta")
FEE_FIELDS = (*EXCHANGE_FEES, "agent_fee", "protocol_fee")
# The buyer's negotiation rule: the IAB reference buyer's threshold strategy, or the plan's
# "accept within 10% of target, counter within 20%, reject above" (plan, Gap 3).
BUYER_RULES = ("iab", "plan")
