"""Rasa plug-ins that are not channels: LayanWarga's tracker store."""
