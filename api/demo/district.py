"""The demo district: a realistic 杨浦区 with committees, funders, organisations, volunteers and elderly households."""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from typing import NamedTuple

import asyncpg
import msgspec

from api.demo import streams
from api.demo.places import seed_map
from api.demo.tendering import seed_tendering
from api.demo.volunteering import VolunteeringSeedReport, seed_volunteering
from api.security import hash_password
from api.services import credit_code
from api.services.types import SHANGHAI
from sql import areas as areas_sql
from sql import demo as demo_sql
from sql import demo_market as market_sql
from sql import demo_volunteering as volunteering_sql
from sql import overview as overview_sql

# (role label in Chinese and English, username, password): printed by `make run`, used by the browser tests.
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("管理员 admin", "admin", "demo-admin-2026"),
    ("出资方（街道办事处） funder (sub-district office)", "funder.yinhang", "demo-funder-2026"),
    ("出资方（社区基金会） funder (community foundation)", "funder.jiangpu", "demo-foundation-2026"),
    ("居委会 committee", "committee.kailu4", "demo-committee-2026"),
    ("社会组织 organisation", "org.leling", "demo-org-2026"),
    ("志愿者 volunteer", "volunteer.demo", "demo-volunteer-2026"),
    ("评审专家 reviewer", "reviewer.demo", "demo-reviewer-2026"),
]

# The district's other volunteers log in as volunteer.00001, volunteer.00002, … (in the order of their ids), all with
# this one password (hashed once), as the city preset's do: not printed, documented in docs/runbook.md.
DEMO_VOLUNTEERS_PREFIX = "volunteer."
DEMO_VOLUNTEERS_PASSWORD = "demo-volunteers-2026"

# Who stands behind each demo login: display name and account role.
_DEMO_PEOPLE = {
    "admin": ("平台管理员", "admin"),
    "funder.yinhang": ("周卫东（殷行街道办事处）", "funder"),
    "funder.jiangpu": ("陆佩芬（江浦路街道社区基金会）", "funder"),
    "committee.kailu4": ("沈丽华（开鲁四村居委会）", "committee"),
    "org.leling": ("顾晓东（杨浦区乐龄社会工作服务中心）", "organisation"),
    "volunteer.demo": ("王海燕", "volunteer"),
    "reviewer.demo": ("陈志明（评审专家）", "reviewer"),
}

# Bulk counts at scale 1, after the seeds' scale markers (a committee of 7-8 staff serves thousands of residents).
COMMITTEES = 150
ORGANISATIONS = 300
VOLUNTEERS = 20_000
HOUSEHOLDS = 3_000


class AlreadySeededError(RuntimeError):
    """The database already holds the demo district (or other areas); seeding again would clash."""


class SeedReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one demo seed created, and how long it took."""

    seed: int
    scale: float
    areas: int
    subdistricts: int
    committees: int
    catalogue_items: int
    funders: int
    organisations: int
    volunteers: int
    households: int
    accounts: int
    needs: int = 0
    tenders: int = 0
    bids: int = 0
    contracts: int = 0
    volunteering: VolunteeringSeedReport | None = None
    seconds: float


class _Subdistrict(NamedTuple):
    name: str
    short: str
    code: str
    lat: float
    lon: float
    committee_weight: int
    roads: tuple[str, ...]
    estates: tuple[str, ...]


DISTRICT = ("杨浦区", "310110", 31.2996, 121.5260)

# Real sub-district names and roads of 杨浦区; the statistical codes and centres are close to the real ones.
SUBDISTRICTS: tuple[_Subdistrict, ...] = (
    _Subdistrict("定海路街道", "定海", "310110001", 31.2745, 121.5520, 11,
                 ("定海路", "杨树浦路", "隆昌路", "军工路", "黎平路", "河间路", "宁武路", "海州路"),
                 ("定海", "隆昌", "河间", "宁武", "黎平", "海州")),
    _Subdistrict("平凉路街道", "平凉", "310110002", 31.2735, 121.5300, 12,
                 ("平凉路", "许昌路", "眉州路", "松潘路", "宁国路", "兰州路", "齐齐哈尔路", "怀德路"),
                 ("松潘", "兰州", "眉州", "宁国", "平凉", "怀德")),
    _Subdistrict("江浦路街道", "江浦", "310110003", 31.2760, 121.5150, 11,
                 ("江浦路", "辽源西路", "昆明路", "双阳路", "打虎山路", "长阳路", "本溪路", "龙江路"),
                 ("辽源", "打虎山", "双阳", "江浦", "龙江", "昆明")),
    _Subdistrict("四平路街道", "四平", "310110004", 31.2860, 121.5080, 14,
                 ("四平路", "鞍山路", "苏家屯路", "阜新路", "抚顺路", "铁岭路", "大连路", "彰武路"),
                 ("鞍山", "抚顺", "阜新", "苏家屯", "铁岭", "彰武")),
    _Subdistrict("控江路街道", "控江", "310110006", 31.2870, 121.5270, 13,
                 ("控江路", "凤城路", "本溪路", "双辽路", "靖宇南路", "松花江路", "内江路"),
                 ("控江", "凤城", "双辽", "内江", "本溪", "松花")),
    _Subdistrict("长白新村街道", "长白", "310110007", 31.2880, 121.5480, 12,
                 ("长白路", "延吉东路", "军工路", "安图路", "敦化路", "靖宇东路", "图们路"),
                 ("长白", "敦化", "安图", "图们", "幸福", "延吉")),
    _Subdistrict("延吉新村街道", "延吉", "310110008", 31.2930, 121.5370, 12,
                 ("延吉中路", "靖宇东路", "松花江路", "控江路", "营口路", "延吉西路", "包头路"),
                 ("延吉", "延春", "营口", "靖宇", "包头", "松花")),
    _Subdistrict("殷行街道", "殷行", "310110009", 31.3230, 121.5300, 18,
                 ("开鲁路", "国和路", "市光路", "嫩江路", "民星路", "殷行路", "包头路", "闸殷路"),
                 ("开鲁", "国和", "市光", "民星", "工农", "嫩江", "殷行", "民京")),
    _Subdistrict("大桥街道", "大桥", "310110011", 31.2730, 121.5390, 13,
                 ("大连路", "杨树浦路", "长阳路", "许昌路", "临青路", "周家牌路", "飞虹路", "贵阳路"),
                 ("许昌", "长阳", "凉州", "周家牌", "临青", "飞虹")),
    _Subdistrict("五角场街道", "五角场", "310110012", 31.3020, 121.5120, 10,
                 ("国权路", "政立路", "政通路", "政民路", "国定路", "邯郸路", "翔殷路", "黄兴路"),
                 ("国权", "政立", "政通", "政民", "国定", "翔殷")),
    _Subdistrict("新江湾城街道", "新江湾城", "310110013", 31.3320, 121.5030, 6,
                 ("殷高东路", "政学路", "淞沪路", "国帆路", "新江湾城路", "闸殷路", "城秀路"),
                 ("新江湾", "江湾", "尚景", "时代", "城秀", "悦湾")),
    _Subdistrict("五角场镇", "五角场镇", "310110103", 31.3100, 121.5250, 18,
                 ("中原路", "国顺路", "三门路", "民府路", "国和路", "黄兴路", "民京路"),
                 ("中原", "三门", "国顺", "民府", "东方", "佳龙")),
)  # fmt: skip

# The district's points stay in this box (roughly 杨浦区 north of the river).
LAT_RANGE = (31.258, 31.345)
LON_RANGE = (121.485, 121.565)

# (code, 中文名, English name, 中文说明, English description, personal): the purchasable-services catalogue.
CATALOGUE: tuple[tuple[str, str, str, str, str, bool], ...] = (
    ("elderly_care", "为老服务", "Elderly care",
     "为社区老年人提供助餐、助洁、助浴、精神慰藉等日常照料。",
     "Meals, cleaning, bathing help and emotional support for older residents.", False),
    ("respite_care", "喘息服务", "Respite care",
     "短期替代照护，让照顾失能、失智老人的家属得到休息。",
     "Short stand-in care so that family carers of disabled or demented elders can rest.", True),
    ("companionship_311", "311类家庭陪伴", "311 quasi-family companionship",
     "3名社工或志愿者与1户空巢老人结成类家庭，长期提供心理慰藉和生活照料。",
     "Three social workers or volunteers and one empty-nest household form a quasi-family for long-term "
     "emotional support and daily care.", True),
    ("home_care", "居家照护", "Home care",
     "按长护险评估等级上门提供生活照料和护理。",
     "Home visits for personal care at the frequency set by the long-term-care assessment.", True),
    ("food_bank", "食物银行", "Food bank",
     "向企业和个人募集食物，分类储存后经社区送到有需要的家庭。",
     "Collects food from farms, makers, shops and people, sorts and stores it, and delivers it through the "
     "community to those in need.", False),
    ("retirement_adaptation", "退休适应", "Retirement adaptation",
     "帮助刚退休的居民适应新生活，发展兴趣，参与社区事务。",
     "Helps newly retired residents adjust, take up interests and join in community life.", False),
    ("building_group", "楼组便民服务", "Building-group convenience services",
     "楼组服务队提供裁裤边、理发、双职工子女课后看护等20多项便民服务。",
     "Building-group teams offer 20+ small services: hemming, haircuts, after-school care for working parents.",
     False),
    ("youth", "青少年服务", "Youth services",
     "关注青少年健康成长：课后辅导、兴趣活动和心理支持。",
     "Healthy growing up: homework help, activities and emotional support for young people.", False),
    ("families_in_difficulty", "困难家庭帮扶", "Help for families in difficulty",
     "为困难家庭提供物资援助、就业帮扶和个案陪伴。",
     "Material aid, help into work and casework for families in hardship.", False),
    ("low_carbon", "低碳生活", "Low-carbon living",
     "垃圾分类、旧物循环、节能宣传等低碳环保活动。",
     "Waste sorting, reuse and repair, and energy-saving campaigns.", False),
    ("youth_startup", "青年创业", "Youth start-ups",
     "为社区青年创业提供辅导、培训和小额资助对接。",
     "Mentoring, training and small-grant introductions for young entrepreneurs.", False),
    ("safety_patrol", "平安志愿者", "Safety patrols",
     "平安志愿者巡逻守望，排查楼道和小区安全隐患。",
     "Volunteer patrols and neighbourhood watch; spotting hazards in stairwells and estates.", False),
    ("legal_aid", "社区法律服务", "Community legal services",
     "社区法律顾问提供法律咨询、纠纷调解和议事规则指导。",
     "Community legal advisers give advice, mediate disputes and help committees set their rules.", False),
)  # fmt: skip
_CATALOGUE_NAMES = {code: zh for code, zh, *_ in CATALOGUE}

# Weighted towards the names that Shanghai's older and local population actually carries.
SURNAMES = (
    "张王李陈刘周徐朱沈陆顾吴杨黄孙胡钱金蒋曹范姚汪俞许潘施马高赵郭何林唐宋严戴"
    "邵倪丁夏叶邱方袁谢程韩冯董费龚卢毛虞奚吕任杜秦盛陶彭梁郑薛葛褚缪殷"
)
_SURNAME_WEIGHTS = tuple(max(1.0, 12.0 - i * 0.25) for i in range(len(SURNAMES)))
# Given names differ by generation; a name reads as someone's age.
_GIVEN_OLD = (
    "建国", "国强", "志明", "德华", "根宝", "福根", "金宝", "伟民", "国平", "建华", "永康", "学文",
    "荣根", "宝林", "海生", "明德", "文斌", "卫东", "国庆", "振华", "兴发", "惠民", "雪根", "荣华",
    "秀英", "桂英", "玉兰", "凤英", "美华", "丽华", "秀珍", "月娥", "佩芬", "惠芳", "素珍", "彩凤",
    "菊芳", "爱华", "金妹", "琴芳", "雅芬", "桂珍", "美娟", "淑芬", "凤珍", "雪英", "根娣", "秀兰",
    "阿兴", "小妹",
)  # fmt: skip
_GIVEN_MIDDLE = (
    "伟", "敏", "静", "军", "勇", "磊", "洁", "燕", "红", "华", "强", "斌",
    "丽", "芳", "晓东", "海燕", "建军", "红梅", "卫红", "志强", "丽娟", "海峰", "雪峰", "晓华",
    "慧敏", "春燕", "建平", "俊杰", "文娟", "国华", "立新", "小平", "剑", "涛", "颖", "蕾",
    "艳", "萍", "健", "瑾", "佳", "毅", "晓燕", "海涛", "丽萍",
)  # fmt: skip
_GIVEN_YOUNG = (
    "子涵", "梓轩", "欣怡", "浩然", "一诺", "雨涵", "子轩", "梓涵", "宇航", "思远", "佳怡", "诗涵",
    "俊熙", "若曦", "晨阳", "嘉怡", "天佑", "睿", "昊", "琪", "婷", "悦", "翔", "凯",
    "雯", "晨", "杰", "怡然", "博文", "一鸣", "雨桐", "子墨", "沐阳", "思琪", "佳琪", "晓彤",
    "逸飞", "家豪", "明轩", "语嫣",
)  # fmt: skip

SKILLS = (
    "first_aid", "elderly_care_cert", "cooking", "haircut", "tutoring", "driving", "sign_language", "counselling",
)  # fmt: skip
# Skill weights by age group (minor, young, middle, retired): retirees cook and cut hair, minors never drive.
_SKILL_WEIGHTS = {
    "minor": (2.0, 0.2, 1.0, 0.2, 3.0, 0.0, 0.6, 0.3),
    "young": (3.0, 1.0, 1.0, 0.5, 4.0, 2.0, 0.7, 1.5),
    "middle": (3.0, 2.0, 2.0, 1.0, 2.0, 3.0, 0.5, 1.5),
    "retired": (2.0, 3.0, 4.0, 2.0, 1.5, 0.7, 0.3, 1.0),
}
_OTHER_LANGUAGES = ("宁波话", "苏北话", "苏州话", "粤语", "四川话", "英语", "日语")
_HOUSEHOLD_DIALECTS = ("宁波话", "苏北话", "苏州话", "绍兴话", "安徽话")

_PLEASANT_STEMS = ("明园", "锦绣", "东方", "和平", "长海", "阳光", "翠庭", "春晖", "同济", "复旦", "公交", "海上")
_ESTATE_SUFFIXES = ("苑", "花园", "小区", "新村", "家园", "公寓", "雅苑", "佳苑")

_BRANDS = (
    "益心", "乐龄", "馨悦", "同心", "阳光", "睦邻", "手牵手", "乐群", "仁爱", "善远", "伙伴", "青禾",
    "绿洲", "常青", "暖阳", "知音", "安康", "福寿", "彩虹", "益友", "长青藤", "邻里汇", "晨曦", "心桥",
    "百家", "和馨", "悦享", "乐活", "春晖", "共享", "海棠", "紫藤", "益耆", "银龄", "启明", "众仁",
    "明日", "乐业", "新途", "惠民", "博爱", "携手", "守望", "善邻", "红枫", "蒲公英", "星光", "益众",
    "安馨", "颐乐", "康乐", "知行", "乐享", "青苗", "火炬", "四叶草", "微光", "向日葵",
)  # fmt: skip
# (kind of organisation, credit-code prefix, its usual catalogue items, how common it is).
_ORG_KINDS: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    ("社会工作服务中心", "52",
     ("elderly_care", "families_in_difficulty", "youth", "respite_care", "companionship_311"), 20),
    ("社工师事务所", "52", ("elderly_care", "families_in_difficulty", "companionship_311", "youth"), 12),
    ("公益发展中心", "52", ("food_bank", "low_carbon", "families_in_difficulty", "youth_startup"), 8),
    ("养老服务中心", "52", ("elderly_care", "home_care", "respite_care"), 12),
    ("居家养老服务社", "52", ("home_care", "elderly_care", "respite_care", "companionship_311"), 10),
    ("青少年服务中心", "52", ("youth", "youth_startup"), 6),
    ("家庭服务中心", "52", ("families_in_difficulty", "respite_care", "building_group"), 6),
    ("社区服务社", "52", ("building_group", "elderly_care", "safety_patrol"), 8),
    ("环保公益服务中心", "52", ("low_carbon", "food_bank"), 3),
    ("法律服务中心", "52", ("legal_aid", "families_in_difficulty"), 3),
    ("志愿者协会", "51", ("safety_patrol", "building_group", "elderly_care"), 5),
    ("老年协会", "51", ("elderly_care", "retirement_adaptation"), 4),
    ("文化促进会", "51", ("retirement_adaptation", "youth"), 2),
    ("公益基金会", "53", ("families_in_difficulty", "youth", "youth_startup"), 1),
)  # fmt: skip
_MOBILE_PREFIXES = ("39", "38", "37", "35", "36", "50", "58", "86", "87", "89", "33", "77")
_LANDLINE_PREFIXES = ("6543", "6521", "5566", "6588", "6501", "5519", "3377", "6531", "5503", "6590")

_CARE_NOTES = {
    None: ("身体尚可，希望多参加社区活动。", "老伴住院，需要有人陪伴聊天、代购日用品。",
           "平时少出门，希望有人常来走动。"),
    "light": ("行动较慢，需协助买菜和打扫。", "患高血压，需定期提醒服药。", "腿脚不便，下楼需要搀扶。"),
    "medium": ("行走需助行器，每周需上门助浴。", "轻度认知障碍，家属白天上班。",
               "糖尿病，需协助测血糖和配餐。"),
    "heavy": ("长期卧床，家属照护压力大，申请喘息服务。", "失智，需专人看护，夜间易走失。",
              "中风后偏瘫，需协助翻身和进食。"),
}  # fmt: skip
# Long-term-care assessment levels: 1-2 need light help, 3-4 regular visits, 5-6 constant care.
_SEVERITY: dict[int | None, str | None] = {None: None, 1: "light", 2: "light", 3: "medium", 4: "medium", 5: "heavy",
                                           6: "heavy"}  # fmt: skip
_EXTRA_NOTES = (
    "子女在外地，每月回来一次。",
    "楼层高无电梯。",
    "听力不好，上门请先电话联系家属。",
    "喜欢下棋、听沪剧。",
)


class _Committee(NamedTuple):
    id: int
    area_id: int
    name: str
    road: str
    lanes: tuple[int, ...]
    lat: float
    lon: float
    residents: int


class _Plan(msgspec.Struct, kw_only=True):
    """Every row of the demo district, generated before the database is touched."""

    areas: list[tuple[object, ...]]
    funders: list[tuple[object, ...]]
    committees: list[tuple[object, ...]]
    organisations: list[tuple[object, ...]]
    organisation_categories: list[tuple[int, str]]
    organisation_areas: list[tuple[int, int]]
    volunteers: list[tuple[object, ...]]
    households: list[tuple[object, ...]]
    district_id: int
    office_funder_id: int
    foundation_funder_id: int
    demo_committee_id: int
    demo_organisation_id: int


def _count(base: int, scale: float) -> int:
    return max(1, round(base * scale))


def _cn(n: int) -> str:
    """A small number in Chinese numerals, as in 开鲁四村 or 政立路第一居委会; Arabic digits beyond 99."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
    return str(n)


