"""``python -m layanwarga.crypto generate-key | rotate`` (``layanwarga.crypto.rotation``)."""

from .rotation import main

if __name__ == "__main__":
    raise SystemExit(main())
