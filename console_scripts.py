"""Console-script entry points for the two commands whose modules have no `run()` of their own:
`sid-simulate` (sid_tf2.simulate) and `sid-convert` (python -m weight_converter).

It lives beside the scripts, not in sid_tf2, because sid_tf2 never imports weight_converter
(the converter is built on the library). The other commands' entry points are their modules'
own `run()`; so can these be, once those modules have one.
"""

from sid_tf2 import cli


def simulate():
    """`sid-simulate`: `python -m sid_tf2.simulate`."""
    from sid_tf2 import simulate as command  # pylint: disable=import-outside-toplevel  (only this command's flags)

    command.define_flags()
    cli.run(command.main)


def convert():
    """`sid-convert`: `python -m weight_converter`."""
    from weight_converter import __main__ as command  # pylint: disable=import-outside-toplevel  (its flags)

    cli.run(command.main)