def _between(rng: random.Random, low: int, high: int) -> int:
    """Like rng.randint(low, high), several times faster, for the loops that run per volunteer."""
    return low + int(rng.random() * (high - low + 1))


def _near(rng: random.Random, lat: float, lon: float, spread: float) -> tuple[float, float]:
    """A point about `spread` degrees from (lat, lon), inside the district's box."""
    # Redrawing rather than clamping keeps points from piling up on the box's edge.
    for _ in range(20):
        y, x = rng.gauss(lat, spread), rng.gauss(lon, spread * 1.15)
        if LAT_RANGE[0] <= y <= LAT_RANGE[1] and LON_RANGE[0] <= x <= LON_RANGE[1]:
            return round(y, 6), round(x, 6)
    return round(lat, 6), round(lon, 6)


def _at(day: date, rng: random.Random) -> datetime:
    """A moment during office hours on that day, in Shanghai time."""
    return datetime.combine(day, clock(_between(rng, 8, 17), _between(rng, 0, 59)), tzinfo=SHANGHAI)


def _name(rng: random.Random, age: int) -> str:
    pool = _GIVEN_OLD if age >= 62 else _GIVEN_MIDDLE if age >= 38 else _GIVEN_YOUNG
    return rng.choices(SURNAMES, _SURNAME_WEIGHTS)[0] + rng.choice(pool)


