"""The enumerations of the record and their Japanese labels: a module below the record itself, so that
`incident list` and `--help` can name statuses and labels without loading the record's schema."""

from __future__ import annotations

from collections.abc import Mapping

from incident import i18n

ENTITIES = ("business", "public-body", "council")
ROLES = ("controller", "entrustee")
HANDLED_BY = ("", "委託事業者", "指定管理者")
EVENTS = ("leak", "loss", "damage")
CERTAINTIES = ("confirmed", "suspected")
MALICIOUS = ("none", "suspected", "confirmed")
RISK_LEVELS = ("unlikely", "risk", "high")
STATUSES = ("open", "contained", "reported", "closed")
MEDIA = ("paper", "electronic", "both")
SUBJECT_CATEGORIES = ("customers", "employees", "residents", "other")
PUBLICATION_METHODS = ("website", "press", "notice-board", "other")
HARM_STATUSES = ("yes", "no", "unknown")

#: the Japanese label of each enumeration value: shown in Japanese output, accepted as input beside the id
#: (`--event 漏えい`, `--status 終結`); JSON and the stored record keep the ids
ENUM_LABELS_JA: Mapping[str, Mapping[str, str]] = {
    "entity": {"business": "個人情報取扱事業者", "public-body": "行政機関等", "council": "地方議会"},
    "role": {"controller": "個人情報取扱事業者本人", "entrustee": "委託を受けた者"},
    "event": {"leak": "漏えい", "loss": "滅失", "damage": "毀損"},
    "certainty": {"confirmed": "確定", "suspected": "発生したおそれ"},
    "malicious": {"none": "なし", "suspected": "おそれあり", "confirmed": "あり"},
    "risk_level": {"unlikely": "低い", "risk": "リスクあり", "high": "高い"},
    "status": {"open": "対応中", "contained": "封じ込め済み", "reported": "報告済み", "closed": "終結"},
    "medium": {"paper": "紙", "electronic": "電子", "both": "紙と電子"},
    "subject_category": {"customers": "顧客", "employees": "従業員", "residents": "住民", "other": "その他"},
    "publication_method": {"website": "ホームページ", "press": "記者発表", "notice-board": "掲示", "other": "その他"},
    "secondary_harm_status": {"yes": "あり", "no": "なし", "unknown": "不明"},
}


def enum_label(field: str, value: str) -> str:
    """An enumeration value as the officer reads it: its Japanese label in a Japanese run, else the id."""
    if i18n.is_japanese():
        return ENUM_LABELS_JA.get(field, {}).get(value, value)
    return value
