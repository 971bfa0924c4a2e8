"""Rasa custom actions, one module per capability, served in-process by the hub (/webhook)."""
