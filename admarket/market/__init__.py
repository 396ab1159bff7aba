"""Market mechanics shared by every trading design: generating the market
(:mod:`.generation`), second-price auctions (:mod:`.auction`), the IAB price waterfall
(:mod:`.pricing`), negotiation (:mod:`.negotiation`), the deal book and its delivery
(:mod:`.deals`, :mod:`.allocation`), money in cents (:mod:`.accounting`), campaign goals
(:mod:`.kpis`), invoice reconciliation (:mod:`.reconciliation`) and the evening settlement
of direct deals (:mod:`.settlement`)."""
