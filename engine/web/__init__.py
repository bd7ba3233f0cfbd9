"""The customer-facing web app: preference centre, unsubscribe, confirmations, webhooks."""
