"""python -m tinyledger FILE"""

import sys

from tinyledger.parse import parse_lines
from tinyledger.report import render, totals

if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(render(totals(parse_lines(f.readlines()))))
