"""Chinese province-level names as OCP stores them: the full official name, suffix included.

Channels differ: JD sends "广东" where Taobao sends "广东省"; Douyin names a municipality's city "市辖区".
Routing rules compare `address.province` with names like "广东省" and "广西壮族自治区" (API.md), so every
adapter passes the province through `normalise_province`. Unknown names pass through unchanged.
"""

from __future__ import annotations

PROVINCES: tuple[str, ...] = (
    "北京市", "天津市", "上海市", "重庆市",
    "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省", "浙江省", "安徽省", "福建省", "江西省",
    "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省", "四川省", "贵州省", "云南省", "陕西省",
    "甘肃省", "青海省", "台湾省",
    "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区",
    "香港特别行政区", "澳门特别行政区",
)
MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})
_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def _short(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


_BY_SHORT = {_short(full): full for full in PROVINCES}


def normalise_province(name: str | None) -> str | None:
    """"广东" / "广东省" → "广东省"; "广西" → "广西壮族自治区"; "北京" → "北京市"; unknown → as given."""
    if name is None:
        return None
    stripped = name.strip()
    if not stripped:
        return None
    if stripped in _BY_SHORT.values():
        return stripped
    return _BY_SHORT.get(_short(stripped), _BY_SHORT.get(stripped, stripped))


def normalise_city(city: str | None, province: str | None) -> str | None:
    """A municipality's city level comes as "市辖区" / "县" (Douyin) or is missing: use the municipality."""
    cleaned = city.strip() if city else None
    if province in MUNICIPALITIES and cleaned in (None, "", "市辖区", "县", "城区", "郊县"):
        return province
    return cleaned or None
