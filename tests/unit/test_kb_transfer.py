"""KB files in and out: what a spreadsheet or a browser would do with a cell or a link."""

import pytest

from kb_index import transfer
from kb_index.entries import Entry
from kb_index.markdown import to_html


def test_a_cell_a_spreadsheet_would_run_is_exported_as_text_and_read_back_as_written():
    entry = Entry(
        id="en-formula",
        lang="en",
        question='=HYPERLINK("https://evil.example","refund")',
        alt_questions=["+1 for refunds", "@mention"],
        answer="-2 days later",
    )
    text = transfer.dumps([entry], "csv")
    assert "\"'=HYPERLINK" in text and ",'-2 days later" in text
    (back,) = transfer.parse(text, "csv").entries
    assert back.question == entry.question and back.answer == "-2 days later"


def test_a_csv_field_past_the_csv_modules_limit_is_a_clear_refusal():
    big = "id,lang,question,answer\nen-big,en,q?," + "a" * 200_000 + "\n"
    with pytest.raises(ValueError, match="not a CSV file we can read"):
        transfer.parse(big, "csv")


def test_links_stay_on_the_web_or_on_this_site():
    html = to_html(
        "[a](//evil.example) [b](/\\\\evil.example) [c](/help/x) [d](https://ok.example)"
    )
    assert '<a href="/help/x">c</a>' in html and '<a href="https://ok.example">d</a>' in html
    assert 'evil.example"' not in html and html.count("<a ") == 2
