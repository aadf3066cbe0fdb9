"""Load requests from CSV files: the symbol column found, BOM and CRLF, blank and short rows, bad tickers
named by line, unusable files, a million rows streamed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickstock_pipelines.loading.requests import (
    TICKER_PATTERN,
    LoadInputError,
    read_symbols_csv,
)

# --- CSV files --------------------------------------------------------------------------------


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("header", ["symbol", "Symbol", " symbol ", "Symbol ", "SYMBOL"])
def test_csv_symbol_column_variants(tmp_path: Path, header: str) -> None:
    path = _write(tmp_path / "symbols.csv", f"name,{header}\nApple,aapl\nBerkshire,BRK.B\n")
    assert read_symbols_csv(path) == ("AAPL", "BRK.B")


def test_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    path = _write(tmp_path / "symbols.csv", "Symbol,Name\r\nAAPL,Apple\r\nMSFT,Microsoft\r\n", "utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_symbols_csv(str(path)) == ("AAPL", "MSFT")


def test_csv_skips_blank_cells_and_rows_and_dedupes(tmp_path: Path) -> None:
    text = "symbol,x\nAAPL,1\n,2\n\n  ,3\nmsft,4\nAAPL,5\n MSFT ,6\nNVDA\n"
    path = _write(tmp_path / "symbols.csv", text)
    assert read_symbols_csv(path) == ("AAPL", "MSFT", "NVDA")


def test_csv_row_shorter_than_header_is_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "symbols.csv", "name,symbol\nApple,AAPL\nlonely\nMicrosoft,MSFT\n")
    assert read_symbols_csv(path) == ("AAPL", "MSFT")


def test_csv_without_symbol_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "symbols.csv", "a, b\n1,2\n")
    with pytest.raises(LoadInputError) as info:
        read_symbols_csv(path)
    assert str(info.value) == f"{path} has no 'symbol' column (found: a, b)"


def test_csv_missing_column_message_stays_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "symbols.csv", '"tick\ner",' + ",".join(f"c{i}" for i in range(40)) + "\nA\n")
    with pytest.raises(LoadInputError) as info:
        read_symbols_csv(path)
    assert len(str(info.value).splitlines()) == 1
    assert "found: tick?er, c0" in str(info.value) and str(info.value).endswith(", …)")


def test_csv_bad_ticker_names_its_line(tmp_path: Path) -> None:
    rows = ["symbol", "AAPL", "MSFT", "", "NVDA", "AMZN", "AAPL;DROP", "GOOG"]
    path = _write(tmp_path / "symbols.csv", "\n".join(rows) + "\n")
    with pytest.raises(LoadInputError) as info:
        read_symbols_csv(path)
    assert str(info.value) == (
        f"{path} line 7: invalid ticker 'AAPL;DROP': 1-10 characters of A-Z, 0-9 and '.'")


def test_csv_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    # A quoted cell spanning two lines: the error points where an editor shows the bad row.
    path = _write(tmp_path / "symbols.csv", 'symbol,note\nAAPL,"two\nlines"\nBAD TICKER,x\n')
    with pytest.raises(LoadInputError, match=r"symbols\.csv line 4: invalid ticker 'BAD TICKER'"):
        read_symbols_csv(path)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"symbol\n", "lists no symbols"),
    (b"symbol\n\n , \n", "lists no symbols"),
    (b"symbol\nAAPL\n\xff\xfe\xfa\n", "not UTF-8 text"),
])
def test_csv_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "symbols.csv"
    path.write_bytes(content)
    with pytest.raises(LoadInputError, match=message):
        read_symbols_csv(path)


def test_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LoadInputError, match=r"nope\.csv: cannot read symbols file"):
        read_symbols_csv(tmp_path / "nope.csv")
    with pytest.raises(LoadInputError, match="cannot read symbols file"):
        read_symbols_csv(tmp_path)  # a directory


def test_csv_of_a_million_rows_streams(tmp_path: Path) -> None:
    path = tmp_path / "symbols.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        handle.write("id,Symbol,weight\n")
        handle.writelines(f"{i},{'t' if i % 2 else 'T'}{i % 250_000:06d},0.1\n" for i in range(1_000_000))
    tickers = read_symbols_csv(path)
    assert len(tickers) == 250_000
    assert tickers[:3] == ("T000000", "T000001", "T000002")
    assert tickers[-1] == "T249999"
    assert all(TICKER_PATTERN.match(t) for t in tickers[::997])


def test_csv_of_a_million_rows_reports_the_bad_last_line(tmp_path: Path) -> None:
    path = tmp_path / "symbols.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("symbol\n")
        handle.writelines(f"S{i}\n" for i in range(1_000_000))
        handle.write("NOT OK\n")
    with pytest.raises(LoadInputError, match=r"line 1000002: invalid ticker 'NOT OK'"):
        read_symbols_csv(path)
