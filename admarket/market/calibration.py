"""Calibrated market figures, each with its source (``shared/reference/calibration.md``).

What the market generator draws prices and campaign outcomes from. Every figure names the
row of the calibration notes (or the public study) it comes from; where no public figure
exists, the comment says so and what stands in for it. These are *inputs*: a report that
quotes a CTR or a CPM range is restating them.
"""

from __future__ import annotations

# Expected clearing CPM per channel (USD), the range a product's expected price is drawn from
# (calibration.md, "CPMs"): display = ANA Q2 2025 open $4.41 … PMP $7.15; video ~$13–14;
# CTV ~$25 typical of $20–40, drawn ±$5; native: IAB example catalog floor 8 … base 12.
CLEARING_CPM = {
    "display": (4.41, 7.15),
    "video": (13.0, 14.0),
    "ctv": (20.0, 30.0),
    "native": (8.0, 12.0),
}
# Where deals are expected to clear between the floor (0.7 × base) and the average tier quote
# (1 − mean tier discount = 0.915 × base): the midpoint. Rate card = expected price / this.
CLEARING_SHARE = 0.81
TRAFFIC_SHARE = {"display": 0.5, "video": 0.25, "ctv": 0.1, "native": 0.15}
# Clicks per impression (calibration.md, "Campaign outcomes beyond impressions"): display
# 0.05–0.10% (midpoint), online video ~0.26%, native ~0.8% (weak source), CTV is not
# clickable (judge CTV on reach: a click or conversion goal on CTV alone becomes reach).
CTR = {"display": 0.00075, "video": 0.0026, "ctv": 0.0, "native": 0.008}
# Conversions per click: 0.89%, the Google Display Network average (WordStream, 2,000+
# accounts, reported by Search Engine Watch, March 2016); no per-channel public figure.
CVR = 0.0089
# Viewable share of impressions (MRC standard): display 54% (46% of programmatic ads not
# viewable on average, WARC), video 51% (mobile video 49% not viewable programmatic), CTV
# 93.3% (IAS, 2025), native as display (in-feed display units; no figure of its own). One
# rate per channel for every buy path: the direct-buy uplift in the data is not modelled.
VIEWABILITY = {"display": 0.54, "video": 0.51, "ctv": 0.933, "native": 0.54}
