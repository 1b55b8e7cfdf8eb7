"""The masked form of a key, as docs/api.md ("Masks") defines it, for the
tests to compare the service's answers with."""

MASK_MIN_KEY_LEN = 12


def mask(key):
    """The first 3 characters, "...", the last 4; "****" for a key shorter
    than 12 characters; None for no key."""
    if key is None:
        return None
    if len(key) < MASK_MIN_KEY_LEN:
        return "****"
    return key[:3] + "..." + key[-4:]
