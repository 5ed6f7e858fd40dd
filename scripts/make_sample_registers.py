"""Write the sample Excel register the import tests and the browser journey upload: a committee's households
sheet as committees keep it (a title row above the header, spaces in a header, a running number, a column the
import does not know), with one bad row. Run `python scripts/make_sample_registers.py` to write it again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "imports" / "households_bad_row.xlsx"
TITLE = "开鲁四村居委会 独居/空巢老人登记表（2026年）"
HEADERS = [
    "序号",
    " 姓 名 ",
    "门牌/地址",
    "人数",
    "联系电话",
    "是否独居/空巢",
    "护理等级",
    "备注",
    "知情同意",
    "楼组长",
]
ROWS = [
    [1, "王秀英", "民京路918弄7号302室", 1, "13800001111", "是", 3, "糖尿病，每周二复诊", "是", "张阿姨"],
    [2, "李桂兰", "民京路918弄9号101室", 2, "13800002222", "空巢", "二级", "", "是", "张阿姨"],
    [3, "陈福根", "民京路920弄3号502室", 1, "021-65550101", "是", "", "行动不便，需扶", "是", "李师傅"],
    # The bad row (row 6 in Excel): a phone number with a letter in it.
    [4, "赵美娟", "民京路920弄5号201室", 1, "138-0013-800X", "是", 4, "", "是", "李师傅"],
    [5, "孙国强", "民京路922弄1号602室", 2, "13800005555", "否", "", "", "是", "王老师"],
    [6, "周玉珍", "民京路922弄2号301室", 1, "", "是", "一级", "耳背，敲门大声", "", "王老师"],
]
# The row Excel shows the bad one on: the title, the header, then the rows in order.
BAD_ROW = 6


def write(path: Path = SAMPLE) -> Path:
    """Write the sample workbook (fixed properties, so a rerun changes nothing a person would see)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "登记表"
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet.append(HEADERS)
    for row in ROWS:
        sheet.append(row)
    # openpyxl writes naive times (UTC by its convention).
    moment = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC).replace(tzinfo=None)
    workbook.properties.creator = "Linli"
    workbook.properties.created = moment
    workbook.properties.modified = moment
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


if __name__ == "__main__":
    print(write())  # noqa: T201 - a script says what it wrote
