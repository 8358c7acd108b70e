from decimal import Decimal

from tinyledger import parse_lines, totals


def test_totals_per_account():
    entries = parse_lines(["2024-01-01 10 food", "# note", "", "2024-01-02 -2.5 food lunch", "2024-01-03 7 rent"])
    assert totals(entries) == {"food": Decimal("7.5"), "rent": Decimal("7")}
