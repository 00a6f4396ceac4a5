"""PDF print runs for window envelopes, opened with pypdf and pdfminer: one person per letter, the address
inside the configured window, the font embedded as a subset, the run recorded so purge finds it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from pdfutil import require_japanese_font, text_lines
from test_notices import CONTACT, ORG, make

from incident.law.vocabulary import open_store

pytest.importorskip("pypdf", reason="pypdf is in the test extra: pip install -e '.[test]'")
pytest.importorskip("pdfminer", reason="pdfminer.six is in the test extra: pip install -e '.[test]'")

PEOPLE = [("山田 太郎", "東京都千代田区千代田1-1-101", "100-0001", ""),
          ("佐藤 花子", "大阪府大阪市北区梅田1-1-1", "530-0001", "佐藤 一郎"),
          ("鈴木 次郎", "北海道札幌市中央区北1条西2丁目", "060-0001", "")]
LETTER_CONFIG = f'''organization = "{ORG}"
contact = "{CONTACT}"
[letter]
sender_title = "理事長"
sender_name = "山本 一郎"
department = "総務課"
seal = "omitted"
'''


@pytest.fixture(autouse=True)
def _font() -> None:
    require_japanese_font()


@pytest.fixture
def incident(run: Callable[..., Result], store_dir: Path, tmp_path: Path) -> str:
    (store_dir / "config.toml").write_text(LETTER_CONFIG, encoding="utf-8")
    incident_id = make(open_store(store_dir))
    roster = tmp_path / "people.csv"
    roster.write_text("氏名,住所,郵便番号,保護者\n" + "".join(f"{','.join(p)}\n" for p in PEOPLE), encoding="utf-8")
    run(f"roster import {incident_id} {roster}")
    return incident_id


def print_run(run: Callable[..., Result], incident: str, target: Path, *extra: str, expect: int = 0) -> Result:
    return run(["notice", incident, "--kind", "individual-letter", "--roster", "--format", "pdf", "-o", str(target),
                *extra], expect=expect)


def test_one_person_per_letter_with_the_address_in_the_window(run: Callable[..., Result], incident: str,
                                                              tmp_path: Path) -> None:
    target = tmp_path / "letters.pdf"
    result = print_run(run, incident, target, "--doc-number", "総第12-{n}号", "--date", "2024-06-10")
    assert f"Wrote 3 individual-letter letter(s) on 3 page(s) (pdf) for {incident}" in result.stderr
    pages = text_lines(target)
    assert len(pages) == 3
    for number, (page, (name, address, postal, guardian)) in enumerate(zip(pages, PEOPLE, strict=True), 1):
        text = "\n".join(line.text for line in page)
        assert [other for other, *_ in PEOPLE if other in text] == [name]
        addressee = f"{guardian} 様（{name} 様の保護者様）" if guardian else f"{name} 様"
        in_window = [line.text for line in page if line.inside(20, 15, 90, 45)]
        assert "".join(in_window) == f"〒{postal}{address}{addressee}"  # all of it, and nothing else
        assert f"総第12-{number}号" in text and "令和6年6月10日" in text
        for sender in (ORG, "理事長　山本 一郎", "（公印省略）", "総務課"):
            (line,) = [line for line in page if line.text == sender]
            assert not line.inside(20, 15, 90, 45) and line.x1 > 110 * 72 / 25.4
        assert "個人情報の漏えいに関するお詫びとお知らせ" in text and "以上" in text
        assert "時下" not in text and "あなた" not in text


def test_the_font_is_embedded_as_a_subset(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    import pypdf

    target = tmp_path / "letters.pdf"
    print_run(run, incident, target)
    reader = pypdf.PdfReader(target)
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    assert fonts
    for name, font in fonts.items():
        prefix, _, _family = name.lstrip("/").partition("+")
        assert len(prefix) == 6 and prefix.isupper(), name  # a subset, named as PDF requires
        assert "/FontFile2" in font["/FontDescriptor"], name  # the glyphs are in the file
        assert "Heisei" not in name


def test_the_window_comes_from_config(run: Callable[..., Result], incident: str, store_dir: Path,
                                      tmp_path: Path) -> None:
    with (store_dir / "config.toml").open("a", encoding="utf-8") as config:
        config.write("[letter.window]\ntop = 40\nleft = 100\nwidth = 95\nheight = 50\n")
    target = tmp_path / "letters.pdf"
    print_run(run, incident, target)
    first = text_lines(target)[0]
    (line,) = [line for line in first if line.text == "山田 太郎 様"]
    assert line.inside(100, 40, 95, 50) and not line.inside(20, 15, 90, 45)


def test_a_long_address_wraps_inside_the_window(run: Callable[..., Result], store_dir: Path,
                                                tmp_path: Path) -> None:
    (store_dir / "config.toml").write_text(LETTER_CONFIG, encoding="utf-8")
    incident = make(open_store(store_dir))
    address = "神奈川県横浜市西区みなとみらい二丁目二番一号横浜ランドマークタワー七十階 株式会社サンプル 総務部 御中"
    roster = tmp_path / "people.csv"
    roster.write_text(f"氏名,住所,郵便番号\n山田 太郎,{address},220-0012\n", encoding="utf-8")
    run(f"roster import {incident} {roster}")
    target = tmp_path / "letters.pdf"
    print_run(run, incident, target)
    page = text_lines(target)[0]
    head = [line for line in page if line.inside(20, 15, 90, 45)]
    assert "".join(line.text for line in head if line.text[0] not in "〒山") == address


def test_the_run_is_recorded_and_purge_finds_it(run: Callable[..., Result], incident: str, store_dir: Path,
                                                tmp_path: Path) -> None:
    from incident.followup.purge import recorded_paths

    target = tmp_path / "letters.pdf"
    print_run(run, incident, target)
    store = open_store(store_dir)
    record = store.load(incident)
    (entry,) = record.sections["notices"]
    assert {k: entry[k] for k in ("kind", "format", "path", "count", "sha256")} == {
        "kind": "individual-letter", "format": "pdf", "path": str(target.resolve()), "count": 3,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest()}
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert recorded_paths(store, record) == [target.resolve()]
    audit = json.loads(run(f"audit show --incident {incident} --last 1 --json").stdout)[0]
    assert audit["action"] == "notice" and audit["changes"]["count"] == 3


def test_a_single_notice_and_a_report_print_too(run: Callable[..., Result], incident: str,
                                                tmp_path: Path) -> None:
    letter, report = tmp_path / "letter.pdf", tmp_path / "report.pdf"
    run(["set", incident, "summary=宛先に<b>&「全員」</b>を入れた"])
    run(f"notice {incident} --kind individual-letter --format pdf -o {letter}")
    text = "\n".join(line.text for line in text_lines(letter)[0])
    assert "関係者各位" in text and "宛先に<b>&「全員」</b>を入れた" in text  # values are text, not markup
    run(f"notice {incident} --kind regulator-final --format pdf -o {report}")
    lines = [line.text for page in text_lines(report) for line in page]
    assert lines[0] == "個人情報の漏えい等に関する報告書（確報）"


def test_the_test_sheet_outlines_the_window(run: Callable[..., Result], store_dir: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.pdf"
    result = run(f"notice --test-sheet -o {sheet}")
    assert "window 90.0 x 45.0 mm at 20.0 mm from the left, 15.0 mm from the top" in result.stderr
    (page,) = text_lines(sheet)
    assert any(line.text.startswith("[letter.window] top=15.0 left=20.0 width=90.0 height=45.0") for line in page)
    (name,) = [line for line in page if line.text == "（氏名） 様"]
    assert name.inside(20, 15, 90, 45)


@pytest.mark.parametrize("args,message", [
    ("--format pdf", "pdf is written to a file: give -o FILE.pdf"),
    ("--format pdf -o x.pdf --roster --out d", "a pdf print run is one file"),
    ("--format pdf -o x.pdf --roster --check", "--check reads text and e-mail notices back"),
    ("--format pdf -o x.pdf --date 2024-13-01", "date"),
])
def test_bad_requests_are_refused_in_one_line(run: Callable[..., Result], incident: str, tmp_path: Path,
                                              args: str, message: str) -> None:
    result = run(f"notice {incident} --kind individual-letter {args}", expect=2)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.pdf").exists()


def test_a_missing_font_names_the_package_and_the_key(run: Callable[..., Result], incident: str,
                                                      store_dir: Path, tmp_path: Path) -> None:
    with (store_dir / "config.toml").open("r+", encoding="utf-8") as config:
        text = config.read()
        config.seek(0)
        config.write('pdf_font = "/nonexistent/font.ttf"\n' + text)
    result = print_run(run, incident, tmp_path / "x.pdf", expect=2)
    line = result.stderr.strip()
    assert "\n" not in line and "fonts-ipaexfont" in line and "pdf_font" in line
    assert not (tmp_path / "x.pdf").exists()


def test_no_font_anywhere_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from incident.errors import InputError
    from incident.notices import pdffont

    monkeypatch.setattr(pdffont, "_FONT_DIRS", ())
    with pytest.raises(InputError, match="apt-get install fonts-ipaexfont.*pdf_font"):
        pdffont.locate("")
    with pytest.raises(InputError, match="font family 'No Such Mincho' is not installed"):
        pdffont.locate("No Such Mincho")


def test_a_family_name_is_found() -> None:
    from incident.notices.pdffont import locate

    found = require_japanese_font()
    family = {"ipaexm.ttf": "IPAexMincho", "ipaexg.ttf": "IPAexGothic"}.get(found.name)
    if family is None:
        pytest.skip(f"the font found ({found.name}) is not one this test names")
    assert locate(family) == found and locate(family.lower().replace("ex", "ex ")) == found


@pytest.mark.parametrize("config,field", [
    ('[letter]\nseal = "yes"\n', "letter.seal"),
    ("[letter.window]\ntop = 80\nheight = 45\n", "letter.window"),
    ("[letter.window]\nwidth = 0\n", "letter.window.width"),
    ('[letter.window]\nleft = "20"\n', "letter.window.left"),
    ('[letter]\nsigner = "x"\n', "letter.signer"),
])
def test_bad_letter_config_is_refused(run: Callable[..., Result], store_dir: Path, config: str, field: str) -> None:
    (store_dir / "config.toml").write_text(LETTER_CONFIG.split("[letter]")[0] + config, encoding="utf-8")
    result = run("list", expect=2)
    assert field in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_letter_config_round_trips(store_dir: Path) -> None:
    from incident.register.config import load_config

    (store_dir / "config.toml").write_text(LETTER_CONFIG + "[letter.window]\ntop = 14\nleft = 22.5\n",
                                           encoding="utf-8")
    config = load_config(store_dir / "config.toml")
    assert (config.letter.seal, config.letter.sender_title, config.letter.window.top,
            config.letter.window.left, config.letter.window.width) == ("omitted", "理事長", 14.0, 22.5, 90.0)
    assert config.to_toml_dict()["letter"]["window"]["left"] == 22.5
