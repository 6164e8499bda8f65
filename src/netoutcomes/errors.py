"""The one exception type the interfaces turn into a single clear line and exit code 2."""


class InputError(ValueError):
    """Bad input from the user: a file, a column, a value, a protocol field.

    The message is one line that names where the problem is (file, row, column)
    and what is wrong. The CLI prints it on stderr and exits with code 2.
    """