def _weighted_sample(rng: random.Random, items: Sequence[str], weights: Sequence[float], k: int) -> list[str]:
    """k distinct items, each drawn with probability proportional to its weight among those left."""
    pool = [(item, weight) for item, weight in zip(items, weights, strict=True) if weight > 0]
    chosen: list[str] = []
    while pool and len(chosen) < k:
        x = rng.random() * sum(weight for _, weight in pool)
        index = len(pool) - 1
        for i, (_, weight) in enumerate(pool):
            x -= weight
            if x < 0:
                index = i
                break
        chosen.append(pool.pop(index)[0])
    return chosen


def _committee_name(rng: random.Random, sub: _Subdistrict, taken: set[str]) -> tuple[str, str]:
    """A real-looking committee name in this sub-district, not used before, and the road it is on."""
    for _ in range(40):
        road = rng.choice(sub.roads)
        pattern = rng.random()
        if pattern < 0.45:
            estate = rng.choice(sub.estates)
            name = f"{estate}{_cn(rng.randint(1, 9))}村居委会"
            road = next((r for r in sub.roads if r.startswith(estate)), road)
        elif pattern < 0.65:
            name = f"{road}第{_cn(rng.randint(1, 4))}居委会"
        elif pattern < 0.75:
            name = f"{road}居委会"
        else:
            stem = rng.choice(sub.estates + _PLEASANT_STEMS)
            name = f"{stem}{rng.choice(_ESTATE_SUFFIXES)}居委会"
        if name not in taken:
            taken.add(name)
            return name, road
    # Large benchmark scales exhaust the patterns: number the committees along one road.
    road = rng.choice(sub.roads)
    n = 5
    while f"{road}第{_cn(n)}居委会" in taken:
        n += 1
    taken.add(f"{road}第{_cn(n)}居委会")
    return f"{road}第{_cn(n)}居委会", road


def _organisation_name(rng: random.Random, taken: set[str]) -> tuple[str, str, tuple[str, ...], str, int | None]:
    """A new organisation's name, credit-code prefix, usual categories, registration area and home sub-district."""
    weights = [kind[3] for kind in _ORG_KINDS]
    for attempt in range(200):
        kind, prefix, usual, _ = rng.choices(_ORG_KINDS, weights)[0]
        brand = rng.choice(_BRANDS)
        if attempt >= 50:
            # Two brands make names for benchmark scales, where single-brand names run out.
            brand += rng.choice(_BRANDS)
        pattern = rng.random()
        home: int | None = None
        if prefix == "53":
            name, area = f"上海{brand}{kind}", "310000"
        elif pattern < 0.45:
            name, area = f"杨浦区{brand}{kind}", "310110"
        elif pattern < 0.75:
            name, area = f"上海{brand}{kind}", "310000"
        else:
            home = rng.randrange(len(SUBDISTRICTS))
            name, area = f"杨浦区{SUBDISTRICTS[home].short}社区{kind}", "310110"
        if name not in taken:
            taken.add(name)
            return name, prefix, usual, area, home
    n = len(taken)
    name = f"杨浦区{rng.choice(_BRANDS)}社区服务社（{n}）"
    taken.add(name)
    return name, "52", ("building_group",), "310110", None


