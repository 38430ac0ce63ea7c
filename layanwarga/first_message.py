"""What a citizen's first message already says, so a form asks only for what is missing.

"lampu jalan di gang mawar rt 3 mati" names the place, "sktm buat berobat ibu saya" the
purpose, for whom and the relationship. The forms used to ask for them again. This module reads
them out of the message that starts a form; the forms then skip those questions and the summary
shows what was read, where the citizen can still change it.

Why a small rule-based reader and not Rasa entities: the values are open-ended (street names,
landmarks, any kelurahan) or must map onto the institution's own configured choices (a letter's
purposes in ``instansi.yml``), a wrong value costs the citizen a correction while a missing one
only costs the question we asked anyway, so the reader must prefer silence to a guess; and each
rule is testable on its own with many phrasings, including those that must not fill anything.
Words are compared through the project's Indonesian normaliser (``nlu_components.text_normalizer``,
plain Python, no Rasa import): ``utk``/``bwt`` read as untuk/buat, ``sy`` as saya, ``ortu`` as
orang tua, ``lampunya`` stems to lampu, ``dkt``/``dpn`` read as dekat/depan. Output is always
the citizen's own text (a street name is never "normalised").

Every function returns ``None`` when the message does not say it clearly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from lokal import wilayah

from nlu_components.text_normalizer import NEGATION_WORDS, NOT_PATTERN, get_normalizer

_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")


@dataclass(frozen=True)
class Token:
    raw: str
    low: str
    norm: str  # the normaliser's surface form (may be several words: "ortu" -> "orang tua")
    lemma: str  # normalised and stemmed ("lampunya" -> "lampu")
    start: int
    end: int

    @property
    def is_number(self) -> bool:
        return self.raw.isdigit()

    @property
    def is_word(self) -> bool:
        return self.raw.isalpha()

    def forms(self) -> FrozenSet[str]:
        return frozenset((self.low, self.norm, self.lemma))

    def among(self, words: FrozenSet[str]) -> bool:
        return bool(self.forms() & words)


def tokens(text: str) -> List[Token]:
    normalizer = get_normalizer()
    found = []
    for match in _TOKEN.finditer(text or ""):
        raw = match.group(0)
        low = raw.lower()
        if raw.isalpha():
            norm, lemma = normalizer.normalize(low), normalizer.lemma(low)
        else:
            norm = lemma = low
        found.append(Token(raw, low, norm, lemma, match.start(), match.end()))
    return found


def _words(text: str) -> FrozenSet[str]:
    return frozenset(text.split())


# -- words that end a name --------------------------------------------------------------------------
# A place or business name runs until one of these (compared on the raw, normalised and stemmed
# forms): function and time words, negations ...
FUNCTION_WORDS = NEGATION_WORDS | _words(
    """
    yang ini itu sini situ sana saya kami kita dia mereka kamu nya dan atau tapi tetapi karena jadi
    sehingga agar supaya untuk buat bagi dengan sama oleh dari ke di pada sejak sampai hingga kalau
    jika apa apakah kenapa mengapa kok gimana bagaimana mana tolong mohon minta harap segera cepat
    dong deh sih nih tuh ya yah lho kan bapak ibu admin kak mas mbak bang ada adalah
    sudah telah masih lagi akan mau ingin bisa dapat harus perlu juga saja aja cuma hanya sangat
    sekali banget amat terlalu agak paling lebih kurang sering selalu terus kadang jarang semua
    banyak sedikit beberapa setiap tiap para pun lah kah menuju arah punya
    kemarin kemaren tadi semalam sekarang hari minggu bulan tahun jam pagi siang sore malam subuh
    seminggu sebulan setahun sehari lalu
    surat terang sktm sku domisili urus bikin ajukan lapor keluh
    """
)
# ... and, for places, what complaints are about ("di gang mawar lampunya mati").
_PROBLEM_WORDS = _words(
    """
    mati padam nyala hidup rusak lubang bolong hancur retak amblas longsor roboh patah putus tumbang
    jatuh licin gelap redup kedip becek banjir genang luap sumbat mampet macet tumpuk bau busuk kotor
    sampah lampu air listrik tiang kabel pohon selokan got parit saluran drainase gorong berisik
    bising ribut parkir liar pedagang balap mabuk judi tawuran pungli pungut lambat lama lelet kasar
    jutek antre antri terlantar gelandang pengemis miskin sakit meninggal bakar asap bocor pecah
    ambruk miring hilang curi rawan bahaya ganggu warga orang kendaraan motor mobil truk sepeda hujan
    deras tinggi naik masuk meter cm senti diperbaiki perbaiki tangan tindak laku
    """
)
_STOP = FUNCTION_WORDS | _PROBLEM_WORDS
# Words that continue a street's name without naming it: "jalan raya" alone is no address.
_GENERIC = _words(
    "raya besar utama kecil umum poros lingkar baru lama setapak tikus buntu protokol lingkungan"
)


def _is_stop(token: Token, words: FrozenSet[str] = _STOP) -> bool:
    return not token.is_number and token.among(words)


# -- places -------------------------------------------------------------------------------------------
# Words before a place that are not part of it ("di gang mawar" -> "gang mawar").
_PLACE_INTRO = _words("di lokasi lokasinya alamat alamatnya tempat tempatnya tepatnya")
# Words before a place that are (they say where relative to it).
_RELATIVE = _words(
    "depan dekat samping sebelah belakang seberang ujung pinggir sekitar sekitaran sepanjang pojok "
    "tengah dalam kawasan daerah wilayah area tepi"
)
_RT_RW = _words("rt rw")
# A street, an estate or an administrative area: needs a name or number after it.
_AREA_WORDS = _words(
    "jalan jl jln gang gg lorong lr komplek kompleks komp perumahan perum blok kampung kp dusun dsn "
    "desa kelurahan kel kecamatan kec dukuh banjar jorong nagari lingkungan km"
)
_AREA_NORMS = _words("gang jalan kelurahan kecamatan perumahan kompleks")
# A landmark: identifies a place when named ("masjid al ikhlas", "sdn 2").
_LANDMARKS = _words(
    "masjid mesjid musala mushola musholla surau langgar gereja pura vihara klenteng sekolah sd sdn "
    "smp smpn sma sman smk smkn mi mts tk paud kampus universitas puskesmas posyandu pustu rsud klinik "
    "balai lapangan taman terminal stasiun bandara pelabuhan dermaga spbu pasar minimarket indomaret "
    "alfamart hotel bank gedung polsek koramil makam tpu tps pabrik gudang ruko mall stadion gor tugu "
    "monumen sungai danau jembatan bundaran simpang pertigaan perempatan"
)
# Offices that are a place by themselves (where a public service happened).
_OFFICES = _words("disdukcapil dukcapil capil samsat kua imigrasi")
_OFFICE_LEAD = _words("kantor loket")
_NUMBER_WORDS = _words("no nomor nmr")
_NAME_TOKENS = 3


class _PlaceReader:
    """Reads the place phrase of a complaint: units (a street with its name and number, an RT or
    RW with its number, a named landmark, an office, a known kelurahan) one after another,
    optionally after "di" or a relative word ("depan", "dekat"). A unit is ``(end, identifies)``:
    where it ends and whether it alone says where (a named street does, "gang" alone does not).
    """

    def __init__(self, source: str, toks: Sequence[Token], area_names: Sequence[Tuple[str, ...]]) -> None:
        self.source = source
        self.toks = toks
        self.area_names = area_names

    def read(self) -> Optional[str]:
        index = 0
        while index < len(self.toks):
            start, end, identifies = self._phrase(index)
            if identifies:
                return self.source[self.toks[start].start : self.toks[end - 1].end].strip(" ,.-/:")
            index = max(end, index + 1)
        return None

    def _tok(self, index: int) -> Optional[Token]:
        return self.toks[index] if 0 <= index < len(self.toks) else None

    def _is(self, index: int, *raws: str) -> bool:
        token = self._tok(index)
        return token is not None and token.raw in raws

    def _low_in(self, index: int, words: FrozenSet[str]) -> bool:
        token = self._tok(index)
        return token is not None and token.low in words

    def _among(self, index: int, words: FrozenSet[str]) -> bool:
        token = self._tok(index)
        return token is not None and token.among(words)

    def _is_number(self, index: int) -> bool:
        token = self._tok(index)
        return token is not None and token.is_number

    def _is_word(self, index: int) -> bool:
        token = self._tok(index)
        return token is not None and token.is_word

    def _phrase(self, index: int) -> Tuple[int, int, bool]:
        """Units joined one after another from ``index``: where the place starts (after an intro
        word such as "di", which is not part of it; "depan" is), where it ends, and whether it
        says where."""
        start = index + 1 if self._among(index, _PLACE_INTRO) else index
        unit = self._unit(start, continuing=False, introduced=start != index)
        if unit is None:
            return start, index + 1, False
        end, identifies = unit
        while True:
            following = end
            while self._is(following, ",", "/"):
                following += 1
            if self._among(following, _PLACE_INTRO):
                following += 1
            more = self._unit(following, continuing=identifies, introduced=True)
            if more is None:
                break
            end, identifies = more[0], identifies or more[1]
        return start, end, identifies

    def _unit(self, index: int, *, continuing: bool, introduced: bool) -> Optional[Tuple[int, bool]]:
        """The unit starting at ``index``: where it ends and whether it says where. A kelurahan's
        name counts only after "di", "depan"... or another unit (some are everyday words)."""
        token = self._tok(index)
        if token is None:
            return None
        if token.among(_RELATIVE) and not token.among(_AREA_WORDS | _LANDMARKS):
            following = self._tok(index + 1)
            if following is None or following.among(_RELATIVE):
                return None
            return self._unit(index + 1, continuing=continuing, introduced=True)
        if token.low in _RT_RW:
            return self._rt_rw(index)
        area = self._area_name(index) if introduced else None
        if area is not None:
            return area, True
        if token.low in _OFFICE_LEAD:
            nxt = self._tok(index + 1)
            if nxt is not None and nxt.is_word and not _is_stop(nxt):
                return max(self._name(index + 2, _NAME_TOKENS - 1), index + 2), True
            return None
        if token.low in _OFFICES:
            return index + 1, True
        if token.low in _AREA_WORDS or token.norm in _AREA_NORMS:
            return self._named(index, _GENERIC, continuing=False)
        if token.low in _LANDMARKS or token.norm == "sekolah dasar":
            return self._named(index, frozenset(), continuing=continuing)
        return None

    def _skip_dots(self, index: int) -> int:
        while self._is(index, ".", ":"):
            index += 1
        return index

    def _rt_rw(self, index: int) -> Optional[Tuple[int, bool]]:
        """``rt 3``, ``RT.03``, ``rt 03/rw 02``, ``rt/rw 3/2``."""
        end = index + 1
        while self._is(end, "/") and self._low_in(end + 1, _RT_RW):
            end += 2
        end = self._skip_dots(end)
        numbers = 0
        while self._is_number(end):
            numbers += 1
            end += 1
            if self._is(end, "/") and self._is_number(end + 1):
                end += 1
        return (end, True) if numbers else None

    def _named(self, index: int, generic: FrozenSet[str], *, continuing: bool) -> Optional[Tuple[int, bool]]:
        """A street or landmark word with its name and number: ``jl. g obos 12 no 5``."""
        start = self._skip_dots(index + 1)
        name_end = self._name(start, _NAME_TOKENS)
        named = any(self.toks[i].is_word and not self.toks[i].among(generic) for i in range(start, name_end))
        end = self._number(name_end)
        if named or end > name_end:
            return end, True
        if continuing and not generic and name_end == index + 1:
            # An unnamed landmark still helps after a place that says where ("rt 3 dekat musala").
            return index + 1, False
        return None

    def _name(self, index: int, limit: int) -> int:
        """Up to ``limit`` name words from ``index``; initials and titles ("g", "dr") count."""
        end, count = index, 0
        while count < limit:
            token = self._tok(end)
            if token is None or not token.is_word:
                break
            if token.low in _RT_RW or token.low in _NUMBER_WORDS or token.low in _AREA_WORDS:
                break
            initial = len(token.low) <= 2 and self._is_word(end + 1)
            if (_is_stop(token) and not initial) or token.among(_RELATIVE) or token.among(_PLACE_INTRO):
                break
            end += 1
            count += 1
            if initial and self._is(end, "."):
                end += 1
        return end

    def _number(self, index: int) -> int:
        """A house or kilometre number after a name: ``12``, ``no 5``, ``No. 3A``, ``km 3,5``."""
        end = index
        while (token := self._tok(end)) is not None:
            if token.low in _NUMBER_WORDS or token.low == "km":
                after = self._skip_dots(end + 1)
                if not self._is_number(after):
                    break
                end = after
                continue
            if not token.is_number:
                break
            end += 1
            # 3,5 or 12/4 written together; 3A
            while (
                self._is(end, ",", ".", "/")
                and self._is_number(end + 1)
                and self.toks[end].end == self.toks[end + 1].start
            ):
                end += 2
            letter = self._tok(end)
            if (
                letter is not None
                and letter.is_word
                and len(letter.raw) == 1
                and letter.start == self.toks[end - 1].end
            ):
                end += 1
        return end

    def _area_name(self, index: int) -> Optional[int]:
        for name in self.area_names:
            words = [self._tok(index + i) for i in range(len(name))]
            if all(w is not None and w.low == part for w, part in zip(words, name)):
                return index + len(name)
        return None


@lru_cache(maxsize=8)
def area_names(region_code: str) -> Tuple[str, ...]:
    """Names of the kelurahan/desa around an institution, from Kemendagri's data (``lokal``): the
    villages of its kecamatan (a kelurahan's or kecamatan's code), or the kecamatan and villages
    of its city or regency."""
    parts = [p for p in (region_code or "").split(".") if p]
    if len(parts) < 2:
        return ()
    parent = ".".join(parts[:3])
    children = wilayah.list_wilayah(parent)
    names = [w.name for w in children]
    if len(parts) == 2:
        for child in children:
            names += [w.name for w in wilayah.list_wilayah(child.code)]
    return tuple(sorted(set(names)))


def complaint_place(text: str, local_areas: Iterable[str] = ()) -> Optional[str]:
    """The place a complaint's first message names, as the citizen wrote it, or None.

    ``local_areas``: kelurahan/desa names of the institution's area, recognised on their own
    after "di" ("banjir lagi di panarung").
    """
    names = sorted({tuple(n.lower().split()) for n in local_areas if n and n.strip()}, key=len, reverse=True)
    return _PlaceReader(text, tokens(text), names).read()


# -- anonymity ----------------------------------------------------------------------------------------
_HIDE = re.compile(
    r"\b(anonim|anonymous|tanpa nama)\b"
    r"|\b(rahasia\w*|dirahasiakan|samarkan|disamarkan|sembunyikan|disembunyikan)\b.{0,25}\b(nama|identitas|data diri|saya|sy|aku)\b"
    r"|\b(nama|identitas|data diri)\b.{0,25}\b(rahasia\w*|dirahasiakan|disamarkan|disembunyikan)\b"
    rf"|\b(jangan|jgn|({NOT_PATTERN})\s+usah|gausah)\s+(di)?(sebut|tampil\w*|tulis|kasih tau|beritahu|beri tahu|cantumkan)\w*\s+(nama|identitas)"
)


def wants_anonymity(text: str) -> bool:
    """Whether the citizen asks for their identity to be hidden ("tolong rahasiakan nama saya")."""
    return bool(_HIDE.search(" ".join(t.norm for t in tokens(text))) or _HIDE.search((text or "").lower()))


# -- letters: for whom --------------------------------------------------------------------------------
# Family words -> the citizen's relationship to the applicant (the question the form asks):
# a letter for "ibu saya" is asked for by the applicant's child.
RELATIONSHIP_OF_APPLICANT: Dict[str, str] = {
    **dict.fromkeys(
        (
            "bapak",
            "ayah",
            "papa",
            "abah",
            "bapa",
            "babe",
            "bokap",
            "ibu",
            "mama",
            "mamak",
            "emak",
            "mak",
            "umi",
            "bunda",
            "nyokap",
            "orang tua",
        ),
        "anak",
    ),
    **dict.fromkeys(("anak", "putra", "putri"), "orang tua"),
    "suami": "istri",
    **dict.fromkeys(("istri", "bini"), "suami"),
    "adik": "kakak",
    **dict.fromkeys(("kakak", "abang"), "adik"),
    **dict.fromkeys(("nenek", "kakek", "eyang"), "cucu"),
    "cucu": "kakek/nenek",
    **dict.fromkeys(("paman", "om", "bibi", "tante", "pakde", "bude"), "keponakan"),
    **dict.fromkeys(("keponakan", "ponakan"), "paman/bibi"),
    "mertua": "menantu",
    "menantu": "mertua",
    "saudara": "saudara",
    "sepupu": "sepupu",
}
_POSSESSIVE = _words("saya kami")
# Said with no "my": clearly a relative (not "anak sekolah", not "Ibu" addressing the clerk).
_PLAIN_RELATIVES = _words(
    "suami istri orang tua mertua adik kakak keponakan ponakan cucu nenek kakek paman bibi tante"
)
_FOR = _words("untuk buat bagi")
_ASKING = _words("mau ingin minta tanya mohon izin bertanya")
_SELF = re.compile(
    r"\b(untuk|buat|bagi|atas nama)\s+(diri\s+)?(saya\s+)?sendiri\b|\bdiri saya sendiri\b|\bsaya sendiri yang\b"
)


def _relative_at(toks: Sequence[Token], index: int) -> Optional[Tuple[str, int]]:
    """The family word at ``index`` (one or two tokens: "orang tua") and where it ends."""
    token = toks[index]
    if token.low in ("pak", "bu", "bpk"):
        return None  # how citizens address the clerk
    if index + 1 < len(toks) and f"{token.lemma} {toks[index + 1].lemma}" == "orang tua":
        return "orang tua", index + 2
    for form in (token.norm, token.lemma):
        if form in RELATIONSHIP_OF_APPLICANT:
            return form, index + 1
    return None


def letter_applicant(text: str) -> Optional[Tuple[str, Optional[str]]]:
    """For whom a letter is: ``("keluarga", <the citizen's relationship to the applicant>)``,
    ``("sendiri", None)``, or None when the message does not say."""
    toks = tokens(text)
    for index in range(len(toks)):
        found = _relative_at(toks, index)
        if found is None:
            continue
        word, end = found
        owned = end < len(toks) and toks[end].among(_POSSESSIVE)
        suffixed = toks[index].low != toks[index].lemma and toks[index].low.endswith("ku")
        after_for = index > 0 and toks[index - 1].among(_FOR)
        if index == 0 and owned and end + 1 < len(toks) and toks[end + 1].among(_ASKING):
            continue  # "Ibu saya mau tanya": "Ibu" is the clerk
        if owned or suffixed or (after_for and word in _PLAIN_RELATIVES):
            return "keluarga", RELATIONSHIP_OF_APPLICANT[word]
    if _SELF.search(" ".join(t.norm for t in toks)):
        return "sendiri", None
    return None


_ON_BEHALF = re.compile(r"\batas nama\s+")


def letter_applicant_name(text: str) -> Optional[str]:
    """The applicant's name after "atas nama" ("sktm atas nama siti aminah"), as written."""
    match = _ON_BEHALF.search((text or "").lower())
    if match is None:
        return None
    rest = text[match.end() :]
    toks = tokens(rest)
    end = 0
    while (
        end < len(toks)
        and end < 4
        and toks[end].is_word
        and not _is_stop(toks[end])
        and not toks[end].among(_POSSESSIVE)
    ):
        if toks[end].norm in RELATIONSHIP_OF_APPLICANT or toks[end].low in ("sendiri", "diri"):
            break
        end += 1
    if end < 2:
        return None  # a single word is too little to be a full name
    return rest[toks[0].start : toks[end - 1].end]


# -- letters: purpose -----------------------------------------------------------------------------------
# What citizens say -> the words configured purposes are written with. General Indonesian, not
# one institution's: the purposes themselves come from instansi.yml.
PURPOSE_SYNONYMS: Dict[str, str] = {
    **dict.fromkeys(
        (
            "obat",
            "berobat",
            "pengobatan",
            "rumah sakit",
            "rsud",
            "puskesmas",
            "klinik",
            "dokter",
            "operasi",
            "opname",
            "rawat",
            "inap",
            "bpjs",
            "kis",
            "jamkesda",
            "jamkesmas",
            "persalinan",
            "lahir",
            "melahirkan",
            "lahiran",
            "cuci darah",
            "kemoterapi",
        ),
        "obat",
    ),
    **dict.fromkeys(
        (
            "sekolah",
            "sekolah dasar",
            "sd",
            "smp",
            "sma",
            "smk",
            "kuliah",
            "kampus",
            "universitas",
            "ppdb",
            "kip",
            "pip",
            "spp",
            "ukt",
            "pendidikan",
            "siswa",
            "mahasiswa",
            "pesantren",
            "madrasah",
            "beasiswa",
        ),
        "sekolah",
    ),
    **dict.fromkeys(("bansos", "bantuan sosial", "pkh", "bpnt", "blt", "sembako", "dtks", "kks"), "sosial"),
    **dict.fromkeys(("kur", "pinjam", "pinjaman", "kredit", "modal"), "pinjam"),
    **dict.fromkeys(("nib", "pirt", "halal", "perizinan", "oss"), "nib"),
    **dict.fromkeys(("umkm", "ukm", "mikro", "bpum", "banpres"), "mikro"),
    **dict.fromkeys(
        ("kerja", "pekerjaan", "lamar", "melamar", "lamaran", "loker", "lowongan", "cpns", "pppk"), "kerja"
    ),
    **dict.fromkeys(("rekening", "tabung", "tabungan", "atm"), "rekening"),
}
# How citizens name a letter itself, never its purpose ("izin usaha" is the SKU, not a permit).
_LETTER_ALIASES = re.compile(r"\b(surat\s+)?(izin|ijin)\s+(usaha|dagang|warung)\b", re.IGNORECASE)
# Words of a purpose's label that say nothing on their own.
_PURPOSE_GENERIC = _words("lain lainnya dan atau untuk keperluan daftar pendaftaran surat")


def _concepts(toks: Sequence[Token]) -> FrozenSet[str]:
    found = set()
    for index, token in enumerate(toks):
        forms = set(token.forms())
        for form in list(forms):
            forms.update(form.split())
        if index + 1 < len(toks):
            forms.add(f"{token.lemma} {toks[index + 1].lemma}")
            forms.add(f"{token.low} {toks[index + 1].low}")
        for form in forms:
            found.add(PURPOSE_SYNONYMS.get(form, form))
    return frozenset(found)


@lru_cache(maxsize=64)
def _purpose_words(purposes: Tuple[str, ...], letter_name: str) -> Tuple[FrozenSet[str], ...]:
    """Each purpose's distinctive words: its label's concepts that no other purpose of the same
    letter shares, without the letter's own name ("usaha" in every SKU request)."""
    own_name = _concepts(tokens(letter_name))
    words = [(_concepts(tokens(p)) - _PURPOSE_GENERIC - own_name - _STOP) for p in purposes]
    distinctive = []
    for index, mine in enumerate(words):
        others = set().union(*(w for i, w in enumerate(words) if i != index)) if len(words) > 1 else set()
        distinctive.append(frozenset(w for w in mine - others if w.isalpha() and len(w) > 2))
    return tuple(distinctive)


def letter_purpose(text: str, purposes: Sequence[str], letter_name: str = "") -> Optional[str]:
    """The configured purpose the message names ("buat berobat" -> "Berobat / keringanan biaya
    rumah sakit"), or None when it names none or several equally."""
    if not purposes:
        return None
    said = _concepts([t for t in tokens(_LETTER_ALIASES.sub(" ", text or "")) if t.low not in ("pak", "bu")])
    scores = [len(said & words) for words in _purpose_words(tuple(purposes), letter_name)]
    best = max(scores)
    if best == 0 or scores.count(best) > 1:
        return None
    return purposes[scores.index(best)]


# -- letters: the business of an SKU ----------------------------------------------------------------------
_BUSINESS_NOUNS = _words(
    "warung toko kios bengkel laundry salon katering catering konveksi percetakan fotokopi warnet konter "
    "apotek jahit penjahit kedai depot rental ternak budidaya cucian bakery kafe cafe angkringan lapak "
    "rumah makan"
)
_BUSINESS_VERBS = _words("jual jualan dagang berdagang")


def business_kind(text: str) -> Optional[str]:
    """What the business does, for an SKU ("izin usaha warung kelontong" -> "warung kelontong"),
    as written, or None."""
    toks = tokens(text)
    for index, token in enumerate(toks):
        if token.low == "usaha":
            end = _business_words(toks, index + 1)
            if end > index + 1:
                return text[toks[index + 1].start : toks[end - 1].end]
        elif token.low in _BUSINESS_NOUNS or token.lemma in _BUSINESS_VERBS or token.low in _BUSINESS_VERBS:
            if token.lemma in _BUSINESS_VERBS or token.low in _BUSINESS_VERBS:
                end = _business_words(toks, index + 1)
                if end == index + 1:
                    continue  # "jualan" alone says nothing of what is sold
            else:
                end = _business_words(toks, index + 1, limit=2)
            return text[token.start : toks[max(end, index + 1) - 1].end]
    return None


def _business_words(toks: Sequence[Token], index: int, limit: int = 3) -> int:
    end = index
    while end < len(toks) and end - index < limit:
        token = toks[end]
        if (
            not token.is_word
            or _is_stop(token, FUNCTION_WORDS)
            or token.among(_POSSESSIVE)
            or token.among(_FOR)
        ):
            break
        if token.low in ("izin", "ijin", "modal"):
            break
        end += 1
    return end


# -- subscriptions: the kelurahan --------------------------------------------------------------------------
def named_area(text: str, names: Dict[str, str]) -> Optional[str]:
    """The code of the one area (``code -> name``) the message names, or None (none or several)."""
    words = " ".join(t.low for t in tokens(text) if t.is_word or t.is_number)
    found = [
        code
        for code, name in names.items()
        if re.search(rf"\b{re.escape(' '.join(name.lower().split()))}\b", words)
    ]
    longest = sorted(found, key=lambda c: len(names[c]), reverse=True)
    if not longest:
        return None
    # "Pahandut Seberang" also contains "Pahandut": the longer name wins when it covers the other.
    if len(longest) > 1 and not all(names[c].lower() in names[longest[0]].lower() for c in longest[1:]):
        return None
    return longest[0]
