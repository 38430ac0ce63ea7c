"""``wilayah_form``: "saya sudah pindah ke kelurahan X" asks the new kelurahan (unless the message
named it) with the lists and search of ``actions.units``; ``action_save_unit`` remembers it."""

from __future__ import annotations

from typing import Text

from .flow import FlowFormValidation
from .units import UnitQuestion


class ValidateWilayahForm(UnitQuestion, FlowFormValidation):
    def name(self) -> Text:
        return "validate_wilayah_form"