def _plan(seed: int, today: date, ids: dict[str, list[int]], n_volunteers: int, n_households: int) -> _Plan:
    """Generate every row; each table draws from its own stream, so changing one generator leaves the others alone."""
    stream = functools.partial(streams.stream, seed)
    area_ids = iter(ids["areas"])
    district_id = next(area_ids)
    name, code, lat, lon = DISTRICT
    areas: list[tuple[object, ...]] = [(district_id, None, "district", code, name, lat, lon)]
    sub_ids: list[int] = []
    for sub in SUBDISTRICTS:
        sub_ids.append(next(area_ids))
        areas.append((sub_ids[-1], district_id, "subdistrict", sub.code, sub.name, sub.lat, sub.lon))

    # 开鲁四村 (殷行) comes first, with the seeds' own figures for it: the demo committee login belongs to it.
    rng = stream("committees")
    n_committees = len(ids["committees"])
    yinhang = next(i for i, s in enumerate(SUBDISTRICTS) if s.name == "殷行街道")
    weights = [s.committee_weight for s in SUBDISTRICTS]
    homes = [yinhang, *rng.choices(range(len(SUBDISTRICTS)), weights, k=n_committees - 1)]
    per_sub = [0] * len(SUBDISTRICTS)
    width = max(3, len(str(max(homes.count(i) for i in range(len(SUBDISTRICTS))))))
    taken_names = {"开鲁四村居委会"}
    committees: list[_Committee] = []
    committee_rows: list[tuple[object, ...]] = []
    for index, (committee_id, home) in enumerate(zip(ids["committees"], homes, strict=True)):
        sub = SUBDISTRICTS[home]
        per_sub[home] += 1
        area_id = next(area_ids)
        if index == 0:
            name, road, residents, dwellings = "开鲁四村居委会", "开鲁路", 4215, 1642
        else:
            name, road = _committee_name(rng, sub, taken_names)
            residents = 10 * round(rng.triangular(2000, 10000, 4500) / 10)
            dwellings = round(residents / rng.uniform(2.3, 2.8))
        lat, lon = _near(rng, sub.lat, sub.lon, 0.007)
        lanes = tuple(sorted(rng.sample(range(1, 1500), rng.randint(1, 3))))
        committees.append(_Committee(committee_id, area_id, name, road, lanes, lat, lon, residents))
        areas.append((area_id, sub_ids[home], "committee", f"{sub.code}{per_sub[home]:0{width}d}", name, lat, lon))
        committee_rows.append((committee_id, area_id, name, rng.choice((7, 7, 8, 8, 8)), residents, dwellings))

    # Funders: every sub-district office, plus the two community foundations the seeds name.
    rng = stream("funders")
    funder_ids = iter(ids["funders"])
    funders: list[tuple[object, ...]] = []
    office_funder_id = foundation_funder_id = 0
    for sub, sub_id in zip(SUBDISTRICTS, sub_ids, strict=True):
        office = "五角场镇人民政府" if sub.name.endswith("镇") else f"{sub.name}办事处"
        funder_id = next(funder_ids)
        if sub.name == "殷行街道":
            office_funder_id = funder_id
        joined = _at(today - timedelta(rng.randint(200, 400)), rng)
        funders.append((funder_id, "subdistrict_office", office, sub_id, joined))
    jiangpu = sub_ids[next(i for i, s in enumerate(SUBDISTRICTS) if s.name == "江浦路街道")]
    foundation_funder_id = next(funder_ids)
    for funder_id, name, area_id in ((foundation_funder_id, "江浦路街道社区基金会", jiangpu),
                                     (next(funder_ids), "杨浦区社区公益基金会", district_id)):  # fmt: skip
        joined = _at(today - timedelta(rng.randint(200, 400)), rng)
        funders.append((funder_id, "community_foundation", name, area_id, joined))

    organisations, organisation_categories, organisation_areas = _plan_organisations(
        stream("organisations"), today, ids["organisations"], sub_ids
    )
    volunteer_account = ids["accounts"][[username for _, username, _ in DEMO_LOGINS].index("volunteer.demo")]
    volunteers = _plan_volunteers(stream("volunteers"), today, n_volunteers, committees, volunteer_account)
    households = _plan_households(stream("households"), today, n_households, committees, stream("visit_slots"))
    return _Plan(
        areas=areas,
        funders=funders,
        committees=committee_rows,
        organisations=organisations,
        organisation_categories=organisation_categories,
        organisation_areas=organisation_areas,
        volunteers=volunteers,
        households=households,
        district_id=district_id,
        office_funder_id=office_funder_id,
        foundation_funder_id=foundation_funder_id,
        demo_committee_id=committees[0].id,
        demo_organisation_id=ids["organisations"][0],
    )


