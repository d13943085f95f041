"""The network's fixed words: kinds of action, what an alert asks, and the like.

Plain data with no imports, so that what only needs the words (the command line's choices,
its help) does not load the database layer to get them.
"""

EVENT_KINDS = ("demonstration", "strike", "picket", "rally", "march", "online", "other")
EVENT_CATEGORIES = ("action", "assembly")
ALERT_ASK_KINDS = ("messages", "protests", "donations", "solidarity_strikes")
ALERT_URGENCIES = ("urgent", "normal")
ALERT_STATUSES = ("active", "resolved")
# Signing on to the call.
SIGNER_KINDS = ("individual", "organization")
ORGANIZATION_KINDS = ("union", "workers_centre", "collective", "party", "other")
