"""Talking to Telegram and Bale: HTTP, the pacer, update order, webhooks, the fake API."""