def _plan_organisations(
    rng: random.Random, today: date, organisation_ids: list[int], sub_ids: list[int]
) -> tuple[list[tuple[object, ...]], list[tuple[int, str]], list[tuple[int, int]]]:
    """Organisations with credit codes, ratings (valid 5 years), statuses, categories and areas served."""
    n = len(organisation_ids)
    yinhang = next(i for i, s in enumerate(SUBDISTRICTS) if s.name == "殷行街道")
    jiangpu = next(i for i, s in enumerate(SUBDISTRICTS) if s.name == "江浦路街道")
    # A few await verification and one or two are suspended; the demo organisation (index 0) is verified 4A.
    others = list(range(1, n))
    rng.shuffle(others)
    n_suspended = max(1, round(n / 150)) if n > 1 else 0
    n_pending = max(1, round(n * 0.03)) if n > 2 else 0
    suspended = set(others[:n_suspended])
    pending = set(others[n_suspended : n_suspended + n_pending])
    taken = {"杨浦区乐龄社会工作服务中心", "上海益心社工师事务所"}
    codes: set[str] = set()
    rows: list[tuple[object, ...]] = []
    categories: list[tuple[int, str]] = []
    served: list[tuple[int, int]] = []
    for index, organisation_id in enumerate(organisation_ids):
        usual: tuple[str, ...]
        home: int | None
        if index == 0:
            name, prefix, usual, area, home = (
                "杨浦区乐龄社会工作服务中心", "52", ("elderly_care", "respite_care", "companionship_311"), "310110",
                yinhang,
            )  # fmt: skip
        elif index == 1:
            name, prefix, usual, area, home = (
                "上海益心社工师事务所", "52", ("companionship_311", "families_in_difficulty", "elderly_care"), "310000",
                jiangpu,
            )  # fmt: skip
        else:
            name, prefix, usual, area, home = _organisation_name(rng, taken)
        code = credit_code.make_code(rng, prefix=prefix, area=area)
        while code in codes:
            code = credit_code.make_code(rng, prefix=prefix, area=area)
        codes.add(code)
        age_days = 12 * 365 if index < 2 else round(rng.triangular(150, 9000, 3000))
        registered_on = today - timedelta(age_days)
        rating: int | None = rng.choices((None, 1, 2, 3, 4, 5), (18, 2, 8, 36, 28, 8))[0]
        rated_days_ago = rng.randint(30, max(30, min(age_days - 700, round(6.5 * 365))))
        if index < 2:
            rating, rated_days_ago = (4, 400) if index == 0 else (5, 900)
        elif age_days < 730:
            # Assessment needs two years of operation.
            rating = None
        expires_on = today - timedelta(rated_days_ago) + timedelta(5 * 365) if rating is not None else None
        status = "suspended" if index in suspended else "pending" if index in pending else "verified"
        joined_days_ago = rng.randint(2, 20) if status == "pending" else rng.randint(30, 700)
        created_at = _at(today - timedelta(joined_days_ago), rng)
        verified_at = None if status == "pending" else created_at + timedelta(days=rng.randint(1, 10))
        staff = max(2, min(200, round(rng.lognormvariate(2.3, 0.6))))
        capacity = staff * rng.choice((1200, 1400, 1600, 1800))
        if index == 0:
            # The demo's own organisation holds the 311 and home-care contracts (2,200 hours each) and still has
            # the hours to bid on the demo's open tender: twelve staff at least (drawn as the others, then raised,
            # so that every later draw of the seed stays the same).
            staff, capacity = max(staff, 12), max(capacity, 12 * 1600)
        phone = f"021-{rng.choice(_LANDLINE_PREFIXES)}{rng.randint(0, 9999):04d}"
        k = rng.choices((1, 2, 3), (3, 4, 3))[0] if index >= 2 else 3
        items = list(usual[:k]) if index < 2 else rng.sample(usual, min(k, len(usual)))
        while len(items) < k:
            extra = rng.choice(CATALOGUE)[0]
            if extra not in items:
                items.append(extra)
        subs = [home if home is not None else rng.randrange(len(SUBDISTRICTS))]
        if rng.random() < 0.4 or index < 2:
            second = jiangpu if index == 0 else yinhang if index == 1 else rng.randrange(len(SUBDISTRICTS))
            if second not in subs:
                subs.append(second)
        address = f"上海市杨浦区{rng.choice(SUBDISTRICTS[subs[0]].roads)}{rng.randint(1, 1800)}号{rng.randint(1, 6)}楼"
        where = "、".join(SUBDISTRICTS[s].name for s in subs)
        what = "、".join(_CATALOGUE_NAMES[item] for item in items)
        description = f"扎根{where}，主要开展{what}等服务，专职社工{staff}人。"
        rows.append((
            organisation_id, name, code, rating, expires_on, registered_on, status, capacity, phone, address,
            description, created_at, verified_at,
        ))  # fmt: skip
        categories.extend((organisation_id, item) for item in items)
        served.extend((organisation_id, sub_ids[s]) for s in subs)
    return rows, categories, served


