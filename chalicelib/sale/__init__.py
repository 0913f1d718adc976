"""The sale: purchases, their links and receipts, exactly-once fulfilment, what happens after
(refunds, disputes, the seller's actions) and the sales figures."""
