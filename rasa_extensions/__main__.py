"""Rasa's command line with LayanWarga's performance patches switched on.

    python -m rasa_extensions run --endpoints endpoints.yml --credentials credentials.yml
    python -m rasa_extensions test core --model models/layanwarga.tar.gz --stories tests/stories

takes the arguments ``rasa`` takes and runs the same command, after ``patches.switch_on()``
(which leaves Rasa unpatched for ``LAYANWARGA_RASA_PATCHES=off`` or an untested Rasa version).
"""

from __future__ import annotations

from rasa.__main__ import main as rasa_main

from rasa_extensions.patches import switch_on


def main() -> None:
    switch_on()
    rasa_main()


if __name__ == "__main__":
    main()