def _plan_volunteers(
    rng: random.Random, today: date, n: int, committees: list[_Committee], demo_account_id: int | None
) -> list[tuple[object, ...]]:
    """Volunteers living near their committee: many retirees, a few minors; with a demo account, the first is the
    demo volunteer (of the first committee), the only one whose account is planned here (the demo's other volunteers get
    theirs after the rows are written)."""
    homes = rng.choices(committees, [c.residents for c in committees], k=n)
    if demo_account_id is not None:
        homes[0] = committees[0]
    travel = [Decimal(f"{km / 2:.1f}") for km in range(6, 21)]
    rows: list[tuple[object, ...]] = []
    for index, home in enumerate(homes):
        bucket = rng.random()
        if bucket < 0.02:
            age, group = _between(rng, 12, 17), "minor"
        elif bucket < 0.17:
            age, group = _between(rng, 18, 30), "young"
        elif bucket < 0.40:
            age, group = _between(rng, 31, 54), "middle"
        elif bucket < 0.92:
            age, group = _between(rng, 55, 75), "retired"
        else:
            age, group = _between(rng, 76, 85), "retired"
        name = _name(rng, age)
        lat, lon = _near(rng, home.lat, home.lon, 0.0035)
        low, high = {"minor": (4, 6), "retired": (6, 20)}.get(group, (4, 10))
        cap = _between(rng, low, high)
        k = rng.choices((1, 2, 3, 4), (40, 30, 20, 10))[0]
        chosen = set(_weighted_sample(rng, SKILLS, _SKILL_WEIGHTS[group], k))
        skills = [skill for skill in SKILLS if skill in chosen]
        languages = ["普通话"]
        if rng.random() < (0.85 if group == "retired" else 0.45):
            languages.append("上海话")
        if rng.random() < (0.35 if group in ("minor", "young") else 0.12):
            languages.append("英语" if group in ("minor", "young") else rng.choice(_OTHER_LANGUAGES))
        insured = rng.random()
        insured_until = (
            today + timedelta(_between(rng, 30, 365)) if insured < 0.85
            else today - timedelta(_between(rng, 1, 200)) if insured < 0.90
            else None
        )  # fmt: skip
        joined = today - timedelta(_between(rng, 1, 1200))
        consent = _at(joined, rng) if rng.random() < 0.7 else None
        guardian = age < 14 or (group == "minor" and rng.random() < 0.5)
        phone = f"1{rng.choice(_MOBILE_PREFIXES)}{_between(rng, 0, 99_999_999):08d}"
        account_id: int | None = None
        if index == 0 and demo_account_id is not None:
            # The demo volunteer: a mid-career resident of 开鲁四村 with the skills most shifts ask for.
            account_id, name, age, cap = demo_account_id, "王海燕", 41, 8
            skills, languages, guardian = ["first_aid", "cooking", "elderly_care_cert"], ["普通话", "上海话"], False
            insured_until, consent = today + timedelta(200), _at(today - timedelta(90), rng)
        rows.append((
            account_id, name, today.year - age, phone, home.area_id, lat, lon, rng.choice(travel), cap, skills,
            languages, insured_until, guardian, consent, _at(joined, rng),
        ))  # fmt: skip
    return rows


def _plan_households(
    rng: random.Random, today: date, n: int, committees: list[_Committee], slots_rng: random.Random
) -> list[tuple[object, ...]]:
    """Elderly households with exact addresses and care details: personal data, shown to nobody yet.

    About a third say when they accept visits (the register's weekly slots; the rest take any slot). The slots come
    from a stream of their own, so the other details stay what they were before slots were stored.
    """
    homes = rng.choices(committees, [c.residents for c in committees], k=n)
    rows: list[tuple[object, ...]] = []
    for home in homes:
        name = _name(rng, _between(rng, 65, 95))
        lane, building, floor, flat = (
            rng.choice(home.lanes),
            _between(rng, 1, 40),
            _between(rng, 1, 6),
            _between(rng, 1, 4),
        )
        address = f"{home.road}{lane}弄{building}号{floor}0{flat}室"
        lat, lon = _near(rng, home.lat, home.lon, 0.002)
        members = rng.choices((1, 2, 3), (45, 45, 10))[0]
        empty_nest = members <= 2 and rng.random() < 0.85
        care_level: int | None = rng.choices((None, 1, 2, 3, 4, 5, 6), (50, 8, 12, 10, 8, 7, 5))[0]
        notes = ("独居。" if members == 1 else "") + rng.choice(_CARE_NOTES[_SEVERITY[care_level]])
        if rng.random() < 0.4:
            notes += rng.choice(_EXTRA_NOTES)
        dialects = ["上海话"] if rng.random() < 0.8 else []
        if rng.random() < 0.4 or not dialects:
            dialects.append("普通话")
        if rng.random() < 0.15:
            dialects.append(rng.choice(_HOUSEHOLD_DIALECTS))
        consent = _at(today - timedelta(_between(rng, 1, 900)), rng)
        slots = _visit_slots(slots_rng)
        rows.append(
            (home.id, name, address, lat, lon, members, empty_nest, care_level, dialects, notes, consent, slots)
        )
    return rows


# Weekly habits of elders who say when visitors are welcome: mornings on weekdays, afternoons, or a few half-days.
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
_SLOT_HABITS = (
    [f"{d}-am" for d in _WEEKDAYS],
    [f"{d}-pm" for d in _WEEKDAYS],
    ["sat-am", "sat-pm", "sun-am", "sun-pm", "wed-pm"],
)


def _visit_slots(rng: random.Random) -> list[str]:
    """The weekly slots a demo household accepts visits in; empty (any slot) for about two in three."""
    if rng.random() >= 0.35:
        return []
    if rng.random() < 0.7:
        return list(rng.choice(_SLOT_HABITS))
    days = rng.sample(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), 3)
    order = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
    return [f"{d}-{rng.choice(('am', 'pm'))}" for d in sorted(days, key=order.__getitem__)]


@functools.cache
def _demo_password_hashes() -> tuple[str, ...]:
    """The demo passwords' Argon2id hashes, then the volunteers' shared one's, computed once per process (tests and
    benchmarks seed many times)."""
    return tuple(hash_password(password) for password in (*(p for _, _, p in DEMO_LOGINS), DEMO_VOLUNTEERS_PASSWORD))


async def is_seeded(dsn: str) -> bool:
    """Whether the database already holds the demo district (any area at all)."""
    conn = await asyncpg.connect(dsn)
    try:
        return await demo_sql.is_seeded(conn)
    finally:
        await conn.close()


