"""LayanWarga domain core: institution configuration, storage and business rules.

Plain Python with no Rasa import, shared by the action server, the WhatsApp connector, the staff
dashboard and scripts.
"""
