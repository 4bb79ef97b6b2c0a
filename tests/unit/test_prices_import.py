"""``eco2 prices import``: reading KECO's monthly price CSV (UTF-8 or CP949), validation, installation.

``tests/data/keco_prices_sample.csv`` has the layout of KECO's file (조사년월, 품목, then the eight regions,
no 전국평균 column, KECO's item names such as ``압축-PET(잡색)`` and ``청·녹색``); its prices are made up
for the tests. ``keco_prices_sample_cp949.csv`` is the same table as Excel on Korean Windows saves it:
CP949, CRLF line ends, ``2025.02`` dates.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pytest

from eco2.cli import prices as prices_cli
from eco2.domain.subagents import SubagentQuery
from eco2.prices import PriceBook, PriceFileError, bundled_table, import_file, imported_path, write_table
from eco2.prices.keco_csv import parse_month, read_keco_csv
from eco2.subagents.recyclable_price import RecyclablePrice

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "keco_prices_sample.csv"
SAMPLE_CP949 = DATA / "keco_prices_sample_cp949.csv"
HEADER = "조사년월,품목,수도권,강원,충북,충남,전북,전남,경북,경남"


def csv_file(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "keco.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def import_error(tmp_path: Path, text: str, month: str | None = None) -> str:
    with pytest.raises(PriceFileError) as info:
        import_file(csv_file(tmp_path, text), month=month)
    return str(info.value)


# --- reading the file -----------------------------------------------------------------------------------------


def test_sample_maps_keco_names_to_the_catalog() -> None:
    report = import_file(SAMPLE)
    table = report.table
    assert (report.encoding, report.layout, report.rows) == ("utf-8-sig", "wide", 17)
    assert table.survey.month == "2025-02"
    assert table.survey.imported_from == "keco_prices_sample.csv"
    assert table.prices["pet"]["수도권"] == 410  # 압축-PET(잡색)
    assert table.prices["glass_green"]["경남"] == 36  # 청·녹색
    assert table.prices["glass_white"]["강원"] == 36  # 백색
    assert table.prices["pet_flake_clear"]["충북"] == 910  # 플레이크(PET무색)
    assert table.prices["eps_ingot"]["수도권"] == 1020  # "1,020"
    assert table.prices["aluminum_can"]["경남"] == 1215


def test_blank_and_dash_cells_are_not_surveyed() -> None:
    table = import_file(SAMPLE).table
    assert "강원" not in table.prices["pet_flake_clear"]  # blank
    assert "강원" not in table.prices["pp_pellet"]  # "-"


def test_without_a_nationwide_column_it_is_the_mean_of_the_regions() -> None:
    table = import_file(SAMPLE).table
    assert table.survey.nationwide == "mean"
    assert table.prices["newspaper"]["전국평균"] == pytest.approx(113.8)


def test_unknown_items_are_kept_under_their_keco_name() -> None:
    report = import_file(SAMPLE)
    assert report.new_items == ("혼합폐지",)
    (item_id,) = (i for i, item in report.table.items.items() if item.name == "혼합폐지")
    assert item_id.startswith("keco_")
    assert report.table.prices[item_id]["수도권"] == 70


def test_cp949_file_gives_the_same_table() -> None:
    utf8, cp949 = import_file(SAMPLE), import_file(SAMPLE_CP949)
    assert cp949.encoding == "cp949"
    assert cp949.table.prices == utf8.table.prices
    assert cp949.table.survey.month == "2025-02"


def test_utf8_bom_and_tab_separated_files_are_read(tmp_path: Path) -> None:
    text = "\ufeff" + "\n".join(line.replace(",", "\t") for line in [HEADER, "2025-03,신문지,1,2,3,4,5,6,7,8"])
    assert import_file(csv_file(tmp_path, text)).table.prices["newspaper"]["경남"] == 8


@pytest.mark.parametrize(
    ("text", "month"),
    [("2025-02", "2025-02"), ("2025.2", "2025-02"), ("202502", "2025-02"), ("2025-02-10", "2025-02"),
     ("2025년 2월", "2025-02"), ("20250210", "2025-02"), ("2월", None), ("2025-13", None)],
)  # fmt: skip
def test_survey_months(text: str, month: str | None) -> None:
    assert parse_month(text) == month


def test_title_row_month_and_category_column(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "재활용가능자원 가격조사 결과 (2025년 3월)",
            "분류,품목,단위,수도권,강원,충북,충남,전북,전남,경북,경남,전국평균",
            "폐지류,신문지,원/kg,130,100,110,115,105,100,110,115,112",
            ",골판지,원/kg,90,65,75,80,70,65,75,80,75",
        ]
    )
    report = import_file(csv_file(tmp_path, text))
    assert report.table.survey.month == "2025-03"
    assert report.table.survey.nationwide == "survey"
    assert report.table.prices["cardboard"]["전국평균"] == 75


def test_long_layout_of_the_api_export(tmp_path: Path) -> None:
    text = "\n".join(
        ["exmnYmd,itemNm,stdgNm,mrktPrc"]
        + [f"202504,알루미늄캔,{r},{p}" for r, p in [("수도권", 1400), ("경남", 1250), ("전국", 1300)]]
    )
    report = import_file(csv_file(tmp_path, text))
    assert report.layout == "long"
    assert report.table.prices["aluminum_can"] == {"수도권": 1400, "경남": 1250, "전국평균": 1300}


def test_only_the_latest_month_is_imported(tmp_path: Path) -> None:
    text = "\n".join([HEADER, "2025-01,신문지,1,1,1,1,1,1,1,1", "2025-02,신문지,2,2,2,2,2,2,2,2"])
    report = import_file(csv_file(tmp_path, text))
    assert (report.table.survey.month, report.older_rows) == ("2025-02", 1)
    assert report.table.prices["newspaper"]["강원"] == 2


def test_month_option_for_files_without_dates(tmp_path: Path) -> None:
    text = "\n".join(["품목,수도권,강원,충북,충남,전북,전남,경북,경남", "신문지,1,2,3,4,5,6,7,8"])
    assert "--month" in import_error(tmp_path, text)
    assert import_file(csv_file(tmp_path, text), month="2025-05").table.survey.month == "2025-05"


# --- bad files ------------------------------------------------------------------------------------------------


def test_wrong_columns_are_refused_naming_the_line(tmp_path: Path) -> None:
    message = import_error(tmp_path, "\n".join(["날짜,이름,서울,부산", "2025-02,신문지,1,2"]))
    assert "line 1" in message
    assert "no header row" in message


def test_unknown_region_column_is_refused(tmp_path: Path) -> None:
    message = import_error(tmp_path, "\n".join([HEADER + ",제주", "2025-02,신문지,1,2,3,4,5,6,7,8,9"]))
    assert "line 1" in message
    assert "'제주'" in message


def test_unknown_region_row_is_refused(tmp_path: Path) -> None:
    message = import_error(
        tmp_path, "\n".join(["조사년월,품목,권역,가격", "2025-02,신문지,수도권,130", "2025-02,신문지,독도,1"])
    )
    assert "line 3" in message
    assert "'독도'" in message


def test_non_numeric_price_names_line_and_column(tmp_path: Path) -> None:
    message = import_error(
        tmp_path, "\n".join([HEADER, "2025-02,신문지,1,2,3,4,5,6,7,8", "2025-02,골판지,9,1o,3,4,5,6,7,8"])
    )
    assert "line 3" in message
    assert "강원" in message
    assert "'1o'" in message


def test_negative_price_is_refused(tmp_path: Path) -> None:
    assert "line 2" in import_error(tmp_path, "\n".join([HEADER, "2025-02,신문지,-5,2,3,4,5,6,7,8"]))


def test_duplicate_item_names_both_lines(tmp_path: Path) -> None:
    message = import_error(
        tmp_path, "\n".join([HEADER, "2025-02,신문지,1,2,3,4,5,6,7,8", "2025-02,신문,1,2,3,4,5,6,7,8"])
    )
    assert "line 3" in message
    assert "line 2" in message


def test_bad_month_and_unit_name_the_line(tmp_path: Path) -> None:
    assert "line 2" in import_error(tmp_path, "\n".join([HEADER, "지난달,신문지,1,2,3,4,5,6,7,8"]))
    text = "\n".join(["조사년월,품목,단위,수도권,강원", "2025-02,신문지,원/톤,130000,100000"])
    assert "line 2" in import_error(tmp_path, text)


def test_undecodable_and_empty_files_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "keco.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\xfd\x80\x81")
    with pytest.raises(PriceFileError, match="neither UTF-8 nor CP949"):
        import_file(binary)
    assert "no rows" in import_error(tmp_path, "\n\n")
    with pytest.raises(PriceFileError, match="cannot read"):
        import_file(tmp_path / "missing.csv")


def test_reader_reports_the_first_row_when_no_header_is_found() -> None:
    with pytest.raises(PriceFileError, match="line 1"):
        read_keco_csv("가,나,다\n1,2,3\n".encode(), "x.csv")


# --- installing and using an import -----------------------------------------------------------------------------


def test_imported_table_answers_when_as_new_as_the_bundled_one(tmp_path: Path) -> None:
    book = PriceBook(tmp_path)
    assert book.current().survey.month == bundled_table().survey.month
    path = write_table(import_file(SAMPLE).table, tmp_path)
    assert path == imported_path(tmp_path) == tmp_path / "prices" / "keco_prices.yaml"
    table = book.current()
    assert table.survey.month == "2025-02"
    assert table.groups == bundled_table().groups  # the catalog's words still apply
    result = RecyclablePrice(book).run(SubagentQuery("j", "부산 캔 시세", ("recyclable_price",)))
    assert "2025년 2월 조사" in result.summary
    assert "- 알루미늄캔: 경남 1,215원 (8개 권역 평균 1,138.8원)" in result.summary
    assert result.data["table"] == "imported"


def test_older_import_leaves_the_bundled_table_in_use(tmp_path: Path) -> None:
    text = "\n".join([HEADER, "2024-11,신문지,1,2,3,4,5,6,7,8"])
    write_table(import_file(csv_file(tmp_path, text)).table, tmp_path)
    assert PriceBook(tmp_path).current().survey.month == bundled_table().survey.month


def test_book_rereads_a_changed_import_and_survives_a_broken_one(tmp_path: Path) -> None:
    book = PriceBook(tmp_path)
    write_table(import_file(SAMPLE).table, tmp_path)
    assert book.current().survey.month == "2025-02"
    newer = "\n".join([HEADER, "2025-03,신문지,1,2,3,4,5,6,7,8"])
    write_table(import_file(csv_file(tmp_path, newer)).table, tmp_path)
    assert book.current().survey.month == "2025-03"
    path = imported_path(tmp_path)
    path.write_text("survey: [not, a, table]\n", encoding="utf-8")
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))
    assert book.current().survey.month == bundled_table().survey.month


# --- the command ----------------------------------------------------------------------------------------------


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="eco2")
    prices_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_cli_imports_into_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECO2_STATE_DIR", str(tmp_path))
    assert run_cli(["prices", "import", str(SAMPLE_CP949)]) == 0
    out = capsys.readouterr().out
    assert "cp949" in out
    assert "survey month: 2025-02" in out
    assert "혼합폐지" in out
    assert imported_path(tmp_path).exists()
    assert run_cli(["prices", "show", "서울", "신문지"]) == 0
    shown = capsys.readouterr().out
    assert "active table: 2025-02 (imported" in shown
    assert "- 신문지: 수도권 135원" in shown


def test_cli_dry_run_installs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO2_STATE_DIR", str(tmp_path))
    assert run_cli(["prices", "import", "--dry-run", str(SAMPLE)]) == 0
    assert not imported_path(tmp_path).exists()


def test_cli_reports_a_bad_file_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECO2_STATE_DIR", str(tmp_path))
    bad = csv_file(tmp_path, "\n".join([HEADER, "2025-02,신문지,1,2,3,4,5,6,7,abc"]))
    assert run_cli(["prices", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "keco.csv: line 2: 경남 price 'abc' is not a number" in err
    assert not imported_path(tmp_path).exists()


def test_cli_refuses_a_malformed_month_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO2_STATE_DIR", str(tmp_path))
    with pytest.raises(SystemExit):
        run_cli(["prices", "import", "--month", "soon", str(SAMPLE)])


def test_cli_reports_an_unwritable_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_dir = tmp_path / "state"
    not_a_dir.write_text("a file where the state directory should be", encoding="utf-8")
    monkeypatch.setenv("ECO2_STATE_DIR", str(not_a_dir))
    assert run_cli(["prices", "import", str(SAMPLE)]) == 1
    assert "cannot write" in capsys.readouterr().err
