"""The framework's own error type: a user mistake, reported in one line."""


class Seq2SeqError(Exception):
    """A failure the user caused and can fix (bad file, bad override, missing run dir).

    Scripts print ``error: <message>`` to stderr and exit with status 2 instead of showing
    a traceback. The message must say what went wrong and where.
    """