async def seed_demo(dsn: str, *, seed: int = 1, scale: float = 1.0, today: date | None = None) -> SeedReport:
    """Create the demo district in one transaction; raises AlreadySeededError if areas exist."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            return await seed_into(conn, seed=seed, scale=scale, today=today)
    finally:
        await conn.close()


async def seed_into(
    conn: asyncpg.Connection,
    *,
    seed: int = 1,
    scale: float = 1.0,
    today: date | None = None,
    volunteering: bool = True,
) -> SeedReport:
    """Create the demo district on this connection, in a transaction (a savepoint if the caller has one open).

    `volunteering=False` stops after tenders and contracts, for tests that seed one volunteering part themselves.
    """
    if not 0 < scale <= 1000:
        raise ValueError(f"scale must be in (0, 1000], got {scale}")
    started = time.perf_counter()
    today = today or datetime.now(SHANGHAI).date()
    # Argon2 is slow by design and releases the GIL: hash the demo passwords while the rows are generated.
    hashing = asyncio.ensure_future(asyncio.to_thread(_demo_password_hashes))
    try:
        async with conn.transaction():
            await demo_sql.lock_seed(conn)
            if await demo_sql.is_seeded(conn):
                raise AlreadySeededError("the database already has areas; seed only an empty database")
            n_committees = _count(COMMITTEES, scale)
            sizes = {
                "areas": 1 + len(SUBDISTRICTS) + n_committees,
                "funders": len(SUBDISTRICTS) + 2,
                "committees": n_committees,
                "organisations": _count(ORGANISATIONS, scale),
                "accounts": len(DEMO_LOGINS),
            }
            ids = {table: await demo_sql.reserve_ids(conn, table, n) for table, n in sizes.items()}
            plan = _plan(seed, today, ids, _count(VOLUNTEERS, scale), _count(HOUSEHOLDS, scale))
            *login_hashes, volunteers_hash = await hashing
            await _write(conn, plan, ids["accounts"], login_hashes, seed)
            given = await volunteering_sql.give_volunteers_accounts(conn, DEMO_VOLUNTEERS_PREFIX, volunteers_hash)
            market = await seed_tendering(
                conn,
                seed=seed,
                today=today,
                accounts={username: i for (_, username, _), i in zip(DEMO_LOGINS, ids["accounts"], strict=True)},
                office_funder_id=plan.office_funder_id,
                foundation_funder_id=plan.foundation_funder_id,
                office_area_id=next(int(str(f[3])) for f in plan.funders if f[0] == plan.office_funder_id),
                demo_committee_id=plan.demo_committee_id,
                demo_organisation_id=plan.demo_organisation_id,
            )
            # A funder verified the organisations' capacity and rating (one keeps them declared only).
            await market_sql.verify_demo_orgs(
                conn,
                verifier_account_id=ids["accounts"][[u for _, u, _ in DEMO_LOGINS].index("funder.yinhang")],
                funder_id=plan.office_funder_id,
                demo_organisation_id=plan.demo_organisation_id,
            )
            time_given = await seed_volunteering(conn, seed=seed, today=today) if volunteering else None
            report = SeedReport(
                seed=seed,
                scale=scale,
                areas=len(plan.areas),
                subdistricts=len(SUBDISTRICTS),
                committees=len(plan.committees),
                catalogue_items=len(await areas_sql.list_catalogue(conn)),
                funders=len(plan.funders),
                organisations=len(plan.organisations),
                volunteers=len(plan.volunteers),
                households=len(plan.households),
                accounts=len(DEMO_LOGINS) + given,
                needs=market.needs,
                tenders=market.tenders,
                bids=market.bids,
                contracts=market.contracts,
                volunteering=time_given,
                seconds=0.0,
            )
            counts = {key: value for key, value in msgspec.structs.asdict(report).items() if key != "seconds"}
            detail = msgspec.json.encode(counts).decode()
            await demo_sql.audit_seed(conn, plan.district_id, detail)
            # The home pages' figures count the new district at once, not at the worker's next minute.
            await overview_sql.refresh_platform_figures(conn)
    finally:
        # An error before the hashes were awaited must not leave the hashing thread's outcome unretrieved.
        await asyncio.gather(hashing, return_exceptions=True)
    return msgspec.structs.replace(report, seconds=round(time.perf_counter() - started, 3))


async def _write(conn: asyncpg.Connection, plan: _Plan, account_ids: list[int], hashes: list[str], seed: int) -> None:
    """COPY the planned rows in dependency order, then the demo accounts and their memberships."""
    await demo_sql.add_catalogue_items(
        conn, [(*item, position * 10) for position, item in enumerate(CATALOGUE, start=1)]
    )
    catalogue = {item.code: item.id for item in await areas_sql.list_catalogue(conn)}
    await demo_sql.copy_rows(conn, demo_sql.AREAS, plan.areas)
    await demo_sql.copy_rows(conn, demo_sql.FUNDERS, plan.funders)
    await demo_sql.copy_rows(conn, demo_sql.COMMITTEES, plan.committees)
    await seed_map(conn, plan.areas, plan.committees, seed)
    await demo_sql.copy_rows(conn, demo_sql.ORGANISATIONS, plan.organisations)
    await demo_sql.copy_rows(
        conn,
        demo_sql.ORGANISATION_CATEGORIES,
        [(org, catalogue[item]) for org, item in plan.organisation_categories],
    )
    await demo_sql.copy_rows(conn, demo_sql.ORGANISATION_AREAS, plan.organisation_areas)
    # The demo accounts use the ids reserved for them, so the demo volunteer row can point at its account.
    account = {username: account_id for (_, username, _), account_id in zip(DEMO_LOGINS, account_ids, strict=True)}
    await demo_sql.copy_rows(
        conn,
        demo_sql.ACCOUNTS,
        [
            (account[username], username, *_DEMO_PEOPLE[username], password_hash)
            for (_, username, _), password_hash in zip(DEMO_LOGINS, hashes, strict=True)
        ],
    )
    # Managers, so that each demo login can do everything its tenant may do.
    await demo_sql.add_memberships(
        conn,
        [
            (account["funder.yinhang"], None, None, plan.office_funder_id, "manager"),
            (account["funder.jiangpu"], None, None, plan.foundation_funder_id, "manager"),
            (account["committee.kailu4"], None, plan.demo_committee_id, None, "manager"),
            (account["org.leling"], plan.demo_organisation_id, None, None, "manager"),
        ],
    )
    await demo_sql.copy_rows(conn, demo_sql.VOLUNTEERS, plan.volunteers)
    await demo_sql.copy_rows(conn, demo_sql.HOUSEHOLDS, plan.households)
