"""A first conversation through `rasa run` and the action server, with the trained model."""

from __future__ import annotations

from .conftest import Stack


def texts(replies: list) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_greeting_menu_hours_location_and_goodbye(rest_stack: Stack) -> None:
    sender = "628111000001"
    greeting = rest_stack.say(sender, "halo min")
    assert "selamat datang di LayanWarga Langkai" in texts(greeting)
    menu = [r for r in greeting if r.get("buttons")]
    assert {b["payload"] for b in menu[0]["buttons"]} >= {"/mau_lapor", "/mau_urus_surat", "/cek_status"}

    menu_again = rest_stack.say(sender, "/bantuan")
    assert any(r.get("buttons") for r in menu_again)

    hours = texts(rest_stack.say(sender, "kantor kelurahan buka jam berapa ya"))
    assert "Senin–Kamis: 07.30–16.00" in hours
    assert "Saat ini kantor" in hours

    location = rest_stack.say(sender, "alamat kantor lurah dimana")
    assert "Tjilik Riwut" in texts(location)
    assert any((r.get("custom") or {}).get("type") == "location" for r in location)

    assert "di luar layanan kami" in texts(rest_stack.say(sender, "tolong buatin pr matematika anak sy"))
    assert "belum memahami" in texts(rest_stack.say(sender, "qwrtp zxcvb mnbvc"))
    assert "Terima kasih telah menghubungi" in texts(rest_stack.say(sender, "dadah sampai jumpa"))
