"""The one builder of WhatsApp message bodies (whatsapp.messages): text split at sentence
boundaries, reply buttons or list messages within WhatsApp's limits, recipients, and the outbox's
clipped text and reply buttons, every limit counted in UTF-16 units as Meta counts it."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from whatsapp import messages as fmt


def _buttons(titles: List[str]) -> List[Dict[str, Any]]:
    return [{"title": t, "payload": f'/pilih{{"n":{i}}}'} for i, t in enumerate(titles)]


# -- text --------------------------------------------------------------------------------------
def test_short_text_is_one_message() -> None:
    assert fmt.split_text("Halo Bapak/Ibu.") == ["Halo Bapak/Ibu."]


def test_long_text_splits_at_sentence_boundaries() -> None:
    sentence = "Laporan Bapak/Ibu tentang jalan rusak sudah kami terima dan akan diteruskan ke Dinas PUPR. "
    text = sentence * 100  # about 9,300 characters
    parts = fmt.split_text(text)
    assert len(parts) == 3
    assert all(fmt.units(p) <= 4096 for p in parts)
    assert all(p.endswith("PUPR.") for p in parts)
    assert " ".join(parts) == text.strip()


def test_split_prefers_paragraphs_and_handles_unbreakable_text() -> None:
    text = ("a" * 3000) + "\n\n" + ("b" * 3000)
    assert fmt.split_text(text) == ["a" * 3000, "b" * 3000]
    blob = "x" * 9000
    parts = fmt.split_text(blob)
    assert [len(p) for p in parts] == [4096, 4096, 808]


def test_split_counts_emoji_as_two_units() -> None:
    text = "🙏" * 3000  # 6000 UTF-16 units
    parts = fmt.split_text(text)
    assert all(fmt.units(p) <= 4096 for p in parts) and "".join(parts) == text


# -- buttons -----------------------------------------------------------------------------------
def test_three_short_unique_buttons_become_reply_buttons() -> None:
    [message] = fmt.button_messages("Pilih layanan:", _buttons(["Lapor", "Surat", "Cek status"]))
    interactive = message["interactive"]
    assert interactive["type"] == "button"
    assert [b["reply"]["title"] for b in interactive["action"]["buttons"]] == ["Lapor", "Surat", "Cek status"]
    assert interactive["action"]["buttons"][0]["reply"]["id"] == '/pilih{"n":0}'
    assert fmt.limit_problems(message) == []


@pytest.mark.parametrize(
    "titles",
    [
        ["Lapor", "Surat", "Cek status", "Petugas"],  # more than 3
        ["Lapor", "Surat keterangan tidak mampu"],  # a title over 20
        ["Ya", "ya"],  # not unique
    ],
)
def test_buttons_that_do_not_fit_become_a_list(titles: List[str]) -> None:
    messages = fmt.button_messages("Silakan pilih:", _buttons(titles))
    assert len(messages) == 1
    interactive = messages[0]["interactive"]
    assert interactive["type"] == "list"
    rows = [r for s in interactive["action"]["sections"] for r in s["rows"]]
    assert len(rows) == len(titles)
    assert fmt.limit_problems(messages[0]) == []


def test_long_row_titles_put_the_rest_in_the_description() -> None:
    [message] = fmt.button_messages(
        "Pilih surat:",
        [
            {"title": "Surat Keterangan Tidak Mampu (SKTM)", "payload": "/minta_sktm"},
            {"title": "Surat Keterangan Usaha", "payload": "/izin_usaha", "description": "Untuk pelaku UMKM"},
            {"title": "Surat Keterangan Domisili", "payload": "/surat_domisili"},
            {"title": "Petugas", "payload": "/minta_petugas"},
        ],
    )
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0]["title"] == "Surat Keterangan Tidak…"
    assert rows[0]["description"] == "…Mampu (SKTM)"
    assert rows[1] == {
        "id": "/izin_usaha",
        "title": "Surat Keterangan Usaha",
        "description": "Untuk pelaku UMKM",
    }
    assert rows[2]["title"].endswith("…") and "Domisili" in rows[2]["description"]
    assert message["interactive"]["action"]["button"] == "Pilih"
    assert fmt.limit_problems(message) == []


def test_long_menu_is_split_evenly_and_sections_are_kept() -> None:
    messages = fmt.button_messages("Menu:", _buttons([f"Pilihan {i}" for i in range(12)]))
    assert [len(m["interactive"]["action"]["sections"][0]["rows"]) for m in messages] == [6, 6]
    assert messages[0]["interactive"]["body"]["text"] == "Menu:"
    assert messages[1]["interactive"]["body"]["text"] == "Pilihan lainnya (2 dari 2):"
    ids = [r["id"] for m in messages for s in m["interactive"]["action"]["sections"] for r in s["rows"]]
    assert len(set(ids)) == 12

    sectioned = [{"title": f"Aduan {i}", "payload": f"/a{i}", "section": "Pengaduan"} for i in range(6)]
    sectioned += [
        {"title": f"Surat {i}", "payload": f"/s{i}", "section": "Surat keterangan"} for i in range(6)
    ]
    messages = fmt.button_messages("Menu:", sectioned)
    assert len(messages) == 2
    assert [[s["title"] for s in m["interactive"]["action"]["sections"]] for m in messages] == [
        ["Pengaduan"],
        ["Surat keterangan"],
    ]

    mixed = fmt.button_messages(
        "Menu:",
        [
            {"title": "A", "payload": "/a", "section": "Satu"},
            {"title": "B", "payload": "/b", "section": "Dua"},
            {"title": "C", "payload": "/c"},
            {"title": "D", "payload": "/d"},
        ],
    )
    sections = mixed[0]["interactive"]["action"]["sections"]
    assert [s["title"] for s in sections] == ["Satu", "Dua", "Lainnya"]
    for message in messages + mixed:
        assert fmt.limit_problems(message) == []


def test_thirty_one_options_and_duplicates() -> None:
    titles = [f"Kelurahan nomor {i % 7}" for i in range(31)]
    messages = fmt.button_messages("Pilih kelurahan:", _buttons(titles))
    assert len(messages) == 4
    assert sum(len(s["rows"]) for m in messages for s in m["interactive"]["action"]["sections"]) == 31
    for message in messages:
        assert fmt.limit_problems(message) == []


def test_long_body_goes_first_as_text() -> None:
    body = "Persyaratan SKTM: " + "fotokopi KTP dan KK, surat pengantar RT/RW. " * 40
    messages = fmt.button_messages(body, _buttons(["Ya", "Tidak"]))
    assert [m["type"] for m in messages] == ["text", "interactive"]
    assert messages[1]["interactive"]["body"]["text"] == "Silakan pilih salah satu:"


def test_url_buttons_become_text_lines_and_long_payloads_get_neutral_ids() -> None:
    [message] = fmt.button_messages("Info:", [{"title": "Peta", "url": "https://maps.example/kantor"}])
    assert message == {
        "type": "text",
        "text": {"body": "Info:\nPeta: https://maps.example/kantor", "preview_url": False},
    }
    [message] = fmt.button_messages("Pilih:", [{"title": "Ya", "payload": "/x" + "y" * 300}])
    assert message["interactive"]["action"]["buttons"][0]["reply"]["id"] == "pilihan_1"


def test_recipient_fields() -> None:
    assert fmt.with_recipient("6281234", {"type": "text"})["to"] == "+6281234"
    bsuid = fmt.with_recipient("ID.1234abc", {"type": "text"})
    assert bsuid["recipient"] == "ID.1234abc" and "to" not in bsuid


# -- the outbox's bodies -------------------------------------------------------------------------
def test_clip_counts_utf16_units_and_keeps_line_breaks() -> None:
    assert fmt.clip("Baris satu\nBaris dua", 40) == "Baris satu\nBaris dua"
    clipped = fmt.clip("🙏" * 30, 20)  # 30 characters, 60 units
    assert fmt.units(clipped) <= 20 and clipped.endswith("…") and "\ufffd" not in clipped
    assert fmt.clip("Baris satu\nBaris dua yang panjang", 15) == "Baris satu\nBar…"


def test_reply_buttons_with_emoji_titles_stay_within_the_limit() -> None:
    """'Belum selesai 😟😟😟😟' is 18 characters but 22 UTF-16 units: Meta counts the units."""
    interactive = fmt.reply_buttons(
        "Sudah beres? " + "🙏" * 600,
        [
            ("/konfirmasi_selesai", "Sudah selesai 👍👍👍👍"),
            ("/belum_selesai", "Belum selesai 😟😟😟😟"),
            ("/x" + "🙂" * 200, "Petugas"),
            ("/keempat", "Tidak muat"),
        ],
    )
    assert interactive is not None
    buttons = interactive["action"]["buttons"]
    assert len(buttons) == 3
    assert all(fmt.units(b["reply"]["title"]) <= fmt.BUTTON_TITLE_LIMIT for b in buttons)
    assert all(fmt.units(b["reply"]["id"]) <= fmt.BUTTON_ID_LIMIT for b in buttons)
    assert fmt.units(interactive["body"]["text"]) <= fmt.INTERACTIVE_BODY_LIMIT
    assert fmt.limit_problems(fmt.interactive_message(interactive)) == []
    assert fmt.reply_buttons("Tanpa tombol", []) is None


def test_outbox_text_and_template_parameter_stay_within_the_limits() -> None:
    long_text = "Terima kasih 🙏 " * 400  # 6,000 characters, 6,400 units
    assert fmt.units(fmt.text_message(long_text)["text"]["body"]) <= fmt.TEXT_LIMIT
    parameter = fmt.template_message("layanwarga_notifikasi", "id", long_text)["template"]["components"][0][
        "parameters"
    ][0]
    assert fmt.units(parameter["text"]) <= fmt.TEMPLATE_PARAM_LIMIT and "\n" not in parameter["text"]
    assert fmt.with_recipient("6281234", {"type": "text"}, phone=False)["recipient"] == "6281234"
