"""One parser for database ids typed by people and machines (URLs, query strings, JSON references)."""

MAX_ID_DIGITS = 18  # every 18-digit number fits a signed 64-bit primary key


def parse_id(text) -> int | None:
    """The id written in `text` (ASCII digits only, at most 18 of them), or None.

    str.isdigit() is not a test for int(): it accepts superscripts and other Unicode digits ('³') that
    int() refuses, and int() itself accepts Arabic-Indic digits, signs, spaces and underscores.
    """
    text = str(text)
    if not text or len(text) > MAX_ID_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return int(text)
