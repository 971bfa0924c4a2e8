"""Personal data in the text the desk keeps and shows: finding it and masking it.

Support transcripts hold learners' phone numbers, emails, ID-card and bank-card numbers. Ticket
summaries, KB gap questions, logs and exports need none of them in full, so they go through
`mask` ("138****5678"); only the transcript keeps the original, where an agent needs it.
`find` says what was found and where, for callers that report or audit it.

A pure library below every other package: it imports nothing from the project, so the hub,
the actions and the libraries can all call it.
"""

from privacy.redact import Finding, find, mask

__all__ = ["Finding", "find", "mask"]
