"""The hub: conversations and transcript, auth, the learner and staff APIs, pages, CLI."""
